"""The live view under many pages: insert-to-display latency, and database queries per second.

The real viewer (LiveFeed + ViewerServer on a SQLite store) serves N real `/logs` pages in
headless Chromium, driven by Playwright, while entries are inserted at a steady rate. Each
entry's body carries its insert wall-clock time; a MutationObserver installed in every page
(through `page.evaluate`, which the page's CSP does not govern) notes when each new row is
painted: requestAnimationFrame runs just before the next frame, and a 0 ms timeout queued
from it runs once that frame is done. Latency = that moment minus the insert time, over all
(page, entry) pairs; an entry a page never shows is counted as missing.

Queries: every public method of the Store is counted from before the viewer starts, so a
query the viewer adds later is counted without touching this file; the bench's own inserts
(`add_recent`) are subtracted. One poller serves every page, so queries must not grow with
pages.

Background pages: the pages are tabs of one browser context (a context per page takes about
four times as long to open). Headless Chromium gives each tab its own window: every one is
"visible" and has focus, and Playwright already passes --disable-renderer-backgrounding,
--disable-background-timer-throttling and --disable-backgrounding-occluded-windows. Even so,
once the pages repaint (the viewer's rate line does, every second), every tab but the newest
gets only 1-2 requestAnimationFrame callbacks a second (Chromium 156, software compositing),
which alone puts seconds on the display latency. --disable-frame-rate-limit lifts that: every
tab then runs at about 60 frames/s. Each run checks `document.visibilityState` in every page
and reports the lowest frame rate just before the window, so a regression shows in the table.

Caveat: 50 Chromium pages painting 50 entries/s need more than 2 cores (about 0.06 of a core
per page), so on a small machine the browser, not the viewer, sets the 50-page latency, and
the poller itself is slowed. The machine's busy cores during the window are reported with
the result to tell the two apart.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import os
import re
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import websocket
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from bench.pagebench import baseline_page, running_viewer
from bench.procs import cpu_ticks
from gateway.clock import SystemClock
from gateway.model import Entry
from gateway.store import Store
from testkit.chromium import CHROMIUM_ARGS, chromium

HOUR_NS = 3600 * 10**9
INSERT_CALL = "add_recent"  # the bench's own writes: not the viewer's queries
# Headless Chromium paints every tab but the newest at 1-2 frames/s once the tabs repaint;
# this lifts it (see the module docstring).
BROWSER_ARGS = [*CHROMIUM_ARGS, "--disable-frame-rate-limit"]
LIVE = re.compile(r"^LIVE\b")
CONNECT_TIMEOUT_MS = 30_000  # 50 pages on 2 cores load and connect in well under this
DRAIN_TIMEOUT_S = 10.0  # after the last insert, how long the pages get to show it
FRAME_PROBE_S = 0.5

# Installed in each page: notes, per bench entry, the time from insert to the paint showing it.
OBSERVER_JS = """() => {
  const state = { latencies: [], seen: new Set() };
  const pattern = /^entry (\\d+) t=([0-9.]+)$/;
  const list = document.getElementById("entries");
  new MutationObserver((records) => {
    const fresh = [];
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (!(node instanceof Element) || !node.matches("li.entry")) continue;
        const message = node.querySelector(".message");
        const match = pattern.exec(message ? message.textContent : "");
        // A resume or a fresh backfill may show an entry again: its first showing counts.
        if (!match || state.seen.has(match[1])) continue;
        state.seen.add(match[1]);
        fresh.push(Number(match[2]));
      }
    }
    if (!fresh.length) return;
    requestAnimationFrame(() => setTimeout(() => {
      const painted = performance.timeOrigin + performance.now(); // sub-ms, unlike Date.now()
      for (const sent of fresh) state.latencies.push(painted - sent);
    }, 0));
  }).observe(list, { childList: true });
  window.__viewerBench = state;
  return document.visibilityState;
}"""

# Counts requestAnimationFrame callbacks for FRAME_PROBE_S; the result is read afterwards.
FRAME_PROBE_JS = """(seconds) => {
  window.__viewerFrames = null;
  let frames = 0;
  const start = performance.now();
  const tick = () => {
    frames += 1;
    const elapsed = (performance.now() - start) / 1000;
    if (elapsed < seconds) requestAnimationFrame(tick);
    else window.__viewerFrames = frames / elapsed;
  };
  requestAnimationFrame(tick);
}"""


@dataclass(frozen=True, slots=True)
class ViewerResult:
    pages: int
    entries: int
    p50_ms: float
    p99_ms: float
    queries_per_s: float
    painted: int = 0  # how many of the pages are Chromium pages (the rest follow by websocket)
    missing: int = 0  # (page, entry) pairs never displayed
    per_second: int = 50  # insert rate
    queries: tuple[tuple[str, float], ...] = ()  # the viewer's calls a second, by Store method
    frame_rate: float = 0.0  # lowest requestAnimationFrame rate over the pages, before the run
    setup_s: float = 0.0  # opening the pages until each one is LIVE
    busy_cores: float | None = None  # the whole machine's, during the window (Linux only)
    cores: int = 0


class _QueryCounter:
    """Counts calls to the Store's public methods, by name, from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()

    def wrap(self, store: Store) -> None:
        for name in dir(store):
            # getattr_static: a property is skipped without being run.
            if name.startswith("_") or name == "dispose":
                continue
            if callable(inspect.getattr_static(store, name)):
                setattr(store, name, self._counted(name, getattr(store, name)))

    def _counted(self, name: str, original: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self._calls[name] += 1
            return original(*args, **kwargs)

        return counted

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return self._calls.copy()


@contextmanager
def _browser() -> Iterator[Any]:
    """One headless Chromium context: its tabs are the pages."""
    with chromium(BROWSER_ARGS) as browser:
        yield browser.new_context()


def _open_pages(context: Any, url: str, count: int) -> list[Any]:
    """`count` pages of the viewer, each LIVE and observing its list."""
    pages = [context.new_page() for _ in range(count)]
    for page in pages:
        page.goto(url, wait_until="commit")  # the rest loads in parallel with the others
    for page in pages:
        expect(page.locator("#status")).to_have_text(LIVE, timeout=CONNECT_TIMEOUT_MS)
    for index, page in enumerate(pages):
        visibility = page.evaluate(OBSERVER_JS)
        if visibility != "visible":  # a hidden page would not paint: its latency means nothing
            raise RuntimeError(f"page {index} is {visibility}, not visible")
    return pages


def _frame_rate(pages: list[Any]) -> float:
    """The lowest requestAnimationFrame rate, probed in all pages at once."""
    for page in pages:
        page.evaluate(FRAME_PROBE_JS, FRAME_PROBE_S)
    time.sleep(FRAME_PROBE_S)
    rates: list[float] = []
    for page in pages:
        page.wait_for_function("() => window.__viewerFrames !== null")
        rates.append(float(page.evaluate("() => window.__viewerFrames")))
    return min(rates)


def _busy_cores(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    if before is None or after is None or after[1] <= before[1]:
        return None
    share = (after[0] - before[0]) / (after[1] - before[1])
    return share * (os.cpu_count() or 1)


def _insert(store: Store, seconds: float, per_second: int) -> int:
    """Insert entries at a steady rate for `seconds`, each stamped with its insert time."""
    clock = SystemClock()
    count = int(seconds * per_second)
    began = time.monotonic()
    for i in range(count):
        body = f"entry {i} t={time.time() * 1000:.3f}"
        now_ns = clock.now_ns()
        store.add_recent([(Entry(body, 17, "ERROR", "bench", 1, now_ns, now_ns), now_ns + HOUR_NS)])
        time.sleep(max(0.0, began + (i + 1) / per_second - time.monotonic()))
    return count


def _await_display(pages: list[Any], count: int) -> None:
    """Wait, up to DRAIN_TIMEOUT_S in all, for every page to have painted every entry."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    done = "(n) => window.__viewerBench.latencies.length >= n"
    for page in pages:
        left_ms = max(1.0, (deadline - time.monotonic()) * 1000)
        try:
            page.wait_for_function(done, arg=count, timeout=left_ms)
        except PlaywrightTimeout:  # what is missing is counted from the latencies
            continue


def _latencies(pages: list[Any]) -> list[list[float]]:
    return [
        [float(ms) for ms in page.evaluate("() => window.__viewerBench.latencies")]
        for page in pages
    ]


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    """p50 and p99; zeros when too few entries were shown to tell."""
    if len(latencies) < 2:
        return 0.0, 0.0
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49], cuts[98]


def _viewer_calls(before: Counter[str], after: Counter[str], inserts: int) -> Counter[str]:
    """The calls made between two snapshots, less the bench's own `inserts`."""
    calls = after - before
    calls[INSERT_CALL] -= inserts
    return +calls  # drops the names left at zero


class StreamFollower(threading.Thread):
    """A page without a browser: a websocket client following the live stream as a page's
    socket does, noting when each entry (by body) first arrived. 50 of them stand for 50
    pages without 50 browsers painting on 2 cores."""

    def __init__(self, stream_url: str, subscribe: str = '{"after": "0"}') -> None:
        super().__init__(daemon=True)
        self.socket = websocket.create_connection(stream_url, timeout=120)
        self.socket.send(subscribe)
        self.arrived: dict[str, float] = {}  # body -> time.time() of its first arrival

    def run(self) -> None:
        with contextlib.suppress(Exception):  # ends when the socket is closed
            while True:
                frame = json.loads(self.socket.recv())
                now = time.time()
                for entry in frame.get("entries", {}).get("entries", []):
                    self.arrived.setdefault(entry.get("body", ""), now)


def run_viewer(
    pages: int,
    seconds: float = 8.0,
    per_second: int = 50,
    *,
    followers: int = 0,
    page_folder: Path | None = None,
) -> ViewerResult:
    """`pages` Chromium pages measured to display, beside `followers` websocket followers;
    the page served from `page_folder` when given (the page before issue 17)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per page
    counter = _QueryCounter()
    with (
        tempfile.TemporaryDirectory(prefix="logsieve-viewer-bench-") as folder,
        running_viewer(Path(folder), page_folder, prepare=counter.wrap) as (url, store),
        _browser() as context,
    ):
        opened = time.monotonic()
        open_pages = _open_pages(context, url, pages)
        stream = url.replace("http://", "ws://", 1).replace("/logs", "/logs/stream", 1)
        followed = [StreamFollower(stream) for _ in range(followers)]
        for follower in followed:
            follower.start()
        setup_s = time.monotonic() - opened
        frame_rate = _frame_rate(open_pages)
        before, ticks, began = counter.snapshot(), cpu_ticks(), time.monotonic()
        inserted = _insert(store, seconds, per_second)
        calls = _viewer_calls(before, counter.snapshot(), inserted)
        window, busy = time.monotonic() - began, _busy_cores(ticks, cpu_ticks())
        _await_display(open_pages, inserted)
        shown = _latencies(open_pages)
        for follower in followed:
            follower.socket.close()
    unheard = sum(max(0, inserted - len(follower.arrived)) for follower in followed)
    p50, p99 = _percentiles([ms for page in shown for ms in page])
    return ViewerResult(
        pages=pages + followers,
        painted=pages,
        entries=inserted,
        p50_ms=p50,
        p99_ms=p99,
        queries_per_s=sum(calls.values()) / window,
        missing=sum(max(0, inserted - len(page)) for page in shown) + unheard,
        per_second=per_second,
        queries=tuple((name, n / window) for name, n in sorted(calls.items())),
        frame_rate=frame_rate,
        setup_s=setup_s,
        busy_cores=busy,
        cores=os.cpu_count() or 1,
    )


def run_viewer_before() -> ViewerResult | str:
    """run_viewer(1) on the page before issue 17 (bench/pagebench.BASELINE), for row 7 to
    compare today's insert-to-paint with in the same run; a skip note without git history."""
    with baseline_page() as (before, note):
        if before is None:
            return f"skipped: {note}"
        return run_viewer(1, page_folder=before)
