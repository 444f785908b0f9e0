"""Outbox drain: how fast a backlog reaches Logflare once it answers again.

The backlog is made the way an outage makes it: the batch stage runs while Logflare is away,
so every kept entry waits in export_outbox. Then the export stage drains it into the fake
Logflare (a real HTTP server on loopback that checks the contract), timed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.batchbench import default_settings, fill, fresh_store
from gateway.clock import SystemClock
from gateway.config.settings import LogflareConfig
from gateway.export.logflare import LogflareExporter, event_json
from gateway.export.outbox import ExportStage
from gateway.pipeline.batch import BatchStage
from gateway.pipeline.sampling import SamplingPolicy
from gateway.runtime.heap import freeze_long_lived
from testkit.logflare import FakeLogflare


@dataclass(frozen=True, slots=True)
class DrainResult:
    events: int
    seconds: float
    requests: int

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def run_drain(url: str, rows: int) -> DrainResult:
    store = fresh_store(url)
    try:
        fill(store, rows)
        batch = BatchStage(store, SamplingPolicy(), default_settings(), encode=event_json)
        batch.run_batches(time.time_ns())
        backlog = store.outbox_depth()
        with FakeLogflare() as logflare:
            config = LogflareConfig.model_validate(
                {
                    "endpoint": logflare.url,
                    "source": logflare.source_id,
                    "api_key": logflare.api_key,
                }
            )
            exporter = LogflareExporter(config)
            stage = ExportStage(store, exporter, max_requests_per_run=1_000_000)
            freeze_long_lived()
            began = time.perf_counter()
            report = stage.run_once(SystemClock().now_ns())
            seconds = time.perf_counter() - began
            exporter.shutdown()
            if report.sent != backlog or len(logflare.events) != backlog:
                raise RuntimeError(f"sent {report.sent} of {backlog} events")
        return DrainResult(backlog, seconds, report.requests)
    finally:
        store.dispose()
