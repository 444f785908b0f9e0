"""The bill: Logflare events sent per million records received, for a realistic flood.

The flood (seeded): 10 services, 2,000 message templates picked with Zipf-distributed
frequency within each severity (15 % DEBUG, 65 % INFO, 17 % WARN, 3 % ERROR of records),
10 minutes at 20,000 records/s = 12,000,000 records. They go
into a real SQLite queue 10 seconds' worth at a time (what the batch stage sees at its 10 s
interval) and through the real BatchStage with config/gateway.yaml's dedupe and sampling; the
outbox holds what Logflare would be sent, drained after each interval. Rows are made
directly (body, severity, service), not through the receiver: this measures the bill, not
ingest. Checked against the truth the generator kept: every error template is in Logflare
with its exact count, and count x sample_rate estimates each severity's total. Grouped by
pattern (the shipped config), an error template is a pattern: its bodies' records summed
(the flood's 2,000 bodies are `<action> <subject> batch <NUM>`-like lines), each body's
pattern as the stage's miner reads it at the end.
"""

from __future__ import annotations

import random
import secrets
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import ResourceLogs

from bench.batchbench import default_miner, default_policy, default_settings, fresh_store
from bench.workload import FLOOD_SERVICES, FLOOD_TEMPLATES, ZIPF_WEIGHTS
from gateway import severity
from gateway.export.logflare import event_json
from gateway.pipeline.batch import BatchStage, Outbound
from gateway.pipeline.patterns.miner import Miner
from gateway.store import Store

RATE, SECONDS, INTERVAL_S = 20_000, 600, 10
# Shares of records by severity: 3 % errors, as the flood of a bad day looks.
RECORD_SHARES = {"DEBUG": 0.15, "INFO": 0.65, "WARN": 0.17, "ERROR": 0.03}


def _weights() -> list[float]:
    """Each template's share of records: its band's share, split by Zipf rank in the band."""
    bands = [severity.band(number, "") for _, number, _ in FLOOD_TEMPLATES]
    in_band: Counter[str] = Counter()
    for band, weight in zip(bands, ZIPF_WEIGHTS, strict=True):
        in_band[band] += weight
    return [
        RECORD_SHARES[band] * weight / in_band[band]
        for band, weight in zip(bands, ZIPF_WEIGHTS, strict=True)
    ]


WEIGHTS = _weights()
DRAIN_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class CostResult:
    records: int
    entries: int  # after dedupe, before sampling
    events: int  # what Logflare was sent
    error_share: float
    error_templates: int
    error_templates_exact: int  # error templates whose summed counts equal the truth
    estimate_error: dict[str, float]  # per severity band: |estimate - truth| / truth
    seconds: float

    @property
    def events_per_million(self) -> float:
        return self.events * 1_000_000 / self.records


def _origins(store: Store) -> list[int]:
    ids = []
    for name in FLOOD_SERVICES[:10]:
        origin = ResourceLogs()
        origin.resource.attributes.add(key="service.name", value=AnyValue(string_value=name))
        origin.scope_logs.add().scope.name = "app"
        ids.append(store.origin_id(origin.SerializeToString()))
    return ids


class _Truth:
    def __init__(self) -> None:
        self.by_band: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()  # error body (then template) -> records


class _Sent:
    def __init__(self) -> None:
        self.events = 0
        self.estimate: Counter[str] = Counter()  # band -> sum of count x sample_rate
        self.errors: Counter[str] = Counter()  # error body -> summed counts

    def take(self, store: Store) -> None:
        """Drain the outbox as a Logflare that accepts everything would."""
        token = secrets.randbits(62)
        while batch := store.outbox_claim("logflare", token, 10**12, DRAIN_CHUNK):
            for _, text in batch:
                self._count(orjson.loads(text))
            store.outbox_ack(token, [event_id for event_id, _ in batch])

    def _count(self, event: dict[str, Any]) -> None:
        meta = event["metadata"]
        band = severity.band(meta["severity_number"], "")
        self.events += 1
        self.estimate[band] += meta["count"] * meta["sample_rate"]
        if band == "ERROR":  # by its pattern's template when grouped by pattern
            template = meta["pattern"]["template"] if "pattern" in meta else event["event_message"]
            self.errors[template] += meta["count"]


def run_cost(seed: int = 2026, seconds: int = SECONDS, rate: int = RATE) -> CostResult:
    folder = Path(tempfile.mkdtemp(prefix="logsieve-cost-"))
    store = fresh_store(f"sqlite:///{folder / 'cost.db'}")
    miner = default_miner()
    stage = BatchStage(
        store,
        default_policy(),
        default_settings(),
        outbound=[Outbound("logflare", event_json)],
        miner=miner,
    )
    rng, origins = random.Random(seed), _origins(store)
    truth, sent, entries = _Truth(), _Sent(), 0
    began, now = time.perf_counter(), time.time_ns()
    try:
        for _ in range(seconds // INTERVAL_S):
            store.enqueue(_interval_rows(rng, origins, rate * INTERVAL_S, now, truth))
            entries += stage.run_batches(now).entries
            sent.take(store)
            now += INTERVAL_S * 10**9
    finally:
        store.dispose()
    if miner is not None:  # each error body's count goes to its pattern's template
        truth.errors = _by_template(truth.errors, miner)
    return _result(truth, sent, seconds * rate, entries, time.perf_counter() - began)


def _by_template(errors: Counter[str], miner: Miner) -> Counter[str]:
    by_template: Counter[str] = Counter()
    for body, records in errors.items():
        by_template[miner.match(body, with_values=False).template] += records
    return by_template


def _interval_rows(
    rng: random.Random, origins: list[int], count: int, now: int, truth: _Truth
) -> list[tuple[int, int, int, str, bytes, int]]:
    """One interval of the flood as queue rows; the truth is counted as they are made."""
    picks = rng.choices(FLOOD_TEMPLATES, WEIGHTS, k=count)
    services = rng.choices(origins, k=count)
    rows = []
    for (body, number, _), origin in zip(picks, services, strict=True):
        band = severity.band(number, "")
        truth.by_band[band] += 1
        if band == "ERROR":
            truth.errors[body] += 1
        rows.append((now, number, now, body, b"", origin))
    return rows


def _result(truth: _Truth, sent: _Sent, records: int, entries: int, seconds: float) -> CostResult:
    errors = set(truth.errors)  # the error templates that occurred
    exact = sum(1 for body in errors if sent.errors[body] == truth.errors[body])
    estimate_error = {
        band: abs(sent.estimate[band] - total) / total for band, total in truth.by_band.items()
    }
    return CostResult(
        records=records,
        entries=entries,
        events=sent.events,
        error_share=truth.by_band["ERROR"] / records,
        error_templates=len(errors),
        error_templates_exact=exact,
        estimate_error=estimate_error,
        seconds=seconds,
    )
