"""The live page's own speed, today's page against the page before issue 17, in one run.

Both pages are served by today's viewer (the stream is the same protocol): the older page's
files (viewer/static, viewer/templates) come from BASELINE, the last commit before the
windowed list, exported with `git archive` into a temporary folder that the app serves
instead of its own. So the comparison needs the repository's history (a clone, not a
tarball); without it the older page's figures are skipped and said so.

For each page and list size, a fresh viewer and one headless Chromium page, timed from
inside (testkit/page_timing): the list filled live a thousand entries at a time, then
STEADY_BATCHES batches of BATCH entries (150 a second at the feed's pace), each batch's
message timed from the handler to the end of the frame after it (the append's cost to the
main thread), with every long task (over 50 ms) noted; then one keystroke in the search box,
timed to the paint of the changed list, then two more ("b", "e", "t": the first keeps a tenth
of the entries, the others the same rows marked anew). The older page keeps 2,000 entries, so
it has no 20,000 row.

Then each page through viewer restarts (RECONNECT_RUNS of them, one page each): the viewer
stops, stays down OUTAGE_S (long enough for a page that backs off 0.5, 1, 2, 4 s... to wait
seconds for its next try), and comes back on the same port; timed from the restarted viewer
serving to the page's pill saying LIVE (the page's Date.now() when it turns, against the
bench's wall clock when the viewer serves again: one machine, one clock).
"""

from __future__ import annotations

import logging
import statistics
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from flask import Flask
from jinja2 import FileSystemLoader
from playwright.sync_api import expect

from gateway.clock import SystemClock
from gateway.model import Entry
from gateway.store import Store
from testkit import page_timing
from testkit.chromium import chromium
from testkit.viewer import feed_and_server
from viewer.app import ViewerSettings, create_app
from viewer.feed import LiveFeed
from viewer.server import ViewerServer

BASELINE = "312cd16909e904506363018e2c3c3b510535945b"  # the page before the windowed list
REPO = Path(__file__).resolve().parents[1]
HOUR_NS = 3600 * 10**9
SIZES = (2_000, 20_000)
OLD_CAP = 2_000  # the older page keeps this many entries
CHUNK = 1_000
BATCH = 15
STEADY_BATCHES = 30
FILL_TIMEOUT_MS = 120_000
VIEWPORT = {"width": 1400, "height": 900}
RECONNECT_RUNS = 2  # each costs OUTAGE_S and more, and the default run must stay under 10 min
# Down this long, a page that backs off 0.5, 1, 2, 4, 8 s has tried 4 times and waits 4-8 s
# for its fifth try; today's page tries every 0.5-1 s however long it was down.
OUTAGE_S = 8.0
RECONNECT_TIMEOUT_MS = 60_000  # the page before may wait 8 s and more between tries
# Notes in window.__liveAt the page's Date.now() when its pill next says LIVE.
LIVE_AT_JS = """() => {
  if (window.__liveWatch) window.__liveWatch.disconnect();
  window.__liveAt = null;
  const pill = document.getElementById("status");
  const seen = () => {
    const live = pill.textContent.startsWith("LIVE");
    if (live && window.__liveAt === null) window.__liveAt = Date.now();
  };
  window.__liveWatch = new MutationObserver(seen);
  window.__liveWatch.observe(pill, { childList: true, characterData: true, subtree: true });
}"""


@dataclass(frozen=True, slots=True)
class PageSpeed:
    page: str  # "today" or "before"
    entries: int
    append_median_ms: float
    append_p90_ms: float
    longest_task_ms: float
    long_tasks: int  # tasks over 50 ms while appending
    keystroke_ms: float  # the first keystroke (the search's code still cold)
    keystroke_median_ms: float  # of three keystrokes typed in turn


@dataclass(frozen=True, slots=True)
class Reconnect:
    page: str  # "today" or "before"
    live_after_ready_ms: tuple[float, ...]  # one per restart


@dataclass(frozen=True, slots=True)
class PageBenchResult:
    runs: tuple[PageSpeed, ...]
    baseline_note: str = ""  # why the older page was not measured ("" when it was)
    reconnects: tuple[Reconnect, ...] = ()

    def run(self, page: str, entries: int) -> PageSpeed | None:
        return next((r for r in self.runs if r.page == page and r.entries == entries), None)

    def reconnect(self, page: str) -> Reconnect | None:
        return next((r for r in self.reconnects if r.page == page), None)


def export_baseline(folder: Path, commit: str = BASELINE) -> Path:
    """The page files of `commit` under `folder` (viewer/static, viewer/templates);
    RuntimeError when git or the commit is not there."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", commit, "viewer/static", "viewer/templates"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeError(f"cannot export the page of {commit[:12]} with git: {exc}") from exc
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder / "viewer"


def serve_page_from(app: Flask, page_folder: Path) -> None:
    """`app` serves the page files under `page_folder` instead of its own (before any request)."""
    app.static_folder = str(page_folder / "static")
    app.template_folder = str(page_folder / "templates")
    app.jinja_loader = FileSystemLoader(str(page_folder / "templates"))


@contextmanager
def running_viewer(
    folder: Path,
    page_folder: Path | None = None,
    prepare: Callable[[Store], None] | None = None,
    poll_interval: float = 0.25,
) -> Iterator[tuple[str, Store]]:
    """A viewer's /logs URL over a fresh SQLite store, serving the page files under
    `page_folder` instead of its own when given; `prepare` sees the store before the feed and
    the app hold it (bench/viewerbench.py counts its calls)."""
    store = Store(f"sqlite:///{folder / 'page.db'}")
    store.create_schema()
    if prepare is not None:
        prepare(store)
    try:
        with serving(store, page_folder, poll_interval=poll_interval) as server:
            yield server.url + "/logs", store
    finally:
        store.dispose()


@contextmanager
def serving(
    store: Store, page_folder: Path | None, port: int = 0, poll_interval: float = 0.25
) -> Iterator[ViewerServer]:
    """A viewer and its feed over `store` on `port` (0: a free one), serving the page files
    under `page_folder` instead of its own when given; stopped after."""
    clock = SystemClock()
    feed = LiveFeed(store, clock, poll_interval=poll_interval)
    app = create_app(store, clock, feed, ViewerSettings(ttl_seconds=3600, sampling_summary=""))
    if page_folder is not None:
        serve_page_from(app, page_folder)
    with feed_and_server(feed, app, port) as server:
        yield server


def _body(i: int) -> str:
    return f"entry {i} kind={'beta' if i % 10 == 0 else 'alpha'} path=/cart/{i % 97}"


def _add(store: Store, first: int, last: int) -> None:
    now = time.time_ns()
    store.add_recent(
        [
            (Entry(_body(i), 9, "INFO", "bench", 1, now, now), now + HOUR_NS)
            for i in range(first, last)
        ]
    )


def _fill(page: Any, store: Store, entries: int, cap: int) -> None:
    for start in range(0, entries, CHUNK):
        end = min(entries, start + CHUNK)
        _add(store, start, end)
        shown = f"{min(end, cap):,}"
        expect(page.locator("#rows")).to_have_text(shown, timeout=FILL_TIMEOUT_MS)


def _steady(page: Any, store: Store, start: int) -> page_timing.AppendTiming:
    page_timing.reset(page)
    for batch in range(STEADY_BATCHES):
        first = start + batch * BATCH
        _add(store, first, first + BATCH)
        page.wait_for_function(
            "(n) => window.__pageTiming.messages.length >= n",
            arg=batch + 1,
            timeout=FILL_TIMEOUT_MS,
        )
    return page_timing.appends(page)


def measure(name: str, entries: int, page_folder: Path | None, browser: Any) -> PageSpeed:
    """One page (`name`) holding `entries`, timed as the module docstring says."""
    cap = OLD_CAP if page_folder is not None else entries
    with (
        tempfile.TemporaryDirectory(prefix="logsieve-page-bench-") as folder,
        running_viewer(Path(folder), page_folder, poll_interval=0.1) as (url, store),
    ):
        page = browser.new_page(viewport=VIEWPORT)
        try:
            page.add_init_script(page_timing.INSTRUMENT_JS)
            page.goto(url)
            expect(page.locator("#status")).to_have_text("LIVE", timeout=FILL_TIMEOUT_MS)
            _fill(page, store, entries, cap)
            timed = _steady(page, store, entries)
            keystrokes = page_timing.keystrokes(page, "bet")
        finally:
            page.close()
    return PageSpeed(
        page=name,
        entries=entries,
        append_median_ms=timed.median_ms,
        append_p90_ms=timed.p90_ms,
        longest_task_ms=timed.longest_ms,
        long_tasks=sum(1 for ms in timed.longtasks_ms if ms > 50),
        keystroke_ms=keystrokes[0],
        keystroke_median_ms=statistics.median(keystrokes),
    )


def measure_reconnects(name: str, page_folder: Path | None, browser: Any) -> Reconnect:
    """One page (`name`) through RECONNECT_RUNS viewer restarts, timed as the module says."""
    times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="logsieve-page-reconnect-") as folder:
        store = Store(f"sqlite:///{Path(folder) / 'page.db'}")
        store.create_schema()
        _add(store, 0, 10)
        page = browser.new_page(viewport=VIEWPORT)
        try:
            with serving(store, page_folder, poll_interval=0.1) as server:
                port = server.port  # where the viewer comes back
                page.goto(server.url + "/logs")
                _live(page)
            for _ in range(RECONNECT_RUNS):
                times.append(_down_then_back(page, store, page_folder, port))
        finally:
            page.close()
            store.dispose()
    return Reconnect(name, tuple(times))


def _live(page: Any) -> None:
    expect(page.locator("#status")).to_have_text("LIVE", timeout=RECONNECT_TIMEOUT_MS)


def _down_then_back(page: Any, store: Store, page_folder: Path | None, port: int) -> float:
    """With the viewer stopped: the page notices, the viewer stays down OUTAGE_S and serves
    again on `port`; the milliseconds from then to the page's LIVE (the viewer is stopped
    again after)."""
    expect(page.locator("#status")).not_to_have_text("LIVE", timeout=RECONNECT_TIMEOUT_MS)
    page.evaluate(LIVE_AT_JS)
    time.sleep(OUTAGE_S)
    with serving(store, page_folder, port, poll_interval=0.1):
        ready_ms = time.time() * 1000
        page.wait_for_function("() => window.__liveAt !== null", timeout=RECONNECT_TIMEOUT_MS)
        live_ms: float = page.evaluate("() => window.__liveAt")
        _live(page)
    return live_ms - ready_ms


@contextmanager
def baseline_page() -> Iterator[tuple[Path | None, str]]:
    """(the older page's folder, "") or (None, why it is not there)."""
    with tempfile.TemporaryDirectory(prefix="logsieve-page-before-") as folder:
        try:
            yield export_baseline(Path(folder)), ""
        except RuntimeError as exc:
            yield None, str(exc)


def run_page_bench() -> PageBenchResult:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    runs: list[PageSpeed] = []
    with baseline_page() as (before, note), chromium() as browser:
        for entries in SIZES:
            runs.append(measure("today", entries, None, browser))
        if before is not None:
            runs.append(measure("before", OLD_CAP, before, browser))
        reconnects = [measure_reconnects("today", None, browser)]
        if before is not None:
            reconnects.append(measure_reconnects("before", before, browser))
    return PageBenchResult(tuple(runs), note, tuple(reconnects))
