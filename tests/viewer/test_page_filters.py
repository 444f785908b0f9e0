"""The live page's filters and header in headless Chromium: severity toggles, the service list
and the search all in the URL; the window, Logflare's health, and notices that say plainly
when a limit, sampling or missed entries apply."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.model import Entry
from gateway.store import Store
from tests.live_viewer import FixedClock, save_screenshot, serving
from viewer.server import ViewerServer

pytestmark = pytest.mark.browser

NS = 1_000_000_000
EXPECT_MS = 10_000  # Playwright's auto-wait ceiling for each assertion
NUMBERS = {"INFO": 9, "WARN": 13, "ERROR": 17}


def add(
    live_store: Store, wall_clock: FixedClock, body: str, band: str = "INFO", service: str = ""
) -> None:
    entry = Entry(
        body, NUMBERS[band], band, service or "checkout", 1, wall_clock.now, wall_clock.now
    )
    live_store.add_recent([(entry, wall_clock.now + 3600 * NS)])


def query(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def messages(page: Any) -> list[str]:
    return [text for text in page.locator("#entries .entry .message").all_text_contents()]


def open_page(page: Any, server: ViewerServer, path: str = "/logs") -> None:
    from playwright.sync_api import expect

    page.goto(server.url + path)
    expect(page.locator("#status")).to_have_text("LIVE", timeout=EXPECT_MS)


def test_filters_come_from_the_url_go_to_the_server_and_back_to_the_url(
    page: Any, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    add(live_store, wall_clock, "payment failed", "ERROR")
    add(live_store, wall_clock, "payment ok", "INFO")
    add(live_store, wall_clock, "disk failing", "WARN", service="search")
    add(live_store, wall_clock, "db down", "ERROR", service="search")
    with serving(live_store, wall_clock) as server:
        open_page(page, server, "/logs?severity=WARN,ERROR&q=FAIL")
        rows = page.locator("#entries .entry")
        expect(rows).to_have_count(2, timeout=EXPECT_MS)
        assert messages(page) == ["payment failed", "disk failing"]
        assert page.locator("#entries mark").all_text_contents() == ["fail", "fail"]
        expect(page.locator("[data-band=ERROR]")).to_have_attribute("aria-pressed", "true")
        expect(page.locator("[data-band=INFO]")).to_have_attribute("aria-pressed", "false")
        expect(page.locator("#search")).to_have_value("FAIL")
        expect(page.locator("#notices")).to_contain_text("Filtered on the server")

        # The service list is filled from what the window holds, not only what is shown.
        expect(page.locator("#service option")).to_have_text(
            ["All services", "checkout", "search"], timeout=EXPECT_MS
        )
        page.select_option("#service", "search")
        expect(rows).to_have_count(1, timeout=EXPECT_MS)
        assert messages(page) == ["disk failing"]
        assert query(page) == {"severity": ["WARN,ERROR"], "service": ["search"], "q": ["FAIL"]}

        add(live_store, wall_clock, "search failed again", "ERROR", service="search")
        add(live_store, wall_clock, "checkout failed again", "ERROR")  # another service: never sent
        expect(rows).to_have_count(2, timeout=EXPECT_MS)
        save_screenshot(page, "page-filtered")

        page.click("[data-band=WARN]")
        expect(rows).to_have_count(1, timeout=EXPECT_MS)
        assert messages(page) == ["search failed again"]
        assert query(page)["severity"] == ["ERROR"]

        page.click("#clear")
        expect(rows).to_have_count(6, timeout=EXPECT_MS)
        assert urlsplit(page.url).query == ""
        expect(page.locator("#entries mark")).to_have_count(0)


def test_typing_a_search_narrows_the_stream_and_the_url_keeps_it(
    page: Any, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    for body in ("GET /cart 200", "GET /pay 502 upstream timeout", "GET /cart 200 slow"):
        add(live_store, wall_clock, body)
    with serving(live_store, wall_clock) as server:
        open_page(page, server)
        expect(page.locator("#entries .entry")).to_have_count(3, timeout=EXPECT_MS)
        page.keyboard.press("/")  # focuses the search box
        page.keyboard.type("TIMEOUT")
        expect(page.locator("#entries .entry")).to_have_count(1, timeout=EXPECT_MS)
        expect(page.locator("#entries mark")).to_have_text("timeout")
        page.wait_for_url(lambda url: "q=TIMEOUT" in url, timeout=EXPECT_MS)  # once typing settles
        assert query(page) == {"q": ["TIMEOUT"]}
        page.reload()  # a shared link opens the same view
        expect(page.locator("#status")).to_have_text("LIVE", timeout=EXPECT_MS)
        expect(page.locator("#search")).to_have_value("TIMEOUT")
        expect(page.locator("#entries .entry")).to_have_count(1, timeout=EXPECT_MS)


def test_the_header_shows_the_window_the_limit_sampling_and_logflare_health(
    page: Any, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    for i in range(10):
        add(live_store, wall_clock, f"entry {i}")
    live_store.record_export_result("logflare", time.time_ns() - 60 * NS, None)
    with serving(live_store, wall_clock, backfill=3, exporter_enabled=True) as server:
        open_page(page, server)
        expect(page.locator("#entries .entry")).to_have_count(3, timeout=EXPECT_MS)
        expect(page.locator("#window")).to_have_text("10", timeout=EXPECT_MS)
        notices = page.locator("#notices")
        expect(notices).to_contain_text("Showing the newest 3 of 10 entries in the window")
        expect(notices).to_contain_text("Sampling in force (rules above)")
        expect(page.locator("#sampling")).to_have_text("DEBUG: keep 1 in 10")
        health = page.locator("#health")
        expect(health).to_have_text("Logflare: OK, last success 1 min ago", timeout=EXPECT_MS)
        expect(health).to_have_class("health health-ok")

        live_store.record_export_result(
            "logflare", time.time_ns() - 2 * NS, "HTTP 503: <b>busy</b>"
        )
        expect(health).to_contain_text("Logflare: failing, last error", timeout=EXPECT_MS)
        expect(health).to_contain_text("(HTTP 503: <b>busy</b>); last success 1 min ago")
        expect(health).to_have_class("health health-failing")
        save_screenshot(page, "page-header-failing-export")


def test_no_sampling_notice_when_nothing_is_sampled(
    page: Any, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    add(live_store, wall_clock, "entry")
    with serving(live_store, wall_clock, sampling_summary="") as server:
        open_page(page, server)
        expect(page.locator("#entries .entry")).to_have_count(1, timeout=EXPECT_MS)
        expect(page.locator("#window")).to_have_text("1", timeout=EXPECT_MS)
        expect(page.locator("#sampling")).to_have_text("none")
        expect(page.locator("#notices .notice-sampling")).to_have_count(0)


def test_a_page_that_falls_behind_is_told_how_many_entries_it_missed(
    page: Any, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    with serving(live_store, wall_clock, queue_capacity=2, poll_interval=0.05) as server:
        open_page(page, server)
        live_store.add_recent(
            [
                (
                    Entry(f"burst {i}", 9, "INFO", "checkout", 1, wall_clock.now, wall_clock.now),
                    wall_clock.now + NS**2,
                )
                for i in range(5)
            ]
        )  # one poll hands five entries to a buffer of two
        notice = page.locator("#notices .notice-MISSED")
        expect(notice).to_contain_text("3 entries were not sent", timeout=EXPECT_MS)
        expect(page.locator("#entries .gap")).to_contain_text("3 entries were not sent")
        assert messages(page) == ["burst 3", "burst 4"]
        save_screenshot(page, "page-missed-notice")
        notice.locator(".dismiss").click()
        expect(notice).to_have_count(0)
