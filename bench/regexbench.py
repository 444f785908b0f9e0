"""Rows 7f-7h: the live page's search regexes on the shapes that stall a backtracking engine.

Each pattern is run on "a" * n + "b" (where none of them matches, so a backtracking engine
tries every way of splitting the a's) by both evaluators of the search language:
- the server's: viewer.query.parse("/pattern/").keeps(entry), RE2 underneath, in this process;
- the page's: js/query.js parseQuery("/pattern/").keeps(the entry's stream JSON), its Pike VM
  (js/query-vm.js) underneath, in one Node process timing itself with performance.now();
each the median of REPEATS calls after WARMUP (in Node after a whole untimed pass too, so
that the first pattern is not timed while V8 still compiles the VM). Beside them, in the same
run, Python's `re` (a backtracking engine, as the browser's RegExp is) on the same pattern at
the n where it still answers within a fraction of a second, to show its growth per added
character. The target is under 10 ms for a log line's length (up to 10,000 characters);
100,000 is reported too.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from gateway.model import Entry, RecentEntry
from viewer import stream
from viewer.query import parse

QUERY_JS = Path(__file__).resolve().parents[1] / "viewer" / "static" / "js" / "query.js"
SIZES = (20, 25, 1_000, 10_000, 100_000)
LOG_LINE = 10_000  # the target holds up to this many characters
TARGET_MS = 10.0
WARMUP = 3
REPEATS = 21
LONG_REPEATS = 7  # at 100,000 characters
COMMON_N = 20  # measured by all three engines: the ratio is taken there
# Where backtracking still answers (its slowest a few tenths of a second on the 2-core
# machine); each list holds COMMON_N. The first two grow exponentially, the third as a
# polynomial of degree 12. RE2 answers the first, anchored at the end, by reading the text
# backwards from its end (so at once, whatever n); the others make it read every character.
BACKTRACKING = {
    "(a+)+$": (14, 16, 18, 20),
    "(a|aa)+\\d": (20, 22, 24, 26),
    "(.*a){12}\\d": (14, 16, 18, 20),
}
BACKTRACKING_BUDGET_S = 0.3  # repeat a backtracking search only while it is this quick
Cells = tuple[str, str, str, str, str]

PAGE_SCRIPT = """
import { parseQuery } from %s;
let input = "";
for await (const chunk of process.stdin) input += chunk;
const { queries, entries, warmup } = JSON.parse(input);
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const timed = (query) => entries.map(([n, entry, repeats]) => {
  const found = query.keeps(entry);
  for (let k = 0; k < warmup; k++) query.keeps(entry);
  const ms = [];
  for (let k = 0; k < repeats; k++) {
    const start = performance.now();
    query.keeps(entry);
    ms.push(performance.now() - start);
  }
  return { n, found, median: median(ms), slowest: Math.max(...ms) };
});
queries.forEach((text) => timed(parseQuery(text))); // untimed: the VM's code compiled hot
const out = queries.map((text) => timed(parseQuery(text)));
process.stdout.write(JSON.stringify({ node: process.version, timings: out }));
"""


@dataclass(frozen=True, slots=True)
class Timing:
    n: int
    found: bool
    median_ms: float
    slowest_ms: float


@dataclass(frozen=True, slots=True)
class PatternTimings:
    pattern: str
    server: tuple[Timing, ...]
    page: tuple[Timing, ...]
    backtracking: tuple[Timing, ...]


@dataclass(frozen=True, slots=True)
class RegexBenchResult:
    patterns: tuple[PatternTimings, ...]
    node: str


def subject(n: int) -> str:
    return "a" * n + "b"


def repeats(n: int) -> int:
    return LONG_REPEATS if n > LOG_LINE else REPEATS


def _time(call: Callable[[], bool], count: int, warmup: int = WARMUP) -> tuple[bool, list[float]]:
    found = call()
    for _ in range(warmup):
        call()
    took: list[float] = []
    for _ in range(count):
        start = time.perf_counter_ns()
        call()
        took.append((time.perf_counter_ns() - start) / 1e6)
    return found, took


def _timing(n: int, found: bool, took: list[float]) -> Timing:
    return Timing(n, found, statistics.median(took), max(took))


def time_server(pattern: str) -> tuple[Timing, ...]:
    query = parse(f"/{pattern}/")
    timings = []
    for n in SIZES:
        found, took = _time(partial(query.keeps, _entry(n)), repeats(n))
        timings.append(_timing(n, found, took))
    return tuple(timings)


def time_backtracking(pattern: str) -> tuple[Timing, ...]:
    """Python's re, timed once, then again while a search stays under the budget."""
    compiled = re.compile(pattern)
    timings = []
    for n in BACKTRACKING[pattern]:
        text = subject(n)
        took: list[float] = []
        found = False
        while len(took) < 5 and sum(took) < BACKTRACKING_BUDGET_S * 1000:
            start = time.perf_counter_ns()
            found = compiled.search(text) is not None
            took.append((time.perf_counter_ns() - start) / 1e6)
        timings.append(_timing(n, found, took))
    return tuple(timings)


def time_page(node: str, patterns: list[str]) -> tuple[str, list[tuple[Timing, ...]]]:
    """The page's evaluator in one Node process: its version and each pattern's timings."""
    entries = [
        [n, json.loads(stream.entry_json(RecentEntry(1, _entry(n), 10**18))), repeats(n)]
        for n in SIZES
    ]
    request = {"queries": [f"/{p}/" for p in patterns], "entries": entries, "warmup": WARMUP}
    script = PAGE_SCRIPT % json.dumps(QUERY_JS.as_uri())
    done = subprocess.run(
        [node, "--input-type=module", "-e", script],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    answer = json.loads(done.stdout)
    timings = [
        tuple(Timing(t["n"], t["found"], t["median"], t["slowest"]) for t in pattern)
        for pattern in answer["timings"]
    ]
    return str(answer["node"]), timings


def _entry(n: int) -> Entry:
    return Entry(subject(n), 9, "INFO", "api", 1, 1, 2)


def run_regex_bench() -> RegexBenchResult | str:
    node = shutil.which("node")
    if node is None:
        return "skipped: Node.js is not installed (the page's matcher runs under it)"
    patterns = list(BACKTRACKING)
    version, page = time_page(node, patterns)
    measured = [
        PatternTimings(p, time_server(p), timed, time_backtracking(p))
        for p, timed in zip(patterns, page, strict=True)
    ]
    return RegexBenchResult(tuple(measured), version)


# -- the report's rows -----------------------------------------------------------------------


def regex_rows(value: RegexBenchResult | str | None) -> list[Cells]:
    if value is None:
        return []
    if isinstance(value, str):
        verdict = "SKIP" if value.startswith("skipped") else "ERROR"
        return [(_name("7f", next(iter(BACKTRACKING))), "—", "—", verdict, value)]
    return [
        _cells(_name(f"7{letter}", timings.pattern), timings, value.node)
        for letter, timings in zip("fgh", value.patterns, strict=False)
    ]


def _name(number: str, pattern: str) -> str:
    shown = pattern.replace("|", "¦")  # the table's cells cannot hold a |
    return (
        f"{number}. Live page search: /{shown}/ on 'a' x n + 'b' (no match), the server's"
        " evaluator (RE2) and the page's (Pike VM, under Node)"
    )


def _ms(value: float) -> str:
    return f"{value:.3f}" if value < 0.1 else f"{value:.2f}" if value < 10 else f"{value:,.0f}"


def _series(timings: tuple[Timing, ...], upto: int) -> str:
    return " / ".join(_ms(t.median_ms) for t in timings if t.n <= upto)


def _at(timings: tuple[Timing, ...], n: int) -> Timing | None:
    return next((t for t in timings if t.n == n), None)


def growth(timings: tuple[Timing, ...]) -> float:
    """The backtracking time's factor per added character, first to last size measured."""
    first, last = timings[0], timings[-1]
    if first.median_ms <= 0 or last.n == first.n:
        return 0.0
    return float((last.median_ms / first.median_ms) ** (1 / (last.n - first.n)))


def _cells(name: str, t: PatternTimings, node: str) -> Cells:
    sizes = " / ".join(f"{n:,}" for n in SIZES if n <= LOG_LINE)
    long_server, long_page = _at(t.server, SIZES[-1]), _at(t.page, SIZES[-1])
    result = (
        f"server {_series(t.server, LOG_LINE)} ms; page {_series(t.page, LOG_LINE)} ms"
        f" at n = {sizes}"
    )
    if long_server is not None and long_page is not None:
        result += (
            f"; at n = {SIZES[-1]:,}: server {_ms(long_server.median_ms)} ms,"
            f" page {_ms(long_page.median_ms)} ms"
        )
    back = t.backtracking
    compared = (
        f"Python's re (backtracking), same run: {' / '.join(_ms(b.median_ms) for b in back)} ms"
        f" at n = {' / '.join(str(b.n) for b in back)} (x{growth(back):.2f} per added a)"
    )
    common = [_at(side, COMMON_N) for side in (back, t.server, t.page)]
    if all(c is not None and c.median_ms > 0 for c in common):
        re_ms, server_ms, page_ms = (c.median_ms for c in common if c is not None)
        compared += (
            f"; at n = {COMMON_N} re takes {re_ms / server_ms:,.0f}x the server's time,"
            f" {re_ms / page_ms:,.0f}x the page's"
        )
    compared += f"; target < {TARGET_MS:.0f} ms up to n = {LOG_LINE:,}"
    return (name, result, compared, _verdict(t), _details(t, node))


def _answered_none(t: PatternTimings) -> bool:
    return not any(x.found for x in (*t.server, *t.page, *t.backtracking))


def _verdict(t: PatternTimings) -> str:
    within = [x for x in (*t.server, *t.page) if x.n <= LOG_LINE]
    fast = all(x.median_ms < TARGET_MS for x in within)
    return "PASS" if fast and _answered_none(t) and len(t.page) == len(SIZES) else "FAIL"


def _details(t: PatternTimings, node: str) -> str:
    slowest = [max(x.slowest_ms for x in side if x.n <= LOG_LINE) for side in (t.server, t.page)]
    answers = (
        "every engine answered no match"
        if _answered_none(t)
        else "an engine found a match where there is none"
    )
    return (
        f"median of {REPEATS} calls after {WARMUP} warm-up ({LONG_REPEATS} at {SIZES[-1]:,});"
        f" slowest single call up to n = {LOG_LINE:,}: server {_ms(slowest[0])} ms, page"
        f" {_ms(slowest[1])} ms; server = viewer.query.parse('/…/').keeps(entry) in the bench"
        " process; page = js/query.js parseQuery('/…/').keeps(the entry's stream JSON) in one"
        f" Node {node} process, timed with performance.now(); re = re.compile(p).search(text),"
        f" repeated (up to 5) while under {BACKTRACKING_BUDGET_S:g} s; {answers}"
        + ("; ¦ is the alternation bar" if "|" in t.pattern else "")
    )
