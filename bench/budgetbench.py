"""Rows 12-12c: the Logflare exporter's budget against a fake Logflare that enforces 50
events/s (a 429 past it, the remaining allowance on every answer), over ten simulated minutes
of the realistic stream (bench/loggen.py) at a sustained record rate.

Two in-process gateways (batch stage and export only; records go straight into each SQLite
queue, as in rows 11c-11d) run side by side on one fake clock, each exporter against a fake
Logflare of its own on that clock. Every second the same records go into both queues, every
10 s both batch stages run, every second every export stage runs, as `logsieve run` runs
them. After the flood, export runs go on until every held entry has gone (5 minutes at most).
- shipped: config/gateway.yaml (grouping by pattern, its severity sampling) feeding two
  exporters from the same batches: `logflare` with `budget.enabled: true` and no number (the
  rate is learned from the fake's answers), case "budget"; and one without a budget, the
  seed's severity sampling alone, case "sampling";
- unsampled: the budget with severity sampling off, case "budget alone". Its live-page rows
  (every entry kept) give each key's (pattern, severity) records: the truth all are counted
  against (the miner is deterministic: the same batches, the same pattern ids).
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import ResourceLogs

from bench.batchbench import CONFIG_PATH
from bench.budgetcounts import (
    Counts,
    Key,
    count_keys,
    event_pattern,
    p99,
    survivors,
)
from bench.loggen import LogGen
from bench.patternbench import SEED
from gateway import severity
from gateway.config.reading import read_text, read_yaml
from gateway.config.settings import LogflareConfig, parse_config
from gateway.export.logflare import LogflareExporter
from gateway.export.outcome import ExportOutcome
from gateway.model import Entry, IncomingRow
from gateway.runtime.app import Gateway, Overrides
from testkit.clock import FakeClock
from testkit.logflare import FakeLogflare, _Handler
from testkit.logflare_rate import max_in_window

NS = 1_000_000_000
RATE = 500  # records/s in `make bench`: the row in about 2 minutes on the shared 2 cores
# Row `budget-high`, on request: the batch stage keeps up here with the budget's holding and
# merging (its slowest interval 2.9 s of 10 s in one run; at 20,000 records/s 23 s, falling
# behind). 4.8 M records, about 5 minutes of wall time.
HIGH_RATE = 8_000
QUICK_RATE = 200  # --quick
FLOOD_S = 600
DRAIN_S = 320  # past the longest wait (INFO and below: 5 minutes)
INTERVAL_S = 10  # the batch stage's, as config/gateway.yaml
LIMIT = 50  # events/s the fake takes from the source
WINDOW_CAP = LIMIT * 10 + LIMIT  # budget x 10 + burst (one second's worth)
ERROR_TARGET_S = INTERVAL_S + 1


class Watched:
    """A Logflare exporter, noting what it sends when (logsieve's side of the wire) and the
    ERROR entries it encodes in a batch and outside one (those a budget held)."""

    def __init__(self, inner: LogflareExporter, clock: FakeClock) -> None:
        self._inner, self._clock = inner, clock
        self.in_batch = False
        self.errors_batched = self.errors_held = 0
        self.most_errors = 0  # ERROR entries of the largest interval's batches
        self.sent: list[tuple[int, int]] = []  # (clock ns, events) of every request

    def encode(self, entry: Entry, now_ns: int) -> str:
        error = severity.RANK[entry.severity] >= severity.RANK["ERROR"]
        self.errors_batched += error and self.in_batch
        self.errors_held += error and not self.in_batch
        return self._inner.encode(entry, now_ns)

    def export(self, events: Sequence[str]) -> ExportOutcome:
        self.sent.append((self._clock.now_ns(), len(events)))
        return self._inner.export(events)

    def shutdown(self) -> None:
        self._inner.shutdown()


@dataclass(frozen=True, slots=True)
class CaseResult:
    accepted: int  # events Logflare stored
    most_sent: int  # events sent in any 10 s window (refused ones too)
    refused_early: int  # 429s in the first minute
    refused_late: int  # 429s after it
    errors_batched: int  # ERROR entries the batch stage sent out
    most_errors: int  # ... in the largest interval
    errors_arrived: int
    errors_held: int
    error_p99_s: float  # batch to Logflare, over the ERROR events that arrived
    counts: Counts
    rate: float  # the budget's rate in use at the end (0: no budget)
    held_left: int
    merged: int  # entries merged into one already held
    budget_sampled: int  # records the budget sampled out


@dataclass(frozen=True, slots=True)
class BudgetResult:
    rate: int  # records/s
    flood_s: int
    simulated_s: int  # the flood and the drain, on the fake clock
    seconds: float  # wall time of the whole row
    slowest_batch_s: float  # the longest a gateway's batch stage took for one interval
    cases: dict[str, CaseResult]


@dataclass
class Side:
    """One gateway with its exporters (stage name -> the fake it sends to, and its watch)."""

    gateway: Gateway
    targets: dict[str, tuple[FakeLogflare, Watched]]
    origins: dict[str, int]
    slowest_batch_s: float = 0.0

    def enqueue(self, lines: list[tuple[str, int]], gen: LogGen, now: int) -> None:
        step, templates = NS // len(lines), gen.templates
        rows: list[IncomingRow] = []
        for i, (body, tid) in enumerate(lines):
            seen = now - NS + (i + 1) * step  # spread over the second before `now`
            template = templates[tid]
            rows.append((seen, template.severity, seen, body, b"", self._origin(template.service)))
        self.gateway.store.enqueue(rows)

    def _origin(self, service: str) -> int:
        if service not in self.origins:
            self.origins[service] = self.gateway.store.origin_id(_origin(service))
        return self.origins[service]

    def batch(self, now: int) -> None:
        watches = [watched for _, watched in self.targets.values()]
        before = [watched.errors_batched for watched in watches]
        for watched in watches:
            watched.in_batch = True
        began = time.perf_counter()
        try:
            self.gateway.batch.run_batches(now)
        finally:
            for watched, errors in zip(watches, before, strict=True):
                watched.in_batch = False
                watched.most_errors = max(watched.most_errors, watched.errors_batched - errors)
        self.slowest_batch_s = max(self.slowest_batch_s, time.perf_counter() - began)

    def export(self, now: int) -> None:
        for name in self.targets:
            self.gateway.export_stages[name].run_once(now)

    def settled(self) -> bool:
        """Nothing held for the budgeted exporter, and nothing waiting in its outbox."""
        store = self.gateway.store
        state = store.budget_states().get("logflare")
        return (state is None or state.held == 0) and store.outbox_exporter_depth("logflare") == 0

    def shutdown(self) -> None:
        self.gateway.shutdown()
        for logflare, _ in self.targets.values():
            logflare.shutdown()


def _origin(service: str) -> bytes:
    origin = ResourceLogs()
    origin.resource.attributes.add(key="service.name", value=AnyValue(string_value=service))
    origin.scope_logs.add().scope.name = "app"
    return origin.SerializeToString()


def _side(folder: Path, sampled: bool, clock: FakeClock) -> Side:
    """A gateway on config/gateway.yaml with a budgeted `logflare` exporter; the shipped one
    also feeds an exporter without a budget (`nobudget`) from the same batches."""
    names = ("logflare", "nobudget") if sampled else ("logflare",)
    fakes = {name: FakeLogflare(clock=clock, source_rate=LIMIT).start() for name in names}
    tree: dict[str, Any] = read_yaml(read_text(CONFIG_PATH))
    tree["components"] = ["batch"]
    tree["storage"] = {"url": f"sqlite:///{folder / ('shipped' if sampled else 'unsampled')}.db"}
    tree["telemetry"] = {"metrics": {"enabled": False}}
    tree["batch"]["own_process"] = False
    tree["exporters"] = {"logflare": _target(fakes["logflare"]) | {"budget": {"enabled": True}}}
    if not sampled:
        tree["batch"]["sampling"] = {"rules": [], "default_keep": 1.0}
    targets = {
        name: (fake, Watched(LogflareExporter(LogflareConfig.model_validate(_target(fake))), clock))
        for name, fake in fakes.items()
    }
    exporters = {name: watched for name, (_, watched) in targets.items()}
    overrides = Overrides(clock=clock, exporters=exporters, run_jobs=False)
    gateway = Gateway(parse_config(tree, env={}), overrides)
    gateway.start()
    return Side(gateway, targets, {})


def _target(fake: FakeLogflare) -> dict[str, Any]:
    return {"endpoint": fake.url, "source": fake.source_id, "api_key": fake.api_key}


def run_budget(rate: int = RATE, seed: int = SEED + 5, flood_s: int = FLOOD_S) -> BudgetResult:
    began = time.perf_counter()
    clock = FakeClock()
    with tempfile.TemporaryDirectory(prefix="logsieve-budget-") as folder, _quick_answers():
        shipped = _side(Path(folder), True, clock)
        unsampled = _side(Path(folder), False, clock)
        try:
            start = clock.now_ns()
            simulated = _simulate([shipped, unsampled], LogGen(seed), rate, flood_s, clock)
            truth = _truth(unsampled, clock.now_ns())
            results = {
                name: _measure(side, exporter, truth, start)
                for name, (side, exporter) in {
                    "budget": (shipped, "logflare"),
                    "sampling": (shipped, "nobudget"),
                    "budget alone": (unsampled, "logflare"),
                }.items()
            }
        finally:
            shipped.shutdown()
            unsampled.shutdown()
    slowest = max(shipped.slowest_batch_s, unsampled.slowest_batch_s)
    wall = time.perf_counter() - began
    return BudgetResult(rate, flood_s, simulated, wall, slowest, results)


@contextmanager
def _quick_answers() -> Iterator[None]:
    """The fake writes an answer's head and body apart, so Nagle's algorithm holds the body
    until the client's delayed ACK: ~40 ms a request on loopback, 4 ms with TCP_NODELAY."""
    before = _Handler.disable_nagle_algorithm
    _Handler.disable_nagle_algorithm = True
    try:
        yield
    finally:
        _Handler.disable_nagle_algorithm = before


def _simulate(sides: list[Side], gen: LogGen, rate: int, flood_s: int, clock: FakeClock) -> int:
    """The flood, then the drain until every budgeted exporter has sent all it held (at most
    DRAIN_S): each second the same records into every queue, each 10 s every batch stage,
    each second every export stage. Returns the seconds simulated."""
    for second in range(flood_s + DRAIN_S):
        if second > flood_s and all(side.settled() for side in sides):
            return second
        now = clock.now_ns()
        if second < flood_s:
            lines = gen.realistic(rate)
            for side in sides:
                side.enqueue(lines, gen, now)
        if second % INTERVAL_S == INTERVAL_S - 1:
            for side in sides:
                side.batch(now)
        for side in sides:
            side.export(now)
        clock.advance(1)
        if second % 120 == 119:  # progress: the long rows take minutes
            print(f"  {second + 1} simulated seconds", file=sys.stderr, flush=True)
    return flood_s + DRAIN_S


def _truth(side: Side, now: int) -> Counter[Key]:
    """Records per key, from a gateway that kept every entry (its recent entries), each
    pattern id resolved to the one it counts in at the end."""
    recorded: Counter[tuple[str, str, bool]] = Counter()
    cursor = 0
    while page := side.gateway.store.recent_after(cursor, now, 10_000):
        for recent in page:
            entry = recent.entry
            name = entry.pattern.hex_id if entry.pattern is not None else entry.body
            recorded[(name, entry.severity, entry.pattern is not None)] += entry.count
        cursor = page[-1].id
    survivor = survivors(side.gateway.store, (n for n, _, pattern in recorded if pattern))
    truth: Counter[Key] = Counter()
    for (name, band, pattern), records in recorded.items():
        truth[(survivor(name) if pattern else f"body:{name}", band)] += records
    return truth


def _measure(side: Side, exporter: str, truth: Counter[Key], start: int) -> CaseResult:
    (logflare, watched), store = side.targets[exporter], side.gateway.store
    arrived = _arrivals(logflare)
    refused = [r.at_ns for r in logflare.requests if r.status == 429]
    early = sum(1 for at in refused if at <= start + 60 * NS)
    waits = sorted(
        (at - _batch_time(event, start)) / NS
        for event, at in arrived
        if int(event["metadata"]["severity_number"]) >= severity.ERROR_NUMBER
    )
    budget = store.budget_states().get(exporter)
    counters = store.counter_values()
    events = [event for event, _ in arrived]
    survivor = survivors(store, filter(None, map(event_pattern, events)))
    return CaseResult(
        accepted=len(arrived),
        most_sent=max_in_window(list(watched.sent), 10 * NS),
        refused_early=early,
        refused_late=len(refused) - early,
        errors_batched=watched.errors_batched,
        most_errors=watched.most_errors,
        errors_arrived=len(waits),
        errors_held=watched.errors_held,
        error_p99_s=p99(waits),
        counts=count_keys(truth, events, _band_rates(side), survivor),
        rate=budget.rate if budget is not None else 0.0,
        held_left=budget.held if budget is not None else 0,
        merged=counters.get(f"budget_merged_entries/{exporter}", 0),
        budget_sampled=counters.get(f"budget_sampled_records/{exporter}", 0),
    )


def _arrivals(logflare: FakeLogflare) -> list[tuple[dict[str, Any], int]]:
    """Each stored event with its request's clock time (events are stored in request order)."""
    out, at = [], 0
    for request in logflare.requests:
        events = logflare.events[at : at + request.event_count]
        out += [(event, request.at_ns) for event in events]
        at += request.event_count
    return out


def _batch_time(event: dict[str, Any], start: int) -> int:
    """The batch that processed an ERROR entry (never held, so of one batch): the first batch
    at or after its last record, which arrived in the second before it was enqueued."""
    last_ns = int(event["metadata"]["last_seen"]) * 1000
    second = -((start - last_ns) // NS)  # ceil, in integers
    return start + (second + (INTERVAL_S - 1 - second) % INTERVAL_S) * NS


def _band_rates(side: Side) -> Callable[[str], float]:
    """The severity rules' sample rate (1/keep) of a band in this case's config."""
    policy = side.gateway.policy

    def rate(band: str) -> float:
        keep = policy.keep_rate(Entry("", 0, band, "", 1, 0, 0))
        return 1.0 / keep if keep > 0 else math.inf

    return rate
