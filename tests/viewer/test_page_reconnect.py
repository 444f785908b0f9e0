"""The live page across a viewer restart, in headless Chromium: it says it is reconnecting,
offers "Retry now", tries again within its quick-retry period (1 s) once the viewer is back,
however long it was down, is LIVE after that try, and resumes from its cursor with no gap and
no duplicate (entries carry sequence numbers). The page's timers run on Playwright's clock
while that is checked, so the test says when a second passes rather than timing anything
(how soon the page is LIVE in real time is `make bench`'s row 7i). The reconnecting, resumed
and refused states are shown on a desktop and a phone, light and dark (one page walked through
them), with axe-core finding nothing."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from gateway.model import Entry
from gateway.store import Store
from tests.live_viewer import FixedClock, save_screenshot, serving
from tests.viewer.page_kit import DESKTOP, NS, loaded_messages, on_every_screen, screen

pytestmark = pytest.mark.browser

BACKFILL = 10
EXPECT_MS = 15_000  # Playwright's auto-wait ceiling for each assertion
QUICK_MAX_MS = 1000  # js/connection.js: while the viewer is unreachable, the next try within this
PAUSE_AHEAD_MS = 5000  # the page's clock stops this far ahead of where it is (never behind it)
# Down, the pill says RECONNECTING for a few tries, then DISCONNECTED; both offer "Retry now".
DOWN = re.compile(r"^(RECONNECTING \(|DISCONNECTED)")


def add_sequence(store: Store, clock: FixedClock, first: int, last: int) -> None:
    for seq in range(first, last + 1):  # one commit each, as the batch stage makes them
        entry = Entry(f"seq={seq:04d}", 9, "INFO", "checkout", 1, clock.now, clock.now)
        store.add_recent([(entry, clock.now + 3600 * NS)])


def test_after_a_restart_the_page_resumes_with_no_gap_and_no_duplicate(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    store = Store(f"sqlite:///{tmp_path / 'viewer.db'}")
    store.create_schema()
    clock = FixedClock(time.time_ns())
    add_sequence(store, clock, 1, 20)  # before the page opens: the newest ten are its backfill
    with screen(DESKTOP, "light") as page:
        page.clock.install()  # runs as real time does, until the test pauses it
        in_list = page.locator("#rows")
        # A small backfill: had the page been sent a fresh backfill instead of resuming,
        # it would hold only the newest ten of the entries sent while it was away.
        with serving(store, clock, backfill=BACKFILL) as server:
            port = server.port
            page.goto(server.url + "/logs")
            expect(page.locator("#status")).to_have_text("LIVE", timeout=EXPECT_MS)
            add_sequence(store, clock, 21, 40)  # live
            expect(in_list).to_have_text("30", timeout=EXPECT_MS)

        # The viewer is down: the page says so, and entries keep arriving in the table.
        status = page.locator("#status")
        expect(status).to_contain_text("RECONNECTING (attempt", timeout=EXPECT_MS)
        expect(status).to_contain_text(": the viewer is shutting down)")
        retry = page.get_by_role("button", name="Retry now")

        def down(*_: object) -> None:
            expect(retry).to_be_in_viewport()
            retry.click()  # tries at once: still down, still said
            expect(status).to_have_text(DOWN)

        on_every_screen(page, "the page while the viewer is down", down)
        add_sequence(store, clock, 41, 70)
        # Down long enough for the backoff of old (0.5, 1, 2, 4 s...) to be far past 2 s.
        expect(status).to_contain_text("DISCONNECTED", timeout=EXPECT_MS)
        save_screenshot(page, "page-reconnecting")

        waiting_to_try_again(page)
        with serving(store, clock, port=port, backfill=BACKFILL):
            # Back, but no timer of the page has run since: it has not tried yet.
            expect(status).to_have_text(DOWN)
            page.clock.run_for(QUICK_MAX_MS)  # its next try is due within this
            expect(status).to_have_text("LIVE", timeout=EXPECT_MS)
            page.clock.resume()  # real time again, for the list's frames
            expect(retry).to_be_hidden()
            add_sequence(store, clock, 71, 90)
            expect(in_list).to_have_text("80", timeout=EXPECT_MS)
            assert loaded_messages(page) == [f"seq={seq:04d}" for seq in range(11, 91)]
            assert page.locator("#notices .notice-CURSOR_EXPIRED").count() == 0
            assert page.locator("#entries .gap").count() == 0

            def resumed(*_: object) -> None:
                expect(status).to_have_text("LIVE")
                expect(page.locator("#entries .entry").last).to_be_in_viewport()

            on_every_screen(page, "the page resumed after the restart", resumed)
    store.dispose()


def waiting_to_try_again(page: Any) -> None:
    """The page's clock stopped, and the page between two tries: its try (Retry now) has
    failed, so its next one waits on a timer of that clock."""
    from playwright.sync_api import expect

    now_ms = page.evaluate("() => Date.now()")
    page.clock.pause_at((now_ms + PAUSE_AHEAD_MS) / 1000)  # timers due by then run first
    page.get_by_role("button", name="Retry now").click()
    status = page.locator("#status")
    expect(status).to_have_text(DOWN)
    # "trying now" until the try's socket closes, and that close sets the next try's timer.
    expect(status).not_to_contain_text("trying now", timeout=EXPECT_MS)


def test_a_page_past_the_connection_cap_shows_the_servers_reason(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    store = Store(f"sqlite:///{tmp_path / 'viewer.db'}")
    store.create_schema()
    with (
        serving(store, FixedClock(time.time_ns()), max_connections=1) as server,
        screen(DESKTOP, "light") as first,
    ):
        first.goto(server.url + "/logs")
        expect(first.locator("#status")).to_have_text("LIVE", timeout=EXPECT_MS)
        second = first.context.browser.new_page(viewport=DESKTOP, color_scheme="light")
        second.goto(server.url + "/logs")
        status = second.locator("#status")
        expect(status).to_contain_text("too many live pages open; retry later", timeout=EXPECT_MS)
        save_screenshot(second, "page-refused-past-the-cap")

        def refused(*_: object) -> None:
            expect(second.get_by_role("button", name="Retry now")).to_be_in_viewport()
            expect(status).to_contain_text("too many live pages open; retry later")

        on_every_screen(second, "a page refused past the cap", refused)
    store.dispose()
