"""Rows 7b-7e and 7i of the results table: the live page's own speed (bench/pagebench.py), its
insert-to-paint, and how soon it is LIVE after a viewer restart, each against the page before
issue 17 measured in the same run.

Each row is (measurement, result, compared with, verdict, details), as bench.report.Row.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.pagebench import (
    BASELINE,
    OLD_CAP,
    OUTAGE_S,
    SIZES,
    PageBenchResult,
    PageSpeed,
    Reconnect,
)
from bench.viewerbench import ViewerResult

Cells = tuple[str, str, str, str, str]
FRAME_MS = 1000 / 60
LONG_TASK_MS = 50.0
KEYSTROKE_MS = 50.0
P99_SLACK = 1.25  # insert-to-paint "unchanged": within a quarter (two runs on a shared machine)
P99_SLACK_MS = 5.0  # or within 5 ms, whichever is more
LIVE_AFTER_READY_MS = 2000.0  # the page is LIVE this soon after the viewer serves again
RECONNECT = (
    f"7i. Live page: LIVE again after the viewer was down {OUTAGE_S:.0f} s, from the viewer"
    " serving again"
)


def page_rows(results: dict[str, Any]) -> list[Cells]:
    rows: list[Cells] = []
    speed = results.get("page-speed")
    if speed is not None:
        rows += _speed_rows(speed)
    if "viewer-1-before" in results:
        rows.append(_paint_row(results.get("viewer-1"), results["viewer-1-before"]))
    if speed is not None:
        rows.append(_failed(RECONNECT, speed) or _reconnect_row(speed))
    return rows


def _failed(name: str, value: Any) -> Cells | None:
    if isinstance(value, str):
        return (name, "—", "—", "SKIP" if value.startswith("skipped") else "ERROR", value)
    return None


def _speed_rows(speed: Any) -> list[Cells]:
    names = [
        f"7{letter}. Live page holding {n:,} entries (1 Chromium page, 1400x900): an append's cost"
        for letter, n in zip("bc", SIZES, strict=True)
    ]
    keystroke = "7d. Live page: a search keystroke to the repaint of the loaded list"
    failed = [_failed(name, speed) for name in (*names, keystroke)]
    if failed[0] is not None:
        return [cells for cells in failed if cells is not None]
    assert isinstance(speed, PageBenchResult)
    before = speed.run("before", OLD_CAP)
    rows = [
        _append_row(name, speed.run("today", n), before, speed)
        for name, n in zip(names, SIZES, strict=True)
    ]
    rows.append(_keystroke_row(keystroke, speed, before))
    return rows


def _append_row(name: str, today: PageSpeed | None, before: PageSpeed | None, speed: Any) -> Cells:
    if today is None:
        return (name, "—", "—", "ERROR", "not measured")
    result = (
        f"median {today.append_median_ms:.1f} ms, p90 {today.append_p90_ms:.1f} ms;"
        f" longest task {today.longest_task_ms:.1f} ms"
    )
    if before is None:
        compared = f"page before: not measured ({speed.baseline_note})"
    elif today.entries > OLD_CAP:
        compared = f"the page before kept at most {OLD_CAP:,} entries (row above)"
    else:
        ratio = today.append_median_ms / before.append_median_ms if before.append_median_ms else 0
        compared = (
            f"page before, same run: median {before.append_median_ms:.1f} ms, p90"
            f" {before.append_p90_ms:.1f} ms, longest task {before.longest_task_ms:.1f} ms"
            f" ({ratio:.2f}x); target < {FRAME_MS:.1f} ms, no task > {LONG_TASK_MS:.0f} ms"
        )
    ok = today.append_median_ms < FRAME_MS and today.longest_task_ms < LONG_TASK_MS
    details = (
        "cost = the websocket message's handler + the browser's work for the frame after it"
        " (requestAnimationFrame to a 0 ms timeout queued there); 30 batches of 15 entries once"
        f" the list is full; long tasks (> 50 ms) seen: {today.long_tasks};"
        f" page before = commit {BASELINE[:12]} served by today's viewer"
    )
    return (name, result, compared, "PASS" if ok else "FAIL", details)


def _keystroke_row(name: str, speed: PageBenchResult, before: PageSpeed | None) -> Cells:
    today = [r for r in speed.runs if r.page == "today"]
    result = "; ".join(
        f"median {r.keystroke_median_ms:.0f} ms (first {r.keystroke_ms:.0f} ms) at {r.entries:,}"
        " entries"
        for r in today
    )
    compared = (
        f"page before, same run: median {before.keystroke_median_ms:.0f} ms (first"
        f" {before.keystroke_ms:.0f} ms) at {before.entries:,} entries"
        if before is not None
        else f"page before: not measured ({speed.baseline_note})"
    )
    compared += f"; target < {KEYSTROKE_MS:.0f} ms"
    ok = bool(today) and all(r.keystroke_median_ms < KEYSTROKE_MS for r in today)
    details = (
        "keydown in the search box to the frame after the list first changes, for b, e and t"
        " typed in turn (b keeps a tenth of the entries; the first is timed with the search's"
        " code still cold); the page before waits for its new subscription,"
        " today's page repaints from what it holds while the subscription catches up"
    )
    return (name, result, compared, "PASS" if ok else "FAIL", details)


def _paint_row(today: Any, before: Any) -> Cells:
    name = "7e. Live view, 1 Chromium page: insert to paint p99, today's page and the one before"
    failed = _failed(name, before) or _failed(name, today)
    if failed is not None:
        return failed
    if not isinstance(today, ViewerResult):
        return (name, "—", "—", "n/a", "row 7 (viewer-1) not measured in this run")
    assert isinstance(before, ViewerResult)
    ratio = today.p99_ms / before.p99_ms if before.p99_ms else 0.0
    result = f"p99 {today.p99_ms:,.0f} ms (p50 {today.p50_ms:,.0f} ms)"
    compared = (
        f"page before, same run: p99 {before.p99_ms:,.0f} ms (p50 {before.p50_ms:,.0f} ms);"
        f" {ratio:.2f}x; unchanged = within {P99_SLACK:.2f}x or {P99_SLACK_MS:.0f} ms"
    )
    limit = max(before.p99_ms * P99_SLACK, before.p99_ms + P99_SLACK_MS)
    ok = today.p99_ms <= limit and today.missing == 0 and before.missing == 0
    details = (
        f"row 7's run (1 page, {today.entries} entries at {today.per_second}/s) again with the"
        f" page of commit {BASELINE[:12]}; missing pairs today {today.missing},"
        f" before {before.missing}"
    )
    return (name, result, compared, "PASS" if ok else "FAIL", details)


def _reconnect_row(speed: Any) -> Cells:
    assert isinstance(speed, PageBenchResult)
    today = speed.reconnect("today")
    if today is None or not today.live_after_ready_ms:
        return (RECONNECT, "—", "—", "ERROR", "not measured")
    before = speed.reconnect("before")
    compared = (
        f"page before, same run: {_spread(before)}"
        if before is not None and before.live_after_ready_ms
        else f"page before: not measured ({speed.baseline_note})"
    )
    compared += f"; target < {LIVE_AFTER_READY_MS:,.0f} ms each"
    ok = max(today.live_after_ready_ms) < LIVE_AFTER_READY_MS
    details = (
        f"{len(today.live_after_ready_ms)} restarts of the viewer on the same port, 1 Chromium"
        " page (1400x900) open throughout; time = the page's Date.now() when its pill turns"
        " LIVE minus the bench's wall clock once the viewer serves again. While the viewer is"
        " unreachable today's page tries every 0.5-1 s (js/connection.js, QUICK_MAX_MS); the"
        f" page before (commit {BASELINE[:12]}) backs off 0.5, 1, 2, 4, 8 s... (jittered)"
    )
    return (RECONNECT, _spread(today), compared, "PASS" if ok else "FAIL", details)


def _spread(run: Reconnect | None) -> str:
    assert run is not None
    times = sorted(run.live_after_ready_ms)
    each = " / ".join(f"{ms:,.0f}" for ms in times)
    return f"median {statistics.median(times):,.0f} ms, max {times[-1]:,.0f} ms ({each} ms)"
