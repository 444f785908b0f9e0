"""The live page's Patterns view in headless Chromium: the window's top patterns by records,
each with its count badge, template (variables marked), bands, services and a sparkline of
its records per minute; opened from the header and kept in the URL; read again while open;
choosing one filters the stream to it and returns there, the URL holding both; hostile
templates and services stay text."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.model import Entry, PatternRef
from gateway.store import Store
from tests.live_viewer import FixedClock, save_screenshot, serving
from tests.viewer.page_kit import assert_accessible
from viewer.server import ViewerServer
from viewer.top_patterns import FRESH_NS, MINUTES

pytestmark = pytest.mark.browser

NS = 1_000_000_000
MINUTE = 60 * NS
TIMES = "\N{MULTIPLICATION SIGN}"
EXPECT_MS = 10_000  # Playwright's auto-wait ceiling for each assertion
REFRESH_MS = 5_000  # js/patterns-view.js reads the list again this often
NUMBERS = {"INFO": 9, "WARN": 13, "ERROR": 17}
PWN = "window.pwned=1"
XSS = f"<img src=x onerror={PWN}>"

CONNECT = PatternRef(0x1A2B3C4D5E6F7081, "Failed to connect to <IP>:<NUM> after <NUM> ms")
BLOCK = PatternRef(0x0123456789ABCDEF, "PacketResponder <NUM> for block <*> terminating")
LOGIN = PatternRef(0x00000000DEADBEEF, "Accepted password for <*> from <IP>")


def add(
    store: Store,
    clock: FixedClock,
    pattern: PatternRef | None,
    count: int,
    *,
    band: str = "INFO",
    service: str = "checkout",
    minutes_ago: int = 0,
) -> None:
    seen = clock.now - minutes_ago * MINUTE
    body = pattern.template if pattern else "disk full"
    entry = Entry(body, NUMBERS[band], band, service, count, seen, seen, pattern=pattern)
    store.add_recent([(entry, clock.now + 3600 * NS)])


def add_window(store: Store, clock: FixedClock) -> None:
    add(store, clock, CONNECT, 1500)
    add(store, clock, CONNECT, 500, band="ERROR", service="search", minutes_ago=5)
    for minutes_ago, count in ((0, 30), (15, 8), (30, 25), (45, 12)):
        add(store, clock, BLOCK, count, band="WARN", service="hdfs", minutes_ago=minutes_ago)
    add(store, clock, None, 9000)  # grouped by body: in the stream, not among the patterns


def open_page(page: Any, server: ViewerServer, path: str) -> None:
    from playwright.sync_api import expect

    page.goto(server.url + path)
    expect(page.locator("#status")).to_have_text("LIVE", timeout=EXPECT_MS)


def query(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def items(page: Any) -> Any:
    return page.locator("#pattern-list .pattern-item")


def item(page: Any, pattern: PatternRef) -> Any:
    return page.locator(f"#pattern-list .pattern-item[data-pattern='{pattern.hex_id}']")


def spark_heights(row: Any) -> list[float]:
    """The sparkline's y per minute, oldest first (smaller is higher)."""
    points = row.locator("svg.sparkline polyline").get_attribute("points")
    return [float(point.split(",")[1]) for point in points.split()]


def test_the_view_lists_the_top_patterns_with_badge_bands_services_and_sparkline(
    page: Any, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    add_window(live_store, wall_clock)
    with serving(live_store, wall_clock) as server:
        open_page(page, server, "/logs?view=patterns")
        expect(page.locator("#patterns-view")).to_be_visible()
        expect(page.locator("#log")).to_be_hidden()
        expect(page.locator("#view-patterns")).to_have_attribute("aria-pressed", "true")
        expect(items(page)).to_have_count(2, timeout=EXPECT_MS)
        expect(items(page).first).to_have_attribute("data-pattern", CONNECT.hex_id)  # most first

        connect = item(page, CONNECT)
        expect(connect.locator(".count")).to_have_text(f"{TIMES}2,000")
        expect(connect.locator(".pattern-pick")).to_have_text(CONNECT.template)
        expect(connect.locator(".pattern-pick .var")).to_have_text(["<IP>", "<NUM>", "<NUM>"])
        expect(connect.locator(".pattern-bands .severity")).to_have_text(["INFO", "ERROR"])
        expect(connect.locator(".pattern-services")).to_have_text("checkout, search")
        assert connect.locator("svg.sparkline").get_attribute("aria-label") == (
            f"2,000 records first seen in the last {MINUTES} minutes, at most 1,500 in one minute"
        )
        heights = spark_heights(connect)
        assert len(heights) == MINUTES
        assert heights[-1] < heights[-6] < heights[0]  # 1,500 now, 500 five minutes ago
        assert heights[:-6] == [heights[0]] * (MINUTES - 6) and heights[-5:-1] == [heights[0]] * 4

        block = item(page, BLOCK)
        expect(block.locator(".count")).to_have_text(f"{TIMES}75")
        expect(block.locator(".pattern-bands .severity")).to_have_text(["WARN"])
        expect(block.locator(".pattern-services")).to_have_text("hdfs")
        heights = spark_heights(block)
        assert len(heights) == MINUTES
        assert heights[-1] < heights[-31] < heights[-46] < heights[-16] < heights[-2]
        expect(page.locator("#patterns-note")).to_contain_text("The top 2 patterns")
        assert_accessible(page, "the Patterns view")
        save_screenshot(page, "page-patterns-view")


def test_the_header_toggle_opens_and_closes_the_view_and_keeps_it_in_the_url(
    page: Any, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    add_window(live_store, wall_clock)
    with serving(live_store, wall_clock) as server:
        open_page(page, server, "/logs?severity=INFO")
        expect(page.locator("#entries .entry")).to_have_count(2, timeout=EXPECT_MS)
        expect(page.locator("#patterns-view")).to_be_hidden()

        page.click("#view-patterns")
        expect(items(page)).to_have_count(2, timeout=EXPECT_MS)
        expect(page.locator("#entries")).to_be_hidden()
        assert query(page) == {"severity": ["INFO"], "view": ["patterns"]}
        page.reload()  # a shared link opens the same view
        expect(items(page)).to_have_count(2, timeout=EXPECT_MS)

        page.click("#view-patterns")
        expect(page.locator("#patterns-view")).to_be_hidden()
        expect(page.locator("#entries .entry")).to_have_count(2)
        expect(page.locator("#view-patterns")).to_have_attribute("aria-pressed", "false")
        assert query(page) == {"severity": ["INFO"]}


def test_choosing_a_pattern_filters_the_stream_to_it_and_the_url_holds_both(
    page: Any, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    add_window(live_store, wall_clock)
    with serving(live_store, wall_clock) as server:
        open_page(page, server, "/logs?view=patterns&service=checkout")
        item(page, CONNECT).locator(".pattern-pick").click()

        expect(page.locator("#patterns-view")).to_be_hidden()
        rows = page.locator("#entries .entry")
        expect(rows).to_have_count(1, timeout=EXPECT_MS)  # its checkout entry; not search's
        expect(rows.first).to_have_attribute("data-pattern", CONNECT.hex_id)
        assert query(page) == {"service": ["checkout"], "pattern": [CONNECT.hex_id]}
        chip = page.locator("#pattern-filter .pattern-filter-text")
        expect(chip).to_have_text(CONNECT.template)

        page.click("#view-patterns")  # the filtered pattern is marked in the list
        expect(item(page, CONNECT)).to_have_attribute("aria-current", "true", timeout=EXPECT_MS)
        expect(item(page, BLOCK)).not_to_have_attribute("aria-current", "true")
        assert query(page)["view"] == ["patterns"] and query(page)["pattern"] == [CONNECT.hex_id]


def test_the_list_is_read_again_while_the_view_is_open(
    page: Any, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    add_window(live_store, wall_clock)
    page.clock.install()  # the page's timers: the next read comes when the test says
    with serving(live_store, wall_clock) as server:
        page.route("**/logs/patterns", lambda route: route.fulfill(status=503, body="busy"))
        open_page(page, server, "/logs?view=patterns")
        note = page.locator("#patterns-note")
        expect(note).to_have_text(
            "Could not read the patterns (HTTP 503); trying again in 5 s.", timeout=EXPECT_MS
        )
        page.unroute("**/logs/patterns")
        page.clock.run_for(REFRESH_MS)
        expect(items(page)).to_have_count(2, timeout=EXPECT_MS)

        add(live_store, wall_clock, LOGIN, 5000, service="sshd")
        wall_clock.now += FRESH_NS  # the server's shared answer is read again
        page.clock.run_for(REFRESH_MS)
        expect(items(page)).to_have_count(3, timeout=EXPECT_MS)
        expect(items(page).first).to_have_attribute("data-pattern", LOGIN.hex_id)

        page.click("#view-patterns")  # closed: no more reads
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.clock.run_for(3 * REFRESH_MS)
        assert not [url for url in requests if url.endswith("/logs/patterns")]


def test_hostile_templates_and_services_render_as_text(
    page: Any, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    hostile = PatternRef(0x7FFF_FFFF_FFFF_FFFF, f"{XSS} user <*> from <SCRIPT>")
    add(live_store, wall_clock, hostile, 3, service="<script>alert(1)</script>")
    with serving(live_store, wall_clock) as server:
        open_page(page, server, "/logs?view=patterns")
        row = item(page, hostile)
        expect(row.locator(".pattern-pick")).to_have_text(hostile.template, timeout=EXPECT_MS)
        expect(row.locator(".var")).to_have_text(["<*>", "<SCRIPT>"])
        expect(row.locator(".pattern-services")).to_have_text("<script>alert(1)</script>")
        assert page.locator("#patterns-view img, #patterns-view script").count() == 0
        row.locator(".pattern-pick").click()
        expect(page.locator("#pattern-filter .pattern-filter-text")).to_have_text(
            hostile.template, timeout=EXPECT_MS
        )
        assert page.locator("img").count() == 0
        assert page.evaluate("window.pwned") is None
