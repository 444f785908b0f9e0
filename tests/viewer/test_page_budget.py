"""The live page's header says how far behind a budget's held entries are, in Chromium on a
desktop and a phone, light and dark, with axe-core finding nothing: "Logflare: budget 45/s,
1,234 held, oldest 2m", gone once nothing is held. The list is not delayed by the budget: the
batch that held the entries showed its own at once."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.model import Bucket, Held, Release
from gateway.store import Store
from tests.budget_kit import WINDOW_NS, hold, set_bucket
from tests.live_viewer import FixedClock, save_screenshot, serving
from tests.viewer.page_kit import (
    DESKTOP,
    EXPECT_MS,
    NS,
    on_every_screen,
    open_page,
    screen,
    show_filters,
)
from tests.viewer_rig import make_entry

pytestmark = pytest.mark.browser

HELD_TEXT = "Logflare: budget 45/s, 1,234 held, oldest 2m"
# The page's own wording for several budgets, from its module (the header names each by key).
SEVERAL_JS = """async (now) => {
  const { budgetView } = await import("/static/js/header.js");
  const budgets = [
    {exporter: "logflare", rate: 4.5, limit: 5, heldEntries: "12",
     oldestHeld: new Date(now - 3725000).toISOString()},
    {exporter: "otlp", rate: 200},
    {exporter: "otlp/archive", rate: 80, heldEntries: "3",
     oldestHeld: new Date(now - 45000).toISOString()},
  ];
  return budgetView(budgets, now, "Export");
}"""


def send_everything(
    bucket: Bucket | None, held: list[Held], backlog: int
) -> tuple[Release, Bucket]:
    return Release(tuple(h.id for h in held)), Bucket(0.0, 0, 45.0, 50.0)


def test_the_header_says_how_far_behind_the_held_entries_are_and_the_list_is_not_delayed(
    live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    now = wall_clock.now
    shown = [
        (make_entry(f"user {i} logged in", first_seen=now - NS, last_seen=now), now + 3600 * NS)
        for i in range(3)
    ]
    hold(live_store, [f"key {i}" for i in range(1234)], now - 130 * NS, recent=shown)
    set_bucket(live_store, now - 120 * NS, rate=45.0, limit=50.0)
    live_store.record_export_result("logflare", now - 5 * NS, None)
    with (
        serving(live_store, wall_clock, exporter_enabled=True) as server,
        screen(DESKTOP, "light") as page,
    ):
        page.clock.set_fixed_time(now / NS)  # "oldest 2m" on the page's own clock, held still
        open_page(page, server)
        expect(page.locator("#entries .entry")).to_have_count(3, timeout=EXPECT_MS)
        budget = page.locator("#budget")

        def said(*_: Any) -> None:
            show_filters(page)  # on a phone the header's figures fold under Filters
            expect(budget).to_be_visible()
            expect(budget).to_have_text(HELD_TEXT)
            expect(page.locator("#health")).to_have_text("Logflare: OK, last success 5 s ago")

        expect(budget).to_have_text(HELD_TEXT, timeout=EXPECT_MS)
        assert "its backend announced 50/s" in (budget.get_attribute("title") or "")
        on_every_screen(page, "the header with held entries", said)
        save_screenshot(page, "page-header-budget")

        live_store.release_held("logflare", now, WINDOW_NS, send_everything, lambda e: "")
        expect(page.locator("#budget-part")).to_be_hidden(timeout=EXPECT_MS)
        on_every_screen(page, "the header with nothing held")
        several = page.evaluate(SEVERAL_JS, now // 1_000_000)
        assert several["text"] == (
            "logflare: budget 4.5/s, 12 held, oldest 1h02m; otlp/archive: budget 80/s, 3 held,"
            " oldest 45s"
        )
