"""Outbox drain: how fast a backlog reaches each exporter's backend once it answers again.

The backlog is made the way an outage makes it: the batch stage runs while the backend is
away, so every kept entry waits in export_outbox. Then the export stage drains it into a fake
backend (a real server on loopback that checks the contract and every event), timed. The same
records, grouped by body with nothing sampled out (so that the backlog is large), are drained
by each exporter in turn in one run: Logflare's JSON API, OTLP/gRPC and OTLP/HTTP (protobuf,
gzip). The fake runs in the bench's process, so its checking shares the CPU with the export.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bench.batchbench import fill, fresh_store
from gateway.clock import SystemClock
from gateway.config.otlp_exporter import OtlpExporterConfig
from gateway.config.settings import LogflareConfig
from gateway.export.logflare import LogflareExporter
from gateway.export.otlp import OtlpExporter
from gateway.export.outbox import ExportStage
from gateway.pipeline.batch import BatchSettings, BatchStage, Outbound
from gateway.pipeline.sampling import SamplingPolicy
from gateway.runtime.heap import freeze_long_lived
from testkit.logflare import FakeLogflare
from testkit.otlp import FakeOtlp

EXPORTERS = ("logflare", "otlp-grpc", "otlp-http")
BATCH_EVENTS = 500  # per request, Logflare's advice and the outbox's default
Backend = tuple[LogflareExporter | OtlpExporter, Callable[[], int]]  # exporter, events stored


@dataclass(frozen=True, slots=True)
class DrainResult:
    events: int
    seconds: float
    requests: int
    exporter: str = "logflare"

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


@dataclass(frozen=True, slots=True)
class DrainResults:
    """The same backlog drained by each exporter, in one run."""

    runs: tuple[DrainResult, ...]


def run_drains(url_for: Callable[[str], str], rows: int) -> DrainResults:
    """`url_for(exporter)`: a fresh database URL for each exporter's backlog."""
    return DrainResults(tuple(run_drain(url_for(name), rows, name) for name in EXPORTERS))


def run_drain(url: str, rows: int, exporter: str = "logflare") -> DrainResult:
    store = fresh_store(url)
    try:
        with _backend(exporter) as (sender, stored):
            fill(store, rows)
            batch = BatchStage(
                store,
                SamplingPolicy(),
                BatchSettings(),
                outbound=[Outbound("logflare", sender.encode)],
            )
            batch.run_batches(time.time_ns())
            backlog = store.outbox_depth()
            stage = ExportStage(
                store, sender, batch_events=BATCH_EVENTS, max_requests_per_run=1_000_000
            )
            freeze_long_lived()
            began = time.perf_counter()
            report = stage.run_once(SystemClock().now_ns())
            seconds = time.perf_counter() - began
            sender.shutdown()
            if report.sent != backlog or stored() != backlog:
                raise RuntimeError(f"{exporter}: sent {report.sent} of {backlog} events")
        return DrainResult(backlog, seconds, report.requests, exporter)
    finally:
        store.dispose()


@contextmanager
def _backend(exporter: str) -> Iterator[Backend]:
    """A fake backend and an exporter pointed at it."""
    if exporter == "logflare":
        with FakeLogflare() as logflare:
            settings = {
                "endpoint": logflare.url,
                "source": logflare.source_id,
                "api_key": logflare.api_key,
            }
            sender = LogflareExporter(LogflareConfig.model_validate(settings))
            yield sender, lambda: len(logflare.events)
        return
    protocol = exporter.removeprefix("otlp-")
    with FakeOtlp(resettable=False) as otlp:  # no relay: the client talks to grpcio itself
        config = OtlpExporterConfig.model_validate(
            {"endpoint": otlp.url(protocol), "protocol": protocol}
        )
        yield OtlpExporter(config), lambda: len(otlp.records)


OUTAGE_EVENTS_PER_S = 1_000  # kept entries a second while the backend is away (illustrative)
ROW_NAMES = {
    "logflare": "6. Outbox drain after an outage: Logflare's JSON API (fake Logflare on loopback)",
    "otlp-grpc": "6b. Outbox drain after an outage: OTLP/gRPC (fake OTLP backend on loopback)",
    "otlp-http": "6c. Outbox drain after an outage: OTLP/HTTP protobuf (fake OTLP backend)",
}
Cells = tuple[str, str, str, str, str]  # measurement, result, compared with, verdict, details


def drain_rows(value: DrainResults | str | None) -> list[Cells]:
    """The report's rows for the export-drain step: one per exporter, or its skip or error."""
    if value is None:
        return []
    if isinstance(value, str):
        verdict = "SKIP" if value.startswith("skipped") else "ERROR"
        return [(ROW_NAMES["logflare"], "—", "—", verdict, value)]
    logflare = next((run for run in value.runs if run.exporter == "logflare"), None)
    return [_drain_cells(run, logflare) for run in value.runs]


def _drain_cells(run: DrainResult, logflare: DrainResult | None) -> Cells:
    backlog = 600 * OUTAGE_EVENTS_PER_S  # 10 minutes of outage
    result = f"{run.events:,} events in {run.seconds:.1f} s ({run.events_per_s:,.0f} events/s)"
    compared = (
        f"a 10-minute outage at {OUTAGE_EVENTS_PER_S:,} kept events/s ({backlog:,} events) "
        f"empties in {backlog / run.events_per_s:,.0f} s"
    )
    if logflare is not None and run is not logflare and logflare.events_per_s:
        compared += f"; {run.events_per_s / logflare.events_per_s:.1f}x Logflare's in this run"
    details = (
        f"{run.requests} requests of ≤ {BATCH_EVENTS} events, gzip; every event checked by "
        "the fake, which runs in the bench's process"
    )
    return (ROW_NAMES[run.exporter], result, compared, "info", details)
