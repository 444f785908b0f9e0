"""Click-to-filter in headless Chromium, on a desktop and a phone, light and dark: "+" and "-"
beside any value in an entry's details (service, severity, resource and record attributes,
pattern) keep or hide the entries with it, as removable chips kept in the URL and sent to the
server as terms of the search query, so entries they hide are never sent."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.model import PatternRef
from gateway.store import Store
from tests.live_viewer import FixedClock, save_screenshot, serving
from tests.viewer.page_kit import (
    EXPECT_MS,
    PHONE,
    SCREENS,
    add,
    assert_accessible,
    open_page,
    screen,
)

pytestmark = pytest.mark.browser

WEB_3 = {"host.name": "web-3", "deployment.environment": "prod"}
WEB_4 = {"host.name": "web-4", "deployment.environment": "prod"}
SLOW = PatternRef(0x0123456789ABCDEF, "slow request <NUM> ms")


def chips(page: Any) -> list[str]:
    return list(page.locator("#chips .chip-text").all_text_contents())


def messages(page: Any) -> list[str]:
    return list(page.locator("#entries .entry .message").all_text_contents())


def pick(page: Any, field: str, sign: str) -> None:
    """The + or - of `field` in the open details."""
    kind = "include" if sign == "+" else "exclude"
    page.locator(f"#details tr[data-field='{field}'] .pick.{kind}").first.click()


def show_filters(page: Any, viewport: dict[str, int]) -> None:
    if viewport == PHONE and page.locator("#menu").get_attribute("aria-expanded") != "true":
        page.locator("#menu").click()


@pytest.mark.parametrize(("viewport", "scheme"), SCREENS)
def test_values_in_the_details_become_chips_that_filter_on_the_server(
    viewport: dict[str, int], scheme: str, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    add(
        live_store,
        wall_clock,
        "GET /cart 200",
        resource=WEB_3,
        attributes={"http": {"status_code": 200}},
    )
    add(
        live_store,
        wall_clock,
        "GET /pay 503",
        band="ERROR",
        resource=WEB_4,
        attributes={"http": {"status_code": 503}},
    )
    add(live_store, wall_clock, "disk slow", band="WARN", service="storage", resource=WEB_3)
    with serving(live_store, wall_clock) as server, screen(viewport, scheme) as page:
        open_page(page, server)
        expect(page.locator("#rows")).to_have_text("3", timeout=EXPECT_MS)

        # Only host.name web-3 (a resource attribute).
        page.locator("#entries .entry", has_text="GET /cart 200").click()
        details = page.locator("#details")
        expect(details.locator(".resource tr[data-field='host.name'] .field-value")).to_have_text(
            "web-3"
        )
        assert_accessible(page, f"the details with filter buttons ({scheme})")
        pick(page, "host.name", "+")
        expect(details).to_be_hidden()  # another view was asked for: following again
        expect(page.locator("#status")).to_have_text("LIVE")
        expect(page.locator("#entries .entry")).to_have_count(2, timeout=EXPECT_MS)
        assert messages(page) == ["GET /cart 200", "disk slow"]
        assert parse_qs(urlsplit(page.url).query) == {"f": ["host.name:web-3"]}
        show_filters(page, viewport)
        assert chips(page) == ["host.name: web-3"]

        # Hide service storage: a second chip, the two together.
        page.locator("#entries .entry", has_text="disk slow").click()
        pick(page, "service", "-")
        expect(page.locator("#entries .entry")).to_have_count(1, timeout=EXPECT_MS)
        assert parse_qs(urlsplit(page.url).query) == {"f": ["host.name:web-3", "-service:storage"]}
        show_filters(page, viewport)
        assert chips(page) == ["host.name: web-3", "not service: storage"]
        expect(page.locator("#notices .notice-filter")).to_contain_text("not service storage")
        assert_accessible(page, f"the chips ({scheme})")
        save_screenshot(page, f"page-chips-{viewport['width']}-{scheme}")

        # The server applies them: what they hide is never sent.
        add(live_store, wall_clock, "from web-4", resource=WEB_4)
        add(live_store, wall_clock, "from storage", service="storage", resource=WEB_3)
        add(live_store, wall_clock, "from web-3", resource=WEB_3)
        expect(page.locator("#entries .entry").last.locator(".message")).to_have_text(
            "from web-3", timeout=EXPECT_MS
        )
        assert messages(page) == ["GET /cart 200", "from web-3"]

        # A shared link opens the same view; removing a chip widens it again.
        page.reload()
        expect(page.locator("#status")).to_have_text("LIVE", timeout=EXPECT_MS)
        expect(page.locator("#entries .entry")).to_have_count(2, timeout=EXPECT_MS)
        show_filters(page, viewport)
        page.get_by_role("button", name="Remove the filter host.name: web-3").click()
        expect(page.locator("#entries .entry")).to_have_count(4, timeout=EXPECT_MS)
        assert parse_qs(urlsplit(page.url).query) == {"f": ["-service:storage"]}
        assert chips(page) == ["not service: storage"]


def test_severity_attribute_and_pattern_values_filter_too(
    live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    add(
        live_store,
        wall_clock,
        "GET /pay 503",
        band="ERROR",
        attributes={"http": {"status_code": 503}},
    )
    add(live_store, wall_clock, "GET /cart 200", attributes={"http": {"status_code": 200}})
    add(live_store, wall_clock, "slow request 950 ms", band="WARN", pattern=SLOW)
    with serving(live_store, wall_clock) as server, screen(PHONE, "light") as page:
        open_page(page, server)
        expect(page.locator("#rows")).to_have_text("3", timeout=EXPECT_MS)
        page.locator("#entries .entry", has_text="GET /pay 503").click()
        # A record attribute by its dotted key, kept flat (not a tree of http > status_code).
        row = page.locator("#details .attributes tr[data-field='http.status_code']")
        expect(row.locator(".field-value")).to_have_text("503")
        pick(page, "http.status_code", "-")
        expect(page.locator("#entries .entry")).to_have_count(2, timeout=EXPECT_MS)
        page.locator("#entries .entry", has_text="slow request").click()
        pick(page, "severity", "+")
        expect(page.locator("#entries .entry")).to_have_count(1, timeout=EXPECT_MS)
        assert parse_qs(urlsplit(page.url).query) == {
            "f": ["-http.status_code:503", "severity:WARN"]
        }
        page.locator("#entries .entry").click()
        pick(page, "pattern", "-")  # hiding a pattern: a chip like the others
        expect(page.locator("#entries .entry")).to_have_count(0, timeout=EXPECT_MS)
        expect(page.locator("#empty")).to_contain_text("No entries match (3 in the window)")
        page.locator("#menu").click()
        page.locator("#clear").click()
        expect(page.locator("#entries .entry")).to_have_count(3, timeout=EXPECT_MS)
        assert urlsplit(page.url).query == ""
        assert chips(page) == []
