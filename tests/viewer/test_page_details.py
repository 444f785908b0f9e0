"""Details that hold still, in headless Chromium on a desktop and a phone, light and dark:
selecting a row pauses the stream and opens its details in a panel that does not move while
entries keep arriving; arrow keys move between rows; Escape closes and follows again; `?`
lists the shortcuts. axe-core finds nothing wrong in any of these states."""

from __future__ import annotations

import pytest

from gateway.store import Store
from tests.live_viewer import FixedClock, save_screenshot, serving
from tests.viewer.page_kit import (
    DESKTOP,
    EXPECT_MS,
    PHONE,
    SCREENS,
    add,
    assert_accessible,
    box,
    in_list,
    on_every_screen,
    open_page,
    screen,
)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("viewport", "scheme"), SCREENS)
def test_a_selected_row_holds_still_while_entries_arrive(
    viewport: dict[str, int], scheme: str, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    add(live_store, wall_clock, *(f"request {i} served" for i in range(60)))
    with serving(live_store, wall_clock) as server, screen(viewport, scheme) as page:
        open_page(page, server)
        expect(page.locator("#rows")).to_have_text("60", timeout=EXPECT_MS)
        assert_accessible(page, f"the list ({scheme})")
        row = page.locator("#entries .entry", has_text="request 55 served")
        row.click()
        status = page.locator("#status")
        expect(status).to_have_text("PAUSED (row selected)")
        details = page.locator("#details")
        expect(details).to_be_visible()
        expect(details.locator(".full-message")).to_have_text("request 55 served")
        expect(row).to_have_attribute("aria-current", "true")
        where, panel = box(page, "#entries .entry.selected"), box(page, "#details")

        # Entries keep arriving for four seconds' worth of a busy stream: nothing moves.
        for burst in range(4):
            add(live_store, wall_clock, *(f"later {burst}.{i}" for i in range(150)))
        expect(page.locator("#banner")).to_have_text("600 new, jump to latest", timeout=EXPECT_MS)
        assert box(page, "#entries .entry.selected") == where
        assert box(page, "#details") == panel
        expect(details.locator(".full-message")).to_have_text("request 55 served")
        assert_accessible(page, f"the details ({scheme})")
        save_screenshot(page, f"page-details-{viewport['width']}-{scheme}")

        # Arrow keys move between rows, the details following; Escape closes and follows again.
        page.keyboard.press("ArrowDown")
        expect(details.locator(".full-message")).to_have_text("request 56 served")
        page.keyboard.press("ArrowUp")
        page.keyboard.press("ArrowUp")
        expect(details.locator(".full-message")).to_have_text("request 54 served")
        expect(page.locator("#entries .entry.selected .message")).to_have_text("request 54 served")
        expect(page.locator("#entries .entry.selected")).to_be_focused()
        page.keyboard.press("Escape")
        expect(details).to_be_hidden()
        expect(status).to_have_text("LIVE")
        assert in_list(page) == 660
        expect(page.locator("#entries .entry").last.locator(".message")).to_have_text("later 3.149")


@pytest.mark.parametrize(("viewport", "scheme"), SCREENS)
def test_question_mark_lists_the_shortcuts(
    viewport: dict[str, int], scheme: str, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    add(live_store, wall_clock, "one entry")
    with serving(live_store, wall_clock) as server, screen(viewport, scheme) as page:
        open_page(page, server)
        page.locator("#log").focus()
        page.keyboard.press("?")
        dialog = page.locator("#shortcuts")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Next or previous entry")
        assert_accessible(page, f"the shortcuts ({scheme})")
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        if viewport == PHONE:
            page.locator("#menu").click()
        page.locator("#help").click()  # the button does the same
        expect(dialog).to_be_visible()
        dialog.get_by_role("button", name="Close").click()
        expect(dialog).to_be_hidden()


def test_keys_pause_search_jump_and_open_without_a_mouse(
    live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    add(live_store, wall_clock, *(f"line {i}" for i in range(30)))
    with serving(live_store, wall_clock) as server, screen(PHONE, "light") as page:
        open_page(page, server)
        expect(page.locator("#rows")).to_have_text("30", timeout=EXPECT_MS)
        page.locator("#log").focus()
        page.keyboard.press("ArrowUp")  # nothing selected: the last row in view
        details = page.locator("#details")
        expect(details.locator(".full-message")).to_have_text("line 29")
        page.keyboard.press("Escape")
        expect(page.locator("#status")).to_have_text("LIVE")
        page.keyboard.press("p")
        expect(page.locator("#status")).to_have_text("PAUSED (by you)")
        add(live_store, wall_clock, "while paused")
        expect(page.locator("#banner")).to_have_text("1 new, jump to latest", timeout=EXPECT_MS)
        page.keyboard.press("End")
        expect(page.locator("#status")).to_have_text("LIVE")
        expect(page.locator("#entries .entry").last.locator(".message")).to_have_text(
            "while paused"
        )
        page.keyboard.press("/")
        expect(page.locator("#search")).to_be_focused()
        page.keyboard.type("p")  # typed into the box: not a pause
        expect(page.locator("#status")).to_have_text("LIVE")
        page.locator("#log").focus()
        page.keyboard.press("ArrowDown")  # from the top of what is in view
        expect(details).to_be_visible()
        page.locator("#entries .entry.selected").press("Enter")  # Enter on it: the same row
        expect(details).to_be_visible()
        page.locator("#details-close").click()
        expect(details).to_be_hidden()
        expect(page.locator("#status")).to_have_text("LIVE")


def test_the_same_service_around_an_entry_is_one_click_away(
    live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    for i in range(6):
        add(live_store, wall_clock, f"payments step {i}", service="payments")
        add(live_store, wall_clock, f"checkout step {i}", service="checkout")
    with serving(live_store, wall_clock) as server, screen(DESKTOP, "light") as page:
        open_page(page, server)
        expect(page.locator("#rows")).to_have_text("12", timeout=EXPECT_MS)
        page.locator("#entries .entry", has_text="payments step 3").click()
        details = page.locator("#details")
        details.get_by_role("button", name="Same service around it").click()
        lines = details.locator(".context-line .message")
        expect(lines).to_have_text([f"payments step {i}" for i in range(6)], timeout=EXPECT_MS)
        current = details.locator(".context-line.current .message")
        expect(current).to_have_text("payments step 3")
        expect(details.locator(".context-part h3")).to_have_text("Around it in payments")

        def shown(*_: object) -> None:
            current.scroll_into_view_if_needed()
            expect(current).to_be_in_viewport()

        # The same page on each screen: the context, and axe-core's verdict on it.
        on_every_screen(page, "an entry's context", shown)
