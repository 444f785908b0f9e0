"""The live page against hostile log text and hostile sites, in headless Chromium: an XSS corpus
in messages, attributes and service names renders as text with zero dialogs; ANSI colours show
as styled text, other control characters escaped; a foreign Origin cannot open the stream; the
token guards the page."""

from __future__ import annotations

import time
from typing import Any

import pytest

from gateway.model import Entry
from gateway.store import Store
from tests.live_viewer import FixedClock, save_screenshot, serving, watched_page

pytestmark = pytest.mark.browser

NS = 1_000_000_000
EXPECT_MS = 10_000  # Playwright's auto-wait ceiling for each assertion
PWN = "window.pwned=1"
CORPUS = [
    "<script>alert('body')</script>",
    f"<img src=x onerror=\"alert('img');{PWN}\">",
    f'"><svg onload="alert(\'svg\');{PWN}"><circle/></svg>',
    "</script><script>alert('json')</script>",
    "javascript:alert('link')",
    "<a href=\"javascript:alert('a')\">click me</a>",
    f'<iframe srcdoc="<script>parent.{PWN}</script>"></iframe>',
    "{{7*7}} ${alert('template')}",
]
HOSTILE_SERVICE = "<svg/onload=alert('service')>"
HOSTILE_ATTRIBUTES = {
    "payload": "</script><script>alert('attribute')</script>",
    "link": "javascript:alert('attribute-link')",
    "html": f"<img src=x onerror={PWN}>",
}
TOKEN = "a-long-enough-viewer-token"


def hostile(body: str, wall_clock: FixedClock) -> tuple[Entry, int]:
    entry = Entry(
        body,
        17,
        "ERROR",
        HOSTILE_SERVICE,
        3,
        wall_clock.now,
        wall_clock.now,
        dict(HOSTILE_ATTRIBUTES),
    )
    return entry, wall_clock.now + 3600 * NS


def test_an_xss_corpus_renders_as_text_with_no_dialog(
    page: Any, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    live_store.add_recent([hostile(body, wall_clock) for body in CORPUS])
    with serving(live_store, wall_clock) as server:
        page.goto(server.url + "/logs")
        rows = page.locator("#entries .entry")
        expect(rows).to_have_count(len(CORPUS), timeout=EXPECT_MS)
        details = page.locator("#details")
        for body, row in zip(CORPUS, rows.all(), strict=True):
            row.locator(".message").click()  # its details: attributes are rendered too
            expect(details.locator(".full-message")).to_have_text(body)
            expect(details.locator(".service-value")).to_have_text(HOSTILE_SERVICE)
            attributes = details.locator(".attributes").text_content()
            assert "</script><script>alert('attribute')</script>" in attributes
            assert details.locator("script, img, svg:not(.sparkline), iframe").count() == 0
        page.keyboard.press("Escape")
        assert page.locator("#entries .message").all_text_contents() == CORPUS
        assert set(page.locator("#entries .service").all_text_contents()) == {HOSTILE_SERVICE}
        page.select_option("#service", HOSTILE_SERVICE)  # the service list, too, is text
        expect(rows).to_have_count(len(CORPUS), timeout=EXPECT_MS)
        elements = "#entries script, #entries img, #entries svg, #entries a, #entries iframe"
        assert page.locator(elements).count() == 0
        assert page.locator("#service script, #service svg").count() == 0
        assert page.evaluate("window.pwned") is None
        save_screenshot(page, "page-xss-corpus")


def test_ansi_colours_are_styled_and_other_control_characters_shown_escaped(
    page: Any, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    body = "\x1b[31mred alert\x1b[0m\rover\x08written \u202egnp.exe"
    entry = Entry(body, 9, "INFO", "tty\x1b[2J", 1, wall_clock.now, wall_clock.now)
    live_store.add_recent([(entry, wall_clock.now + 3600 * NS)])
    with serving(live_store, wall_clock) as server:
        page.goto(server.url + "/logs")
        message = page.locator("#entries .message")
        # The colour is styled text, not an escape; \r, \b and the bidi override stay visible.
        expect(message).to_have_text(
            "red alert\\x0dover\\x08written \\u202egnp.exe", timeout=EXPECT_MS
        )
        expect(message.locator(".ansi-red")).to_have_text("red alert")
        expect(page.locator("#entries .service")).to_have_text("tty\\x1b[2J")
        page.locator("#entries .entry").click()
        expect(page.locator("#details .full-message .ansi-red")).to_have_text("red alert")
        assert "\x1b" not in page.locator("#stream").inner_text()


def test_a_page_of_another_origin_cannot_open_the_stream(live_store: Store) -> None:
    from playwright.sync_api import expect

    # The page's own CSP (connect-src 'self') would stop the attempt in the browser; a
    # hostile site has no such CSP, so this page bypasses it and the server must refuse.
    with (
        serving(live_store, FixedClock(time.time_ns())) as server,
        watched_page(bypass_csp=True) as page,
    ):
        # The same server by another name is another origin to the browser.
        page.goto(f"http://localhost:{server.port}/logs")
        expect(page.locator("#status")).to_have_text("LIVE", timeout=EXPECT_MS)
        outcome = page.evaluate(
            """(url) => new Promise((resolve) => {
                const socket = new WebSocket(url);
                socket.onopen = () => resolve("opened");
                socket.onclose = (event) => resolve("closed " + event.code);
                setTimeout(() => resolve("no answer"), 5000);
            })""",
            f"ws://127.0.0.1:{server.port}/logs/stream",
        )
        assert outcome == "closed 1006"  # the handshake got 403: no socket at all


def test_with_a_token_the_page_asks_for_it_once_and_then_streams(
    page: Any, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    live_store.add_recent(
        [
            (
                Entry("behind the token", 9, "INFO", "api", 1, wall_clock.now, wall_clock.now),
                wall_clock.now + 3600 * NS,
            )
        ]
    )
    with serving(live_store, wall_clock, auth_token=TOKEN) as server:
        page.goto(server.url + "/logs?q=token")
        expect(page.locator("#token")).to_be_visible(timeout=EXPECT_MS)
        page.fill("#token", "not-the-right-token-at-all")
        page.click("button[type=submit]")
        expect(page.locator("#login-error")).to_have_text("That token is not right.")
        page.fill("#token", TOKEN)
        page.click("button[type=submit]")
        expect(page.locator("#status")).to_have_text("LIVE", timeout=EXPECT_MS)
        assert page.url == server.url + "/logs?q=token"  # the token is in no URL
        expect(page.locator("#entries .message")).to_have_text("behind the token")
        cookie = page.context.cookies()[0]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert TOKEN not in cookie["value"]
