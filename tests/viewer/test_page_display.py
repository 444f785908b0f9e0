"""How the live page shows entries, in headless Chromium on a desktop and a phone, light and
dark: one line per entry or wrapped, JSON bodies indented, ANSI colours styled, dotted
attribute keys kept flat, a dark theme that follows the system with a toggle, times to the
millisecond with the date when not today, and the trace id linked when viewer.trace_url is
set (the setting itself is checked here too)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.config.settings import ViewerConfig
from gateway.store import Store
from tests.live_viewer import FixedClock, save_screenshot, serving
from tests.viewer.page_kit import (
    EXPECT_MS,
    NS,
    SCREENS,
    add,
    assert_accessible,
    box,
    open_page,
    screen,
)

pytestmark = pytest.mark.browser

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACE_URL = "https://tempo.example/trace/{trace_id}?from=logsieve"
STACK = "Traceback (most recent call last):\n" + "".join(
    f'  File "/srv/app/module_{i}.py", line {i}, in handler_{i}\n' for i in range(12)
)
JSON_BODY = '{"order": 42, "items": [1, 2], "paid": false, "note": null}'
DARK_BG = "rgb(13, 17, 23)"
LIGHT_BG = "rgb(246, 248, 250)"


def background(page: Any) -> str:
    return str(page.evaluate("() => getComputedStyle(document.body).backgroundColor"))


def row(page: Any, text: str) -> Any:
    return page.locator("#entries .entry", has_text=text)


@pytest.mark.parametrize(("viewport", "scheme"), SCREENS)
def test_rows_details_and_theme_show_log_text_as_it_reads(
    viewport: dict[str, int], scheme: str, live_store: Store, wall_clock: FixedClock
) -> None:
    from playwright.sync_api import expect

    yesterday = wall_clock.now - 26 * 3600 * NS
    add(live_store, wall_clock, "an old one", first_seen=yesterday, last_seen=yesterday)
    add(live_store, wall_clock, STACK, band="ERROR", trace_id=TRACE)
    add(
        live_store,
        wall_clock,
        JSON_BODY,
        attributes={"http": {"status_code": 503, "method": "GET"}},
    )
    add(live_store, wall_clock, "\x1b[1;31mFAILED\x1b[0m tests/test_x.py", band="WARN")
    with (
        serving(live_store, wall_clock, trace_url=TRACE_URL) as server,
        screen(viewport, scheme) as page,
    ):
        open_page(page, server)
        expect(page.locator("#rows")).to_have_text("4", timeout=EXPECT_MS)
        assert background(page) == (DARK_BG if scheme == "dark" else LIGHT_BG)  # the system's

        # Times to the millisecond; the date only on the entry that is not from today.
        times = page.locator("#entries .entry .time").all_text_contents()
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", times[0]), times
        assert all(re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3}", t) for t in times[1:]), times

        # One line per entry by default: a stack trace takes one row like the rest.
        heights = {box(page, f"#entries .entry >> nth={i}")["height"] for i in range(4)}
        assert len(heights) == 1, heights
        expect(row(page, "FAILED").locator(".message .ansi-red.ansi-bold")).to_have_text("FAILED")
        assert_accessible(page, f"one-line rows ({scheme})")
        page.locator("#log").focus()
        page.keyboard.press("w")
        expect(page.locator("#wrap")).to_have_attribute("aria-pressed", "true")
        stack_row = row(page, "Traceback")
        expect(stack_row).not_to_have_css("height", f"{heights.pop()}px")
        assert box(page, "#entries .entry >> nth=1")["height"] > 10 * 15  # every line shown

        # Details: the JSON indented, attribute keys flat, the trace id linked.
        row(page, "order").click()
        details = page.locator("#details")
        body = details.locator(".full-message")
        expect(body).to_have_class(re.compile(r"\bjson\b"))
        expect(body).to_contain_text('  "order": 42,\n')
        expect(body.locator(".json-key").first).to_have_text('"order"')
        names = details.locator(".attributes th").all_text_contents()
        assert names == ["http.method", "http.status_code"]
        expect(
            details.locator(".attributes tr[data-field='http.status_code'] td").first
        ).to_have_text("503")
        assert_accessible(page, f"a JSON entry's details ({scheme})")
        page.keyboard.press("ArrowUp")
        link = details.locator(".trace-id a")
        expect(link).to_have_attribute("href", f"https://tempo.example/trace/{TRACE}?from=logsieve")
        expect(link).to_have_attribute("rel", "noopener noreferrer")
        expect(details.locator(".full-message")).to_contain_text('  File "/srv/app/module_11.py"')
        save_screenshot(page, f"page-display-{viewport['width']}-{scheme}")

        # The theme: a toggle over the system's, kept through a reload.
        page.keyboard.press("Escape")
        if viewport["width"] < 700:
            page.locator("#menu").click()
        theme = page.locator("#theme")
        expect(theme).to_have_text(f"Theme: system ({scheme})")
        other = "light" if scheme == "dark" else "dark"
        while theme.text_content() != f"Theme: {other}":
            theme.click()
        assert background(page) == (LIGHT_BG if other == "light" else DARK_BG)
        assert_accessible(page, f"the {other} theme chosen over the system's {scheme}")
        page.reload()
        expect(page.locator("#status")).to_have_text("LIVE", timeout=EXPECT_MS)
        assert background(page) == (LIGHT_BG if other == "light" else DARK_BG)
        expect(page.locator("#wrap")).to_have_attribute("aria-pressed", "true")  # kept too


def test_no_trace_link_without_the_setting_or_for_a_trace_id_that_is_not_one(
    live_store: Store,
) -> None:
    from playwright.sync_api import expect

    clock = FixedClock(time.time_ns())
    add(live_store, clock, "linked nowhere", trace_id=TRACE)
    add(live_store, clock, "not an id", trace_id="javascript:alert(1)")
    with (
        serving(live_store, clock) as server,
        screen({"width": 1400, "height": 900}, "light") as page,
    ):
        open_page(page, server)
        row(page, "linked nowhere").click()
        expect(page.locator("#details .trace-id")).to_have_text(TRACE)
        expect(page.locator("#details .trace-id a")).to_have_count(0)
    with (
        serving(live_store, clock, trace_url=TRACE_URL) as server,
        screen({"width": 1400, "height": 900}, "light") as page,
    ):
        open_page(page, server)
        row(page, "not an id").click()
        expect(page.locator("#details .trace-id")).to_have_text("javascript:alert(1)")
        expect(page.locator("#details a")).to_have_count(0)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://tempo.example/trace/", "must contain {trace_id}"),
        ("javascript:alert(1)//{trace_id}", "must start with http:// or https://"),
        ("https://tempo.example/{trace_id}\n", "control character"),
    ],
)
def test_trace_url_must_be_a_web_address_with_the_placeholder(url: str, why: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(why)):
        ViewerConfig(trace_url=url)
    assert ViewerConfig(trace_url=TRACE_URL).trace_url == TRACE_URL
