"""The live page at its edges, in headless Chromium on a desktop and a phone, light and dark:
filters that match nothing say so with the window's size (not "waiting"); URL values the page
cannot use are named in a notice; an empty window shows a first-run panel whose two lines,
run in a shell against a real gateway, send the log that then appears. (A restart: LIVE
within 2 s of the viewer being ready, with "Retry now": test_page_reconnect.py.)"""

from __future__ import annotations

import re
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.store import Store
from tests.harness import GatewayProcess, wait_until
from tests.live_viewer import FixedClock, save_screenshot, serving
from tests.viewer.page_kit import (
    DESKTOP,
    EXPECT_MS,
    PHONE,
    SCREENS,
    add,
    assert_accessible,
    on_every_screen,
    open_page,
    screen,
)

pytestmark = pytest.mark.browser

FIRST_LOG = "my first log line"


@pytest.mark.parametrize(("viewport", "scheme"), SCREENS)
def test_no_match_says_so_and_bad_url_values_are_named(
    viewport: dict[str, int], scheme: str, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    add(live_store, wall_clock, *(f"request {i} served" for i in range(40)), band="ERROR")
    with serving(live_store, wall_clock) as server, screen(viewport, scheme) as page:
        open_page(page, server, "/logs?severity=warning,ERROR&colour=red&view=table&q=nowhere")
        empty = page.locator("#empty")
        expect(empty).to_have_text("No entries match (40 in the window).", timeout=EXPECT_MS)
        notice = page.locator("#notices .notice-url")
        expect(notice).to_contain_text("severity=“warning” is not a level (did you mean WARN?)")
        expect(notice).to_contain_text("“colour” is not a filter of this page.")
        expect(notice).to_contain_text("view=“table” is not a view")
        # The rest of the URL still applies, and the URL keeps only that.
        assert parse_qs(urlsplit(page.url).query) == {"severity": ["ERROR"], "q": ["nowhere"]}
        expect(page.locator("[data-band=ERROR]")).to_have_attribute("aria-pressed", "true")
        assert_accessible(page, f"no match and a notice ({scheme})")
        save_screenshot(page, f"page-no-match-{viewport['width']}-{scheme}")
        notice.locator(".dismiss").click()
        expect(notice).to_have_count(0)

        if viewport == PHONE:
            page.locator("#menu").click()
        page.locator("#search").fill('"request 7 served"')
        expect(page.locator("#entries .entry")).to_have_count(1, timeout=EXPECT_MS)
        expect(empty).to_be_hidden()


def test_waiting_is_said_only_while_nothing_is_filtered_and_nothing_has_come(
    live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    add(live_store, wall_clock, "in the window, not in a backfill of 0")
    with serving(live_store, wall_clock, backfill=0) as server, screen(DESKTOP, "light") as page:
        open_page(page, server)
        expect(page.locator("#window")).to_have_text("1", timeout=EXPECT_MS)
        expect(page.locator("#empty")).to_have_text("Waiting for log entries…")
        expect(page.locator("#first-run")).to_be_hidden()  # the window is not empty
        add(live_store, wall_clock, "arrives")
        expect(page.locator("#entries .entry")).to_have_count(1, timeout=EXPECT_MS)
        expect(page.locator("#empty")).to_be_hidden()


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[GatewayProcess]:
    """A real `logsieve run` on an empty database, its ports chosen by the system."""
    config = tmp_path / "gateway.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            receivers:
              otlp:
                grpc: {{endpoint: "127.0.0.1:0"}}
                http: {{endpoint: "127.0.0.1:0"}}
            storage: {{url: "sqlite:///{tmp_path / "gateway.db"}"}}
            batch: {{interval: 200ms}}
            viewer: {{endpoint: "127.0.0.1:0"}}
            telemetry: {{metrics: {{endpoint: "127.0.0.1:0"}}}}
            """
        )
    )
    process = GatewayProcess(config)
    try:
        wait_until(lambda: process.viewer_url is not None, 60, "the viewer to serve")
        yield process
    finally:
        process.terminate()


def test_the_first_run_panel_gives_two_lines_that_send_a_log(gateway: GatewayProcess) -> None:
    from playwright.sync_api import expect

    assert gateway.viewer_url and gateway.http_url
    with screen(DESKTOP, "light") as page:
        page.goto(gateway.viewer_url + "/logs")
        expect(page.locator("#status")).to_have_text("LIVE", timeout=EXPECT_MS)
        panel = page.locator("#first-run")
        code = panel.locator("code")
        lines = code.text_content() or ""
        assert len(lines.splitlines()) == 2

        def shown(viewport: dict[str, int], scheme: str) -> None:
            expect(code).to_be_in_viewport()
            expect(page.locator("#empty")).to_be_hidden()
            save_screenshot(page, f"page-first-run-{viewport['width']}-{scheme}")

        # One gateway and one page for the four screens: the panel on each, and axe-core on it.
        on_every_screen(page, "the first-run panel", shown)

        # As printed, but for the port: the gateway's receiver listens on one of its own.
        port = gateway.http_url.rsplit(":", 1)[1]
        command = re.sub(r"127\.0\.0\.1:0\b", f"127.0.0.1:{port}", lines)
        sent = subprocess.run(
            ["bash", "-e", "-c", command], capture_output=True, text=True, timeout=60
        )
        assert sent.returncode == 0, sent.stderr
        row = page.locator("#entries .entry")
        expect(row.locator(".message")).to_have_text(FIRST_LOG, timeout=EXPECT_MS)
        expect(row.locator(".service")).to_have_text("hello")
        expect(panel).to_be_hidden()
