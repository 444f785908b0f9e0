"""The live page with 20,000 entries loaded, in headless Chromium: only the rows in view are in
the DOM, appends keep coming, a search keystroke filters the loaded list at once while the
server's subscription catches up, and resuming after a long pause keeps the rows being read
(on a desktop and a phone, light and dark, axe-core finding nothing).
The timings (testkit/page_timing) are reported, not asserted: the suite shares the cores
between workers, and `make bench` (rows 7b-7e) holds the page to its figures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gateway.store import Store
from testkit import page_timing
from tests.live_viewer import FixedClock, save_screenshot, serving
from tests.viewer.page_kit import (
    DESKTOP,
    EVERY_SCREEN,
    PHONE,
    add,
    assert_accessible,
    in_list,
    open_page,
    screen,
    screen_name,
    show_on,
)

pytestmark = pytest.mark.browser

FULL = 20_000  # the page's cap
CHUNK = 1_000
FILL_MS = 60_000  # how long one chunk may take to reach the page on a busy machine
STEADY_BATCHES = 20  # live batches timed once the list is full
BATCH = 15  # entries a batch: 150 a second at the feed's pace
RESUMED = 5_000  # entries that arrive during a long pause


def body(i: int) -> str:
    return f"entry {i} kind={'beta' if i % 10 == 0 else 'alpha'} path=/cart/{i % 97}"


def fill(page: Any, store: Store, clock: FixedClock, first: int, last: int) -> None:
    """Entries first..last-1 sent live, a chunk at a time, each chunk on the page before the
    next (the page's buffer on the server is bounded)."""
    from playwright.sync_api import expect

    base = in_list(page)
    for start in range(first, last, CHUNK):
        end = min(last, start + CHUNK)
        add(store, clock, *(body(i) for i in range(start, end)))
        shown = min(FULL, base + end - first)
        expect(page.locator("#rows")).to_have_text(f"{shown:,}", timeout=FILL_MS)


def steady_appends(page: Any, store: Store, clock: FixedClock, start: int) -> None:
    page_timing.reset(page)
    for batch in range(STEADY_BATCHES):
        first = start + batch * BATCH
        add(store, clock, *(body(i) for i in range(first, first + BATCH)))
        page.wait_for_function(
            "(n) => window.__pageTiming.messages.length >= n", arg=batch + 1, timeout=FILL_MS
        )


@pytest.mark.parametrize(
    ("viewport", "scheme"),
    [pytest.param(DESKTOP, "light", id="desktop-light"), pytest.param(PHONE, "dark", id="phone")],
)
@pytest.mark.slow
def test_twenty_thousand_entries_stay_windowed_and_search_the_loaded_list(
    viewport: dict[str, int],
    scheme: str,
    live_store: Store,
    wall_clock: FixedClock,
    report: Callable[[str], None],
) -> None:
    from playwright.sync_api import expect

    with serving(live_store, wall_clock) as server, screen(viewport, scheme) as page:
        page.add_init_script(page_timing.INSTRUMENT_JS)
        open_page(page, server)
        fill(page, live_store, wall_clock, 0, FULL)
        assert page.locator("#entries .entry").count() < 200  # only the rows in view
        steady_appends(page, live_store, wall_clock, FULL)
        timed = page_timing.appends(page)
        report(
            f"{viewport['width']} px, {FULL:,} entries: append median {timed.median_ms:.1f} ms,"
            f" p90 {timed.p90_ms:.1f} ms, longest task {timed.longest_ms:.1f} ms"
        )
        assert in_list(page) == FULL

        if viewport == PHONE:
            page.locator("#menu").click()  # the search box is folded away on a phone
        # "b" keeps kind=beta, a tenth of them; "e" and "t" keep the same rows, marked anew.
        repaints = page_timing.keystrokes(page, "bet")
        report(f"{viewport['width']} px, {FULL:,} entries: keystrokes to repaint {repaints} ms")
        expect(page.locator("#rows")).to_have_text("2,000")  # from the loaded rows, at once
        expect(page.locator("#entries .entry .message mark").first).to_have_text("bet")
        page.wait_for_url(lambda url: "q=bet" in url)
        save_screenshot(page, f"page-speed-{viewport['width']}")


@pytest.mark.slow
def test_resuming_after_a_long_pause_keeps_the_rows_being_read(
    live_store: Store, wall_clock: FixedClock
) -> None:
    with serving(live_store, wall_clock) as server, screen(DESKTOP, "light") as page:
        open_page(page, server)
        fill(page, live_store, wall_clock, 0, FULL)
        # One full page for the four screens (filling it is most of the test's time): a long
        # pause and a resume on each, axe-core on the paused and the resumed list.
        for rounds, (viewport, scheme) in enumerate(EVERY_SCREEN, start=1):
            show_on(page, viewport, scheme)
            pause_and_resume(page, live_store, wall_clock, screen_name(viewport, scheme), rounds)


def pause_and_resume(page: Any, store: Store, clock: FixedClock, where: str, rounds: int) -> None:
    """Reading the oldest rows while 5,000 entries arrive, then resuming: the rows read stay,
    the 500 after them too, then a marker for what the cap left out, then the newest. Each
    round's resume drops the previous round's marker with the entries it cuts."""
    from playwright.sync_api import expect

    newest = FULL + rounds * RESUMED
    # Reading the oldest rows: scrolled to the top, which pauses.
    page.evaluate("() => { document.getElementById('log').scrollTop = 0; }")
    expect(page.locator("#status")).to_have_text("PAUSED (scrolled up)")
    first = page.locator("#entries .entry").first.locator(".message")
    expect(first).to_have_text(body(0))
    add(store, clock, *(body(i) for i in range(newest - RESUMED, newest)))
    banner = page.locator("#banner")
    expect(banner).to_have_text("5,000 new, jump to latest", timeout=FILL_MS)
    assert_accessible(page, f"a long pause ({where})")

    banner.click()
    expect(page.locator("#status")).to_have_text("LIVE")
    last = page.locator("#entries .entry").last.locator(".message")
    expect(last).to_have_text(body(newest - 1))
    assert in_list(page) == FULL
    page.evaluate("() => { document.getElementById('log').scrollTop = 0; }")
    expect(first).to_have_text(body(0))
    row_px = page.locator("#entries .entry").first.evaluate("row => row.offsetHeight")
    page.evaluate("(y) => { document.getElementById('log').scrollTop = y; }", 490 * row_px)
    gap = page.locator("#entries .gap")
    expect(gap).to_have_text(
        "5,000 entries after these are not kept (the page keeps 20,000): the newest follow."
    )
    expect(gap.locator("xpath=preceding-sibling::li[1]//*[@class='message']")).to_have_text(
        body(499)
    )
    expect(gap.locator("xpath=following-sibling::li[1]//*[@class='message']")).to_have_text(
        body(500 + rounds * RESUMED)
    )
    assert_accessible(page, f"the list resumed, its marker in view ({where})")
