"""Pattern rows 11c and 11d: the bill of the realistic stream (bench/loggen.py), grouped by body
and by pattern, through the real batch stage, and the stage's rate.

The same seeded records go through a BatchStage on a fresh SQLite queue, a batch of
max_batch_records at a time (as the batch stage claims them), with config/gateway.yaml's
sampling: with dedupe keys (body, severity), and with (pattern, severity) and a Miner built
from the config's `batch.patterns` settings, one across the batches as in a gateway; each
three times (the rate: the median pass). The outbox holds what Logflare would be sent; it is
emptied after each batch and its events counted. Rows are made directly (body, severity,
service), not through the receiver: this measures the bill and the stage, not ingest.
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import ResourceLogs

from bench.batchbench import CONFIG_PATH, default_policy, default_settings, fresh_store
from bench.loggen import LogGen
from bench.patternbench import BATCH_RECORDS, SEED
from gateway import severity
from gateway.config.settings import load_config
from gateway.export.logflare import event_json
from gateway.model import IncomingRow
from gateway.pipeline.batch import BatchStage, Outbound
from gateway.pipeline.grouping import Grouping
from gateway.pipeline.learning import patterns_miner
from gateway.pipeline.patterns.miner import Miner
from gateway.store import Store

INTERVAL_NS = 10 * 10**9  # the batch stage's interval in config/gateway.yaml
DRAIN_CHUNK = 5_000
BY_BODY = ("body", "severity")
BY_PATTERN = ("pattern", "severity")


@dataclass(frozen=True, slots=True)
class Bill:
    entries: int  # after dedupe, before sampling
    events: int  # what Logflare was sent
    seconds: float


@dataclass(frozen=True, slots=True)
class PatternCostResult:
    records: int
    batches: int
    by_body: Bill
    by_pattern: Bill
    templates: int  # one entry per true template and severity band a batch: the floor

    def per_million(self, count: int) -> float:
        return count * 1_000_000 / self.records

    def cells(self) -> tuple[str, str, str, str]:
        """(result, compared with, verdict, details) for the bench table."""
        body, pattern = (self.per_million(b.events) for b in (self.by_body, self.by_pattern))
        result = f"{pattern:,.0f} Logflare events per million records by pattern"
        compared = f"by body {body:,.0f} per million ({body / pattern:.1f}x more)"
        details = (
            f"{self.records:,} records of the realistic stream (Zipf over 1,000+ templates, "
            f"each repeating its recent bodies at its own rate; "
            f"{self.per_million(self.by_body.entries) / 10_000:.0f} % of a batch's bodies "
            f"distinct) in {self.batches} batches of {BATCH_RECORDS:,} through the real "
            "BatchStage (SQLite queue, config/gateway.yaml's sampling), dedupe keys "
            f"(body, severity) then (pattern, severity); entries before sampling: by body "
            f"{self.per_million(self.by_body.entries):,.0f} per million, by pattern "
            f"{self.per_million(self.by_pattern.entries):,.0f}, one per true template and "
            f"severity {self.per_million(self.templates):,.0f}; batch stage "
            f"{self.records / self.by_body.seconds:,.0f} records/s by body, "
            f"{self.records / self.by_pattern.seconds:,.0f} by pattern"
        )
        return result, compared, "info", details


def pattern_miner() -> Miner:
    """A Miner as config/gateway.yaml's `batch.patterns` would make it."""
    return patterns_miner(load_config(CONFIG_PATH, env={}).batch.patterns)


def run_pattern_cost(
    records: int = 500_000, batch: int = BATCH_RECORDS, seed: int = SEED + 2, passes: int = 3
) -> PatternCostResult:
    """Each grouping's bill over `passes` passes of the same records, each on a fresh queue
    and miner: the same entries and events every time; its time the median pass's. A pass
    takes a few seconds, so a short stall of this shared machine would otherwise move the
    rate by a fifth (ingest, the rate it is compared with, is averaged over 10 s)."""
    by_body = _median(_bill(_batches(seed, records, batch), BY_BODY, None) for _ in range(passes))
    by_pattern = _median(
        _bill(_batches(seed, records, batch), BY_PATTERN, pattern_miner()) for _ in range(passes)
    )
    gen = LogGen(seed)
    band = {t.id: severity.band(t.severity, "") for t in gen.templates}
    batches = floor = 0
    for chunk in gen.stream(records, batch):
        batches += 1
        floor += len({(tid, band[tid]) for _, tid in chunk})
    return PatternCostResult(records, batches, by_body, by_pattern, floor)


def _median(bills: Iterator[Bill]) -> Bill:
    ordered = sorted(bills, key=lambda bill: bill.seconds)
    assert all((b.entries, b.events) == (ordered[0].entries, ordered[0].events) for b in ordered)
    return ordered[len(ordered) // 2]


def _batches(seed: int, records: int, batch: int) -> Iterator[list[tuple[str, int, str]]]:
    """(body, severity number, service) of each record, a batch at a time."""
    gen = LogGen(seed)
    for chunk in gen.stream(records, batch):
        yield [
            (body, gen.templates[tid].severity, gen.templates[tid].service) for body, tid in chunk
        ]


def _bill(
    batches: Iterator[list[tuple[str, int, str]]], keys: tuple[str, ...], miner: Miner | None
) -> Bill:
    folder = Path(tempfile.mkdtemp(prefix="logsieve-patterncost-"))
    store = fresh_store(f"sqlite:///{folder / 'cost.db'}")
    settings = dataclasses.replace(default_settings(), grouping=Grouping(keys))
    stage = BatchStage(
        store, default_policy(), settings, outbound=[Outbound("logflare", event_json)], miner=miner
    )
    origins: dict[str, int] = {}
    entries = events = 0
    seconds, now = 0.0, time.time_ns()
    try:
        for lines in batches:
            store.enqueue(_rows(store, lines, origins, now))
            began = time.perf_counter()
            entries += stage.run_batches(now).entries
            seconds += time.perf_counter() - began
            events += _drain(store)
            now += INTERVAL_NS
    finally:
        store.dispose()
        shutil.rmtree(folder, ignore_errors=True)
    return Bill(entries, events, seconds)


def _rows(
    store: Store, lines: list[tuple[str, int, str]], origins: dict[str, int], now: int
) -> list[IncomingRow]:
    for service in {service for _, _, service in lines} - origins.keys():
        origins[service] = store.origin_id(_origin(service))
    return [(now, number, now, body, b"", origins[service]) for body, number, service in lines]


def _origin(service: str) -> bytes:
    origin = ResourceLogs()
    origin.resource.attributes.add(key="service.name", value=AnyValue(string_value=service))
    origin.scope_logs.add().scope.name = "app"
    return origin.SerializeToString()


def _drain(store: Store) -> int:
    """Empty the outbox as a Logflare that accepts everything would; the events it held."""
    token, sent = secrets.randbits(62), 0
    while batch := store.outbox_claim("logflare", token, 10**12, DRAIN_CHUNK):
        store.outbox_ack(token, [event_id for event_id, _ in batch])
        sent += len(batch)
    return sent
