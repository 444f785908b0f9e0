"""Pattern entries on the live page in headless Chromium: the template with its variables
marked and the count as a badge; the details' example line and each variable's top
values; "Only this pattern" and ?pattern= filtering on the server, kept in the URL, shown
and cleared; a bad ?pattern= said, not applied; hostile templates and values stay text."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.model import Entry, PatternRef, VariableValues
from gateway.store import Store
from tests.live_viewer import FixedClock, save_screenshot, serving
from viewer.server import ViewerServer

pytestmark = pytest.mark.browser

NS = 1_000_000_000
TIMES = "\N{MULTIPLICATION SIGN}"  # the count badge reads "<TIMES>2,000"
EXPECT_MS = 10_000  # Playwright's auto-wait ceiling for each assertion
PWN = "window.pwned=1"
XSS = f"<img src=x onerror={PWN}>"

CONNECT = PatternRef(
    0x1A2B3C4D5E6F7081,
    "Failed to connect to <IP>:<NUM> after <NUM> ms as <*>",
    (
        VariableValues((("10.0.0.7", 1500), ("10.0.0.8", 400)), other=100, distinct=3),
        VariableValues((("5432", 2000),), other=0, distinct=1),
        VariableValues((("3012", 2), ("250", 1)), other=1997, distinct=1800),
        VariableValues((("admin", 1999), ("root", 1)), other=0, distinct=2),
    ),
)
CONNECT_BODY = "Failed to connect to 10.0.0.7:5432 after 3012 ms as admin"
BLOCK = PatternRef(
    0x0123456789ABCDEF,
    "PacketResponder <NUM> for block <*> terminating",
    (
        VariableValues((("1", 30),), other=0, distinct=1),
        VariableValues((("blk_-69522958", 1),), other=29, distinct=30),
    ),
)
BLOCK_BODY = "PacketResponder 1 for block blk_-69522958 terminating"


def add(
    store: Store, clock: FixedClock, body: str, count: int, pattern: PatternRef | None = None
) -> None:
    entry = Entry(body, 9, "INFO", "checkout", count, clock.now, clock.now, pattern=pattern)
    store.add_recent([(entry, clock.now + 3600 * NS)])


def open_page(page: Any, server: ViewerServer, path: str = "/logs") -> None:
    from playwright.sync_api import expect

    page.goto(server.url + path)
    expect(page.locator("#status")).to_have_text("LIVE", timeout=EXPECT_MS)


def query(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def pattern_row(page: Any, pattern: PatternRef) -> Any:
    return page.locator(f"#entries .entry[data-pattern='{pattern.hex_id}']")


def test_a_pattern_row_shows_its_template_variables_and_a_count_badge(
    page: Any, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    add(live_store, wall_clock, CONNECT_BODY, 2000, CONNECT)
    add(live_store, wall_clock, "disk full", 1234)  # grouped by body: a badge all the same
    add(live_store, wall_clock, "said once", 1)
    with serving(live_store, wall_clock) as server:
        open_page(page, server)
        rows = page.locator("#entries .entry")
        expect(rows).to_have_count(3, timeout=EXPECT_MS)
        row = pattern_row(page, CONNECT)
        expect(row.locator(".count")).to_have_text(f"{TIMES}2,000")
        expect(row.locator(".message")).to_have_text(CONNECT.template)
        expect(row.locator(".message .var")).to_have_text(["<IP>", "<NUM>", "<NUM>", "<*>"])
        expect(row.locator(".var").first).to_have_attribute(
            "title", f"10.0.0.7 {TIMES}1,500 · 10.0.0.8 {TIMES}400 · +100 other"
        )
        badge_colour = row.locator(".count").evaluate("el => getComputedStyle(el).backgroundColor")
        assert badge_colour not in ("rgba(0, 0, 0, 0)", "transparent")  # a pill, not grey text
        expect(rows.nth(1).locator(".count")).to_have_text(f"{TIMES}1,234")
        expect(rows.nth(1).locator(".message")).to_have_text("disk full")
        expect(rows.nth(1).locator(".var")).to_have_count(0)
        expect(rows.nth(2).locator(".count")).to_have_count(0)  # one record: no badge


def test_a_pattern_rows_details_show_the_example_line_and_top_values(
    page: Any, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    add(live_store, wall_clock, CONNECT_BODY, 2000, CONNECT)
    with serving(live_store, wall_clock) as server:
        open_page(page, server)
        row = pattern_row(page, CONNECT)
        row.locator(".message").click()
        details = page.locator("#details")
        expect(details.locator(".pattern-head .template")).to_have_text(CONNECT.template)
        expect(details.locator(".pattern-id")).to_have_text("1a2b3c4d5e6f7081")
        expect(details.locator(".message-part h3")).to_have_text("Example line")
        expect(details.locator(".full-message")).to_have_text(CONNECT_BODY)
        variables = details.locator(".variable")
        expect(variables).to_have_count(4)
        first = variables.nth(0)
        expect(first.locator(".variable-title .var")).to_have_text("<IP>")
        expect(first.locator(".value")).to_have_text(["10.0.0.7", "10.0.0.8"])
        expect(first.locator(".value-count")).to_have_text([f"{TIMES}1,500", f"{TIMES}400"])
        expect(first.locator(".other")).to_have_text("+100 other")
        expect(first.locator(".distinct")).to_have_text("3 distinct")
        expect(variables.nth(1).locator(".other")).to_have_count(0)  # nothing left over
        expect(variables.nth(2).locator(".other")).to_have_text("+1,997 other")
        expect(variables.nth(2).locator(".distinct")).to_have_text("1,800 distinct")
        expect(variables.nth(3).locator(".variable-title .var")).to_have_text("<*>")
        expect(details.locator(".only-pattern")).to_be_enabled()
        save_screenshot(page, "page-pattern-expanded")


def test_only_this_pattern_filters_on_the_server_keeps_it_in_the_url_and_clears(
    page: Any, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    add(live_store, wall_clock, CONNECT_BODY, 2000, CONNECT)
    add(live_store, wall_clock, BLOCK_BODY, 30, BLOCK)
    add(live_store, wall_clock, "disk full", 3)
    with serving(live_store, wall_clock) as server:
        open_page(page, server)
        rows = page.locator("#entries .entry")
        expect(rows).to_have_count(3, timeout=EXPECT_MS)
        chip = page.locator("#pattern-filter")
        expect(chip).to_be_hidden()

        row = pattern_row(page, BLOCK)
        row.locator(".message").click()
        details = page.locator("#details")
        details.get_by_role("button", name="Only this pattern").click()
        expect(rows).to_have_count(1, timeout=EXPECT_MS)
        expect(rows.first).to_have_attribute("data-pattern", BLOCK.hex_id)
        assert query(page) == {"pattern": [BLOCK.hex_id]}
        expect(chip).to_be_visible()
        expect(chip.locator(".pattern-filter-text")).to_have_text(BLOCK.template)
        expect(page.locator("#notices")).to_contain_text(f"pattern {BLOCK.hex_id}")

        add(live_store, wall_clock, CONNECT_BODY, 5, CONNECT)  # another pattern: never sent
        later = VariableValues((("2", 4),), other=0, distinct=1)
        block = replace(BLOCK, variables=(later, VariableValues((("blk_7", 4),), 0, 1)))
        add(live_store, wall_clock, "PacketResponder 2 for block blk_7 terminating", 4, block)
        expect(rows).to_have_count(2, timeout=EXPECT_MS)
        expect(rows.last.locator(".count")).to_have_text(f"{TIMES}4")
        rows.last.locator(".message").click()
        expect(details.locator(".only-pattern")).to_have_text("Showing only this pattern")
        expect(details.locator(".only-pattern")).to_be_disabled()
        page.keyboard.press("Escape")
        save_screenshot(page, "page-pattern-filtered")

        page.locator("#pattern-clear").click()
        expect(rows).to_have_count(5, timeout=EXPECT_MS)
        expect(chip).to_be_hidden()
        assert urlsplit(page.url).query == ""


def test_a_pattern_in_the_url_filters_and_clear_filters_drops_it(
    page: Any, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    add(live_store, wall_clock, CONNECT_BODY, 2000, CONNECT)
    add(live_store, wall_clock, BLOCK_BODY, 30, BLOCK)
    with serving(live_store, wall_clock) as server:
        open_page(page, server, f"/logs?pattern={CONNECT.hex_id.upper()}&severity=INFO")
        rows = page.locator("#entries .entry")
        expect(rows).to_have_count(1, timeout=EXPECT_MS)
        expect(rows.first).to_have_attribute("data-pattern", CONNECT.hex_id)
        chip = page.locator("#pattern-filter .pattern-filter-text")
        expect(chip).to_have_text(CONNECT.template)  # learned from the entry that arrived
        expect(chip.locator(".var")).to_have_count(4)
        page.reload()  # a shared link opens the same view
        expect(page.locator("#status")).to_have_text("LIVE", timeout=EXPECT_MS)
        expect(rows).to_have_count(1, timeout=EXPECT_MS)

        page.click("#clear")
        expect(rows).to_have_count(2, timeout=EXPECT_MS)
        expect(page.locator("#pattern-filter")).to_be_hidden()
        assert urlsplit(page.url).query == ""


def test_a_pattern_in_the_url_that_is_no_pattern_id_is_ignored_and_said(
    page: Any, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    add(live_store, wall_clock, CONNECT_BODY, 2000, CONNECT)
    add(live_store, wall_clock, "disk full", 3)
    with serving(live_store, wall_clock) as server:
        open_page(page, server, "/logs?pattern=not-a-pattern&q=i")
        expect(page.locator("#entries .entry")).to_have_count(2, timeout=EXPECT_MS)
        notice = page.locator("#notices .notice-url")
        expect(notice).to_contain_text("Ignored in the URL: pattern=“not-a-pattern” is not a")
        expect(page.locator("#pattern-filter")).to_be_hidden()
        assert query(page) == {"q": ["i"]}  # the rest of the view still applies
        notice.locator(".dismiss").click()
        expect(notice).to_have_count(0)


def test_hostile_templates_and_values_render_as_text(
    page: Any, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    hostile = PatternRef(
        0x7FFF_FFFF_FFFF_FFFF,
        f"{XSS} user <*> from <SCRIPT>",
        (
            VariableValues(((XSS, 2), ("<script>alert(1)</script>", 1)), other=0, distinct=2),
            VariableValues((("\x1b[31mred", 3),), other=0, distinct=1),
        ),
    )
    add(live_store, wall_clock, f"{XSS} user {XSS} from x", 3, hostile)
    with serving(live_store, wall_clock) as server:
        open_page(page, server)
        row = pattern_row(page, hostile)
        expect(row.locator(".message")).to_have_text(hostile.template, timeout=EXPECT_MS)
        expect(row.locator(".var")).to_have_text(["<*>", "<SCRIPT>"])
        row.locator(".message").click()
        details = page.locator("#details")
        values = details.locator(".value")
        expect(values).to_have_text([XSS, "<script>alert(1)</script>", "\\x1b[31mred"])
        expect(details.locator(".full-message")).to_have_text(f"{XSS} user {XSS} from x")
        assert page.locator("#stream img, #stream script, #pattern-filter img").count() == 0
        details.get_by_role("button", name="Only this pattern").click()
        chip = page.locator("#pattern-filter .pattern-filter-text")
        expect(chip).to_have_text(hostile.template, timeout=EXPECT_MS)
        assert page.locator("img").count() == 0
        assert page.evaluate("window.pwned") is None
