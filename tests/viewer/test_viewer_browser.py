"""The viewer page in a real headless Chromium: live rows, the count badge, escaped log text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.model import Entry
from gateway.store import Store
from tests.live_viewer import FixedClock, chromium, running_viewer
from viewer.server import ViewerServer

pytestmark = pytest.mark.browser

NS = 1_000_000_000
TTL_NS = 3600 * NS
TIMES = "\N{MULTIPLICATION SIGN}"  # the count badge reads "<TIMES>2,000"
EXPECT_MS = 10_000  # Playwright's auto-wait ceiling for each assertion
XSS_BODY = "<img src=x onerror=alert(1)>"


@pytest.fixture
def page() -> Iterator[Any]:
    with chromium() as opened:
        yield opened


@pytest.fixture
def viewer(tmp_path: Path) -> Iterator[tuple[ViewerServer, Store, FixedClock]]:
    clock = FixedClock(1_700_000_000 * NS)
    with running_viewer(tmp_path, clock) as (server, store):
        yield server, store, clock


def add(store: Store, clock: FixedClock, body: str, count: int, severity: str) -> None:
    entry = Entry(
        body=body,
        severity_number={"ERROR": 17, "INFO": 9}[severity],
        severity=severity,
        service="checkout",
        count=count,
        first_seen=clock.now - NS,
        last_seen=clock.now,
    )
    store.add_recent([(entry, clock.now + TTL_NS)])


def test_live_entries_render_without_reload_and_log_text_stays_text(
    page: Any, viewer: tuple[ViewerServer, Store, FixedClock]
) -> None:
    from playwright.sync_api import expect

    server, store, clock = viewer
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(server.url + "/logs")
    expect(page.locator("#status")).to_have_text("LIVE", timeout=EXPECT_MS)
    disclaimer = page.locator("#disclaimer")
    expect(disclaimer).to_be_visible()
    expect(disclaimer).to_contain_text("entries expire after 60 minutes")
    expect(disclaimer).to_contain_text("Logflare keeps the full history.")

    add(store, clock, "Error: Failed to connect to db:5432", 100, "ERROR")
    row = page.locator("#entries .entry").filter(has_text="Failed to connect")
    expect(row).to_have_count(1, timeout=EXPECT_MS)
    expect(row.locator(".count")).to_have_text(f"{TIMES}100")
    expect(row.locator(".message")).to_have_text("Error: Failed to connect to db:5432")
    expect(row.locator(".severity")).to_have_text("ERROR")
    expect(row.locator(".severity")).to_have_class("severity sev-error")

    add(store, clock, XSS_BODY, 1, "INFO")
    rows = page.locator("#entries .entry")
    expect(rows).to_have_count(2, timeout=EXPECT_MS)
    hostile = rows.nth(1)
    expect(hostile.locator(".message")).to_have_text(XSS_BODY)
    assert hostile.locator(".message").text_content() == XSS_BODY
    expect(hostile.locator(".count")).to_have_count(0)  # count 1: no badge
    expect(page.locator("#entries img")).to_have_count(0)
    assert dialogs == []
    assert errors == []


def test_records_sent_through_the_whole_gateway_appear_on_the_page(
    page: Any, tmp_path: Path
) -> None:
    """OTel SDK -> receiver -> queue -> run_batches -> recent table -> websocket -> page."""
    from playwright.sync_api import expect

    from gateway.config.settings import parse_config
    from gateway.runtime.app import Gateway, Overrides
    from testkit.clock import FakeClock as GatewayClock
    from tests.end_to_end.test_end_to_end import send_through_sdk

    config = parse_config(
        {
            "receivers": {
                "otlp": {"grpc": {"endpoint": "127.0.0.1:0"}, "http": {"endpoint": "127.0.0.1:0"}}
            },
            "telemetry": {"metrics": {"endpoint": "127.0.0.1:0"}},
            "storage": {"url": f"sqlite:///{tmp_path / 'gateway.db'}"},
            "viewer": {"endpoint": "127.0.0.1:0"},
        },
        env={},
    )
    clock = GatewayClock()
    gateway = Gateway(config, Overrides(clock=clock, viewer_poll_interval=0.1, run_jobs=False))
    gateway.start()
    try:
        page.goto(gateway.viewer.url + "/logs")
        expect(page.locator("#status")).to_have_text("LIVE", timeout=EXPECT_MS)

        def emit(logger: Any) -> None:
            for _ in range(100):
                logger.error("Error: Failed to connect to db:5432")
            logger.error(XSS_BODY)

        send_through_sdk(gateway.receiver.address, emit)
        gateway.batch.run_batches(clock.now_ns())

        row = page.locator("#entries .entry").filter(has_text="Failed to connect")
        expect(row.locator(".count")).to_have_text(f"{TIMES}100", timeout=EXPECT_MS)
        expect(row.locator(".message")).to_have_text("Error: Failed to connect to db:5432")
        expect(page.locator("#entries .message").last).to_have_text(XSS_BODY)
        expect(page.locator("#entries img")).to_have_count(0)
        expect(page.locator("#disclaimer")).to_be_visible()
    finally:
        gateway.shutdown()
