"""The live page on a phone (390x844), light and dark, in headless Chromium: the header folds
its filters and notes away behind one button, the entries get at least 70 % of the screen,
every control is at least 24 x 24 px, and the details take the lower part of the screen with
the selected row still in view above them and a stack trace at full width."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.store import Store
from tests.live_viewer import FixedClock, save_screenshot, serving
from tests.viewer.page_kit import EXPECT_MS, PHONE, add, assert_accessible, box, open_page, screen

pytestmark = pytest.mark.browser

ENTRIES_SHARE = 0.70
TARGET_PX = 24
STACK = "java.lang.IllegalStateException: cart is empty\n" + "".join(
    f"\tat com.shop.cart.CartService.checkout(CartService.java:{i})\n" for i in range(20)
)

# Every visible control's size, as the reader's finger meets it.
TARGETS_JS = """() => Array.from(document.querySelectorAll(
    "button, select, input, a[href], [role=button]"
  )).filter((el) => el.offsetParent !== null && el.getClientRects().length > 0)
  .map((el) => {
    const r = el.getBoundingClientRect();
    return { what: el.id || el.className || el.tagName, width: r.width, height: r.height };
  })"""


def small_targets(page: Any) -> list[dict[str, Any]]:
    targets: list[dict[str, Any]] = page.evaluate(TARGETS_JS)
    return [t for t in targets if t["width"] < TARGET_PX or t["height"] < TARGET_PX]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_entries_keep_the_phone_screen_and_every_target_is_big_enough(
    scheme: str, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    add(live_store, wall_clock, *(f"GET /cart/{i} 200" for i in range(40)))
    add(
        live_store, wall_clock, STACK, band="ERROR", attributes={"exception": {"stacktrace": STACK}}
    )
    with serving(live_store, wall_clock) as server, screen(PHONE, scheme) as page:
        open_page(page, server)
        expect(page.locator("#rows")).to_have_text("41", timeout=EXPECT_MS)
        entries = box(page, "#log")
        assert entries["height"] >= ENTRIES_SHARE * PHONE["height"], entries
        expect(page.locator("#search")).to_be_hidden()
        expect(page.locator("#disclaimer")).to_be_hidden()
        assert small_targets(page) == []
        assert_accessible(page, f"the folded header ({scheme})")
        save_screenshot(page, f"page-phone-{scheme}")

        menu = page.locator("#menu")
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(page.locator("#search")).to_be_visible()
        expect(page.locator("#disclaimer")).to_be_visible()
        expect(page.locator("#theme")).to_be_visible()
        assert small_targets(page) == []
        assert_accessible(page, f"the open header ({scheme})")
        page.keyboard.press("Escape")
        expect(menu).to_have_attribute("aria-expanded", "false")
        expect(page.locator("#search")).to_be_hidden()

        # The details: below the list, the selected row still in view above them.
        stack_row = page.locator("#entries .entry", has_text="IllegalStateException")
        stack_row.click()
        details = page.locator("#details")
        expect(details).to_be_visible()
        selected, panel = box(page, "#entries .entry.selected"), box(page, "#details")
        assert selected["y"] + selected["height"] <= panel["y"] + 1
        assert selected["y"] >= box(page, "#log")["y"] - 1
        # A stack trace reads at the full width: the field's name above its value, not beside.
        value = box(page, "#details .attributes tr[data-field='exception.stacktrace'] .field-value")
        assert value["width"] >= 0.85 * panel["width"], value
        assert small_targets(page) == []
        assert_accessible(page, f"the details on a phone ({scheme})")
        save_screenshot(page, f"page-phone-details-{scheme}")
