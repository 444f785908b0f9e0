"""The live-tail page in headless Chromium: pause and resume, the new-entries banner,
pausing on scroll, a row's details whose log text stays text, and the UTC toggle."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.model import Entry
from gateway.store import Store
from tests.live_viewer import FixedClock, running_viewer, watched_page
from viewer.server import ViewerServer

pytestmark = pytest.mark.browser

NS = 1_000_000_000
TTL_NS = 3600 * NS
NOW_NS = 1_700_000_000 * NS  # first_seen is a second earlier: 2023-11-14T22:13:19Z
EXPECT_MS = 10_000  # Playwright's auto-wait ceiling for each assertion
XSS = "<img src=x onerror=alert(1)>"
TIMEZONE = "Asia/Kolkata"  # UTC+05:30, so local and UTC times always differ


@pytest.fixture
def page() -> Iterator[Any]:
    with watched_page(timezone_id=TIMEZONE) as opened:
        yield opened


@pytest.fixture
def viewer(tmp_path: Path) -> Iterator[tuple[ViewerServer, Store, FixedClock]]:
    clock = FixedClock(NOW_NS)
    with running_viewer(tmp_path, clock) as (server, store):
        yield server, store, clock


def add(store: Store, clock: FixedClock, *bodies: str, **fields: Any) -> None:
    values: dict[str, Any] = {
        "severity_number": 9,
        "severity": "INFO",
        "service": "checkout",
        "count": 1,
        "first_seen": clock.now - NS,
        "last_seen": clock.now,
    }
    values.update(fields)
    store.add_recent([(Entry(body=body, **values), clock.now + TTL_NS) for body in bodies])


def open_page(page: Any, server: ViewerServer) -> None:
    from playwright.sync_api import expect

    page.goto(server.url + "/logs")
    expect(page.locator("#status")).to_have_text("LIVE", timeout=EXPECT_MS)


def test_pause_holds_new_rows_in_the_banner_and_resume_applies_them(
    page: Any, viewer: tuple[ViewerServer, Store, FixedClock]
) -> None:
    from playwright.sync_api import expect

    server, store, clock = viewer
    add(store, clock, "first")
    open_page(page, server)
    rows = page.locator("#entries .entry")
    expect(rows).to_have_count(1, timeout=EXPECT_MS)
    expect(page.locator("#stats")).to_contain_text("1 in list")
    expect(page.locator("#stats")).to_contain_text("Sampling: DEBUG: keep 1 in 10")
    banner = page.locator("#banner")
    expect(banner).to_be_hidden()

    page.locator("#pause").click()
    expect(page.locator("#status")).to_have_text("PAUSED (by you)")
    expect(page.locator("#pause")).to_have_text("Resume")
    add(store, clock, "held one", "held two")
    expect(banner).to_have_text("2 new, jump to latest", timeout=EXPECT_MS)
    expect(rows).to_have_count(1)
    expect(page.locator("#rate")).not_to_have_text("0.0", timeout=EXPECT_MS)

    page.locator("#pause").click()
    expect(rows).to_have_count(3)
    expect(rows.last.locator(".message")).to_have_text("held two")
    expect(banner).to_be_hidden()
    expect(page.locator("#status")).to_have_text("LIVE")
    expect(page.locator("#stats")).to_contain_text("3 in list")

    # The keyboard does the same, when focus is not in an input.
    page.locator("#log").focus()
    page.keyboard.press("p")
    expect(page.locator("#status")).to_have_text("PAUSED (by you)")
    add(store, clock, "held by key")
    expect(banner).to_have_text("1 new, jump to latest", timeout=EXPECT_MS)
    page.keyboard.press("Space")
    expect(page.locator("#status")).to_have_text("LIVE")
    expect(rows).to_have_count(4)


def test_scrolling_up_pauses_and_the_banner_jumps_to_latest(
    page: Any, viewer: tuple[ViewerServer, Store, FixedClock]
) -> None:
    from playwright.sync_api import expect

    server, store, clock = viewer
    add(store, clock, *(f"line {i}" for i in range(120)))
    open_page(page, server)
    rows = page.locator("#entries .entry")
    expect(page.locator("#rows")).to_have_text("120", timeout=EXPECT_MS)
    at_bottom = "() => { const l = document.getElementById('log');"
    at_bottom += " return l.scrollHeight - l.scrollTop - l.clientHeight < 40; }"
    page.wait_for_function(at_bottom, timeout=EXPECT_MS)

    page.locator("#log").hover()
    page.mouse.wheel(0, -1500)
    expect(page.locator("#status")).to_have_text("PAUSED (scrolled up)", timeout=EXPECT_MS)
    banner = page.locator("#banner")
    expect(banner).to_be_visible()
    expect(banner).to_have_text("0 new, jump to latest")

    add(store, clock, "arrived while scrolled up")
    expect(banner).to_have_text("1 new, jump to latest", timeout=EXPECT_MS)
    expect(page.locator("#rows")).to_have_text("120")

    banner.click()
    expect(page.locator("#rows")).to_have_text("121")
    expect(rows.last.locator(".message")).to_have_text("arrived while scrolled up")
    expect(page.locator("#status")).to_have_text("LIVE")
    expect(banner).to_be_hidden()
    page.wait_for_function(at_bottom, timeout=EXPECT_MS)


def test_a_rows_details_show_attributes_as_text(
    page: Any, viewer: tuple[ViewerServer, Store, FixedClock]
) -> None:
    from playwright.sync_api import expect

    server, store, clock = viewer
    add(
        store,
        clock,
        "checkout failed",
        severity="ERROR",
        severity_number=17,
        attributes={"user": {"note": XSS}},
        trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
        span_id="00f067aa0ba902b7",
        scope="checkout.http",
        sample_rate=10.0,
    )
    open_page(page, server)
    row = page.locator("#entries .entry").filter(has_text="checkout failed")
    expect(row).to_have_count(1, timeout=EXPECT_MS)
    expect(row.locator(".severity")).to_have_text("ERROR")

    row.locator(".message").click()
    details = page.locator("#details")
    expect(details).to_be_visible()
    expect(details.locator(".attributes")).to_contain_text(XSS)
    expect(details.locator("tr[data-field='user.note'] .field-value")).to_have_text(XSS)
    expect(details.locator(".trace-id")).to_have_text("4bf92f3577b34da6a3ce929d0e0e4736")
    expect(details.locator(".span-id")).to_have_text("00f067aa0ba902b7")
    expect(details.locator(".scope")).to_have_text("checkout.http")
    expect(details.locator(".service-value")).to_have_text("checkout")
    expect(details.locator(".first-seen")).to_have_text("2023-11-14T22:13:19.000Z")
    expect(details.locator(".last-seen")).to_have_text("2023-11-14T22:13:20.000Z")
    expect(details.locator(".sample-rate")).to_have_text("1:10")
    expect(page.locator("img")).to_have_count(0)

    # Copying must never throw, whether or not the clipboard is available.
    details.get_by_role("button", name="Copy as JSON").click()
    expect(details.locator(".copy")).not_to_have_text("Copy as JSON", timeout=EXPECT_MS)
    expect(details).to_be_visible()  # clicks inside the details do not close them

    row.locator(".message").click()  # the selected row again: closed
    expect(details).to_be_hidden()


def test_utc_toggle_switches_row_times(
    page: Any, viewer: tuple[ViewerServer, Store, FixedClock]
) -> None:
    from playwright.sync_api import expect

    server, store, clock = viewer
    add(store, clock, "timed")
    open_page(page, server)
    time = page.locator("#entries .entry .time")
    # Milliseconds, and the date: 2023 is not today.
    expect(time).to_have_text("2023-11-15 03:43:19.000", timeout=EXPECT_MS)  # Asia/Kolkata

    page.locator("#utc").click()
    expect(time).to_have_text("2023-11-14 22:13:19.000Z")
    expect(page.locator("#utc")).to_have_attribute("aria-pressed", "true")

    page.locator("#utc").click()
    expect(time).to_have_text("2023-11-15 03:43:19.000")


def test_a_shortened_row_loads_the_whole_entry_when_expanded(tmp_path: Path, page: Any) -> None:
    from playwright.sync_api import expect

    clock = FixedClock(NOW_NS)
    long_body = "start " + XSS + " " + "y" * 600 + " the end"
    with running_viewer(tmp_path, clock, max_entry_chars=100) as (server, store):
        add(store, clock, long_body, attributes={"note": XSS + "z" * 200})
        open_page(page, server)
        row = page.locator("#entries .entry").first
        expect(row.locator(".more")).to_contain_text(f"{len(long_body) - 400} more characters")
        row.click()
        details = page.locator("#details")
        expect(details.locator(".full-message")).to_have_text(long_body, timeout=EXPECT_MS)
        expect(details.locator(".attributes")).to_contain_text(XSS + "z" * 200)
        expect(details.locator(".loading")).to_have_count(0)
        assert page.locator("img").count() == 0  # attacker text stayed text
