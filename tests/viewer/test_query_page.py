"""The search language in the live page (headless Chromium): a typed query filters the list,
the URL keeps it, and a query that does not parse says why right under the search box, in
the page as typed and from the server for a shared link. Each state is shown on a desktop and
a phone, light and dark (one page walked through them), with axe-core finding nothing."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.model import Entry
from gateway.store import Store
from tests.live_viewer import FixedClock, save_screenshot, serving
from tests.viewer.page_kit import (
    DESKTOP,
    EXPECT_MS,
    NS,
    PHONE,
    assert_accessible,
    on_every_screen,
    open_page,
    screen,
    show_filters,
    show_on,
)

pytestmark = pytest.mark.browser

NUMBERS = {"INFO": 9, "WARN": 13, "ERROR": 17}
PAY = "GET /api/pay 503 upstream timeout"
CART = "GET /api/cart 200"
DISK = "disk almost full"
HEALTH = "health check ok"
PAUSE_MS = 2000  # past the search box's pause before it subscribes again


def fill(store: Store, clock: FixedClock) -> None:
    def entry(body: str, band: str, service: str, **attributes: Any) -> Entry:
        number = NUMBERS[band]
        return Entry(body, number, band, service, 1, clock.now, clock.now, attributes=attributes)

    rows = [
        entry(PAY, "ERROR", "checkout", http={"status_code": 503}),
        entry(CART, "INFO", "checkout", http={"status_code": 200}),
        entry(DISK, "WARN", "search"),
        entry(HEALTH, "INFO", "search"),
    ]
    store.add_recent([(row, clock.now + 3600 * NS) for row in rows])


def messages(page: Any) -> list[str]:
    texts: list[str] = page.locator("#entries .entry .message").all_text_contents()
    return texts


def expect_messages(page: Any, wanted: list[str]) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#entries .entry .message")).to_have_text(wanted, timeout=EXPECT_MS)


def subscribes_to(wanted: str) -> Any:
    def matches(frame: object) -> bool:
        text = str(frame)
        return '"after"' in text and json.loads(text).get("query") == wanted

    return matches


def query(page: Any) -> list[str]:
    return parse_qs(urlsplit(page.url).query).get("q", [])


# The colour `selector` is drawn in, whether it sets one inline, and the error colour there
# (a probe beside it, in var(--error-ink), resolved for the scheme shown).
COLOURS_JS = """(selector) => {
  const shown = document.querySelector(selector);
  const probe = document.createElement("span");
  probe.style.color = "var(--error-ink)";
  shown.parentElement.appendChild(probe);
  const error = getComputedStyle(probe).color;
  probe.remove();
  return { color: getComputedStyle(shown).color, inline: shown.style.color, error };
}"""


def assert_error_colour(page: Any, selector: str) -> None:
    """`selector` is in the stylesheet's error colour, none set inline (axe checks contrast)."""
    colours = page.evaluate(COLOURS_JS, selector)
    assert colours["inline"] == "", f"{selector} sets its colour inline: {colours}"
    assert colours["color"] == colours["error"], f"{selector} is not in --error-ink: {colours}"


def says_under_the_box(page: Any, text: str) -> Any:
    """A check for each screen: the search box (under Filters on a phone) with `text` right
    under it, in the error colour."""
    from playwright.sync_api import expect

    def check(*_: object) -> None:
        show_filters(page)
        expect(page.locator("#query-problem")).to_be_visible()
        expect(page.locator("#query-problem")).to_have_text(text)
        expect(page.locator("#search")).to_have_attribute("aria-invalid", "true")
        assert_error_colour(page, "#query-problem")

    return check


def test_typing_a_query_filters_the_list_and_the_url_keeps_it(
    live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    fill(live_store, wall_clock)
    with serving(live_store, wall_clock) as server, screen(DESKTOP, "light") as page:
        open_page(page, server)
        expect_messages(page, [PAY, CART, DISK, HEALTH])
        page.fill("#search", "level:>=warn -service:search")
        expect_messages(page, [PAY])
        expect(page).to_have_url(re.compile(r"q="), timeout=EXPECT_MS)
        assert query(page) == ["level:>=warn -service:search"]

        page.fill("#search", "http.status_code:>=500 OR /^disk/")
        expect_messages(page, [PAY, DISK])
        page.fill("#search", '"check ok" OR (service:checkout /cart/i)')
        expect_messages(page, [CART, HEALTH])
        expect(page).to_have_url(re.compile(r"cart"), timeout=EXPECT_MS)

        page.reload()  # a shared link opens the same view, filtered by the server
        expect(page.locator("#status")).to_have_text("LIVE", timeout=EXPECT_MS)
        expect(page.locator("#search")).to_have_value('"check ok" OR (service:checkout /cart/i)')
        expect_messages(page, [CART, HEALTH])
        expect(page.locator("#query-problem")).to_be_hidden()

        def filtered(*_: object) -> None:
            show_filters(page)
            expect(page.locator("#search")).to_be_visible()
            expect(page.locator("#entries .entry").last).to_be_in_viewport()
            expect(page.locator("#entries .message mark").first).to_be_visible()  # its words

        on_every_screen(page, "a list filtered by a query", filtered)


def test_a_bad_query_says_why_under_the_search_box_and_is_not_applied(
    live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    fill(live_store, wall_clock)
    sent: list[str] = []  # the Subscribe frames the page sends
    with serving(live_store, wall_clock) as server, screen(DESKTOP, "light") as page:
        page.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(str(frame))))
        page.clock.install()  # the search box's pause passes when the test says
        open_page(page, server, "/logs?q=service:search")
        expect_messages(page, [DISK, HEALTH])
        problem = page.locator("#query-problem")
        expect(problem).to_be_hidden()

        page.fill("#search", 'service:"search')
        unclosed = 'Search not applied: missing closing " for the one at character 9'
        expect(problem).to_have_text(unclosed)
        expect(page.locator("#search")).to_have_attribute("aria-invalid", "true")
        on_every_screen(page, "a bad query's message", says_under_the_box(page, unclosed))
        page.clock.run_for(PAUSE_MS)
        save_screenshot(page, "page-query-refused")
        page.fill("#search", "/(a+)+$/ OR /x\\1/")
        expect(problem).to_contain_text("backreferences are not supported")
        page.clock.run_for(PAUSE_MS)
        expect_messages(page, [DISK, HEALTH])  # the last good query still applies
        assert query(page) == ["service:search"]

        page.fill("#search", "service:search ok")
        expect(problem).to_be_hidden()
        # The page filters what it holds at once, so the list can change before the new
        # socket's Subscribe frame has reached the test: wait for that frame itself.
        with page.expect_websocket() as opened:
            page.clock.run_for(PAUSE_MS)
        wanted = subscribes_to("service:search ok")
        if not any(wanted(frame) for frame in sent):
            opened.value.wait_for_event("framesent", predicate=wanted)
        expect_messages(page, [HEALTH])
        expect(page).to_have_url(re.compile(r"search(\+|%20)ok"), timeout=EXPECT_MS)
        expect(page.locator("#search")).not_to_have_attribute("aria-invalid", "true")
        # Only the good queries ever reached the server.
        queries = [json.loads(frame).get("query") for frame in sent if '"after"' in frame]
        assert queries[0] == "service:search" and queries[-1] == "service:search ok"
        assert set(queries) == {"service:search", "service:search ok"}


def test_a_bad_query_in_a_shared_link_is_refused_with_the_same_words(
    live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    fill(live_store, wall_clock)
    # A phone first: its search box, and the line under it, are folded away under Filters.
    with serving(live_store, wall_clock) as server, screen(PHONE, "light") as page:
        open_page(page, server, "/logs?q=level%3Aloud")
        why = "level:loud (character 1): not a level: trace, debug, info, warn, error or fatal"
        refused = "Search not applied: " + why
        expect(page.locator("#query-problem")).to_have_text(refused)
        expect(page.locator("#search")).to_have_value("level:loud")
        expect(page.locator("#entries .entry")).to_have_count(0)
        # The list says so itself (not "No entries match"), with Filters still folded.
        empty = page.locator("#empty")
        said = refused + ". No entries are shown until the search is changed."

        def in_the_list(*_: object) -> None:
            expect(empty).to_have_text(said)
            expect(empty).to_be_in_viewport()
            assert_error_colour(page, "#empty")

        for scheme in ("light", "dark"):
            show_on(page, PHONE, scheme)
            expect(page.locator("#menu")).to_have_attribute("aria-expanded", "false")
            expect(page.locator("#query-problem")).to_be_hidden()
            in_the_list()
            assert_accessible(page, f"a shared link's bad query, Filters folded (phone-{scheme})")
        save_screenshot(page, "page-query-refused-phone")

        under_the_box = says_under_the_box(page, refused)

        def both(*_: object) -> None:
            under_the_box()
            in_the_list()

        on_every_screen(page, "a shared link's bad query", both)

        # A good search typed in its place applies, and the list shows what it keeps.
        page.fill("#search", "level:warn")
        expect_messages(page, [DISK])
        expect(empty).to_be_hidden()
        expect(page.locator("#query-problem")).to_be_hidden()
