"""For the live page's tests in Chromium: the screens they run on (a desktop and a phone, light
and dark), one page walked through them, opening the page, reading the rows a windowed list
holds, adding entries, and axe-core's verdict."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from gateway.model import Entry
from gateway.store import Store
from testkit import axe
from tests.live_viewer import FixedClock, unavailable, watched_page
from viewer.server import ViewerServer

NS = 1_000_000_000
EXPECT_MS = 10_000  # Playwright's auto-wait ceiling for each assertion
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
# Each screen the page is checked on: (viewport, colour scheme).
EVERY_SCREEN = [(DESKTOP, "light"), (DESKTOP, "dark"), (PHONE, "light"), (PHONE, "dark")]


def screen_name(viewport: dict[str, int], scheme: str) -> str:
    return f"{'phone' if viewport == PHONE else 'desktop'}-{scheme}"


# For a test run once on each screen (a page and a server each).
SCREENS = [pytest.param(v, s, id=screen_name(v, s)) for v, s in EVERY_SCREEN]
DARK_JS = "() => matchMedia('(prefers-color-scheme: dark)').matches"
BANDS = {"TRACE": 1, "DEBUG": 5, "INFO": 9, "WARN": 13, "ERROR": 17, "FATAL": 21}


@contextmanager
def screen(viewport: dict[str, int], scheme: str, **options: Any) -> Iterator[Any]:
    """A watched Chromium page of that size, its system in that colour scheme."""
    with watched_page(viewport=viewport, color_scheme=scheme, **options) as page:
        yield page


def add(store: Store, clock: FixedClock, *bodies: str, band: str = "INFO", **fields: Any) -> None:
    """Entries for the live table, one per body, of `band`, first seen a second ago."""
    values: dict[str, Any] = {
        "severity_number": BANDS[band],
        "severity": band,
        "service": "checkout",
        "count": 1,
        "first_seen": clock.now - NS,
        "last_seen": clock.now,
    }
    values.update(fields)
    store.add_recent([(Entry(body=body, **values), clock.now + 3600 * NS) for body in bodies])


def open_page(page: Any, server: ViewerServer, path: str = "/logs") -> None:
    from playwright.sync_api import expect

    page.goto(server.url + path)
    expect(page.locator("#status")).to_have_text("LIVE", timeout=EXPECT_MS)


def in_list(page: Any) -> int:
    """The entries the page holds (its "N in list"), rendered or not."""
    return int(page.locator("#rows").text_content().replace(",", ""))


# Scrolls the list from top to bottom, a screen at a time, reading each rendered row once;
# each step waits a frame, so the windowed list has rendered the rows now in view.
READ_ALL_JS = """async () => {
  const log = document.getElementById("log");
  const frame = () => new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
  const seen = new Map();
  const read = () => {
    for (const row of document.querySelectorAll("#entries .entry")) {
      const message = row.querySelector(".message");
      seen.set(row.dataset.id, message ? message.textContent : "");
    }
  };
  log.scrollTop = 0;
  await frame();
  for (;;) {
    read();
    if (log.scrollTop + log.clientHeight >= log.scrollHeight - 1) break;
    log.scrollTop += log.clientHeight;
    await frame();
  }
  return Array.from(seen.entries()).sort((a, b) => Number(a[0]) - Number(b[0])).map((e) => e[1]);
}"""


def loaded_messages(page: Any) -> list[str]:
    """Every message the list holds, oldest first, read by scrolling through it (only the
    rows in view are in the DOM). Scrolling up pauses the page; reaching the bottom resumes."""
    messages: list[str] = page.evaluate(READ_ALL_JS)
    return messages


def assert_accessible(page: Any, where: str) -> None:
    """axe-core finds nothing on the page as it is now."""
    try:
        found = axe.violations(page)
    except axe.AxeMissing as exc:
        unavailable(str(exc))
        return
    assert found == [], f"axe-core on {where}:\n" + json.dumps(found, indent=1)


def box(page: Any, selector: str) -> dict[str, float]:
    found: dict[str, float] | None = page.locator(selector).bounding_box()
    assert found is not None, f"{selector} is not on screen"
    return found


def show_on(page: Any, viewport: dict[str, int], scheme: str) -> None:
    """The open page moved to another screen: resized, its system switched to `scheme`. The
    layout follows CSS media queries, the list measures its rows again on a resize, and the
    theme follows the system's change event, so this is the page as it would be there, without
    a second page and server. Returns once the page has drawn a frame on the new screen."""
    page.set_viewport_size(viewport)
    page.emulate_media(color_scheme=scheme)
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)))")


def show_filters(page: Any) -> None:
    """On a phone, the Filters fold open (it hides the search box and filters there)."""
    menu = page.locator("#menu")
    if menu.is_visible() and menu.get_attribute("aria-expanded") != "true":
        menu.click()


def on_every_screen(
    page: Any, where: str, check: Callable[[dict[str, int], str], None] | None = None
) -> None:
    """The page as it is now, moved to each screen in turn (desktop and phone, light and dark):
    `check(viewport, scheme)` holds there and axe-core finds nothing. One page walks the four
    screens for a state, where opening a page and a server on each would cost seconds; it ends
    back on the screen it was on."""
    was = (page.viewport_size, "dark" if page.evaluate(DARK_JS) else "light")
    for viewport, scheme in EVERY_SCREEN:
        show_on(page, viewport, scheme)
        if check is not None:
            check(viewport, scheme)
        assert_accessible(page, f"{where} ({screen_name(viewport, scheme)})")
    show_on(page, *was)
