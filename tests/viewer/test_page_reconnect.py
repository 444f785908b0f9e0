"""The live page across a viewer restart, in headless Chromium: it says it is reconnecting,
then resumes from its cursor with no gap and no duplicate (entries carry sequence numbers)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gateway.model import Entry
from gateway.store import Store
from tests.live_viewer import FixedClock, save_screenshot, serving, watched_page

pytestmark = pytest.mark.browser

NS = 1_000_000_000
BACKFILL = 10
EXPECT_MS = 15_000  # covers the page's reconnect backoff (0.5 s, 1 s, 2 s...)


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
    with watched_page() as page:
        rows = page.locator("#entries .entry .message")
        # A small backfill: had the page been sent a fresh backfill instead of resuming,
        # it would hold only the newest ten of the entries sent while it was away.
        with serving(store, clock, backfill=BACKFILL) as server:
            port = server.port
            page.goto(server.url + "/logs")
            expect(page.locator("#status")).to_have_text("LIVE", timeout=EXPECT_MS)
            add_sequence(store, clock, 21, 40)  # live
            expect(rows).to_have_count(30, timeout=EXPECT_MS)

        # The viewer is down: the page says so, and entries keep arriving in the table.
        status = page.locator("#status")
        expect(status).to_contain_text("RECONNECTING (attempt", timeout=EXPECT_MS)
        expect(status).to_contain_text(": the viewer is shutting down)")
        add_sequence(store, clock, 41, 70)
        save_screenshot(page, "page-reconnecting")

        with serving(store, clock, port=port, backfill=BACKFILL):
            expect(page.locator("#status")).to_have_text("LIVE", timeout=EXPECT_MS)
            add_sequence(store, clock, 71, 90)
            expect(rows).to_have_count(80, timeout=EXPECT_MS)
            shown = rows.all_text_contents()
            assert shown == [f"seq={seq:04d}" for seq in range(11, 91)]
            assert page.locator("#notices .notice-CURSOR_EXPIRED").count() == 0
            assert page.locator("#entries .gap").count() == 0
    store.dispose()


def test_a_page_past_the_connection_cap_shows_the_servers_reason(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    store = Store(f"sqlite:///{tmp_path / 'viewer.db'}")
    store.create_schema()
    with (
        serving(store, FixedClock(time.time_ns()), max_connections=1) as server,
        watched_page() as first,
    ):
        first.goto(server.url + "/logs")
        expect(first.locator("#status")).to_have_text("LIVE", timeout=EXPECT_MS)
        second = first.context.browser.new_page()
        second.goto(server.url + "/logs")
        expect(second.locator("#status")).to_contain_text(
            "too many live pages open; retry later", timeout=EXPECT_MS
        )
        save_screenshot(second, "page-refused-past-the-cap")
    store.dispose()
