"""The gateway's own Prometheus metrics (prometheus-client), on a registry of its own.

Counters move where things happen (receivers, stages), and every series of a known label
set starts at 0. What describes the database (queue depth and age, outbox, dead letters, live
rows, the running totals it keeps), the build and the processes is read when Prometheus
scrapes (gateway/telemetry/collectors.py). No label takes a value a producer chooses: labels
are the receiver ("grpc", "http"), a fixed reason, a severity band, a process's role, or an
exporter (its key under `exporters:` in the operator's config: "logflare", "otlp").
"""

from __future__ import annotations

import os
from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    multiprocess,
)

from gateway import severity
from gateway.model import DatabaseGauges
from gateway.telemetry.collectors import (
    BuildInfoCollector,
    DatabaseCollector,
    Processes,
    ProcessesCollector,
    storage_backend,
)

# Why a request was refused before its records were read: a closed set of label values.
REQUEST_REFUSALS = (
    "invalid",  # undecodable, bad JSON, corrupt compression
    "unauthenticated",
    "forbidden_origin",
    "rate_limited",
    "too_large",  # over the request size limit
    "unsupported_media_type",
)
# Why records of a readable request were not accepted.
RECORD_REFUSALS = ("record_too_large", "queue_full", "database_unavailable")
RECEIVERS = ("grpc", "http")
BANDS = (*severity.BANDS, severity.UNSPECIFIED)
BATCH_SECONDS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self, storage_url: str = "", exporters: tuple[str, ...] = ()) -> None:
        """`storage_url`: storage.url, for the backend's name in logsieve_build_info;
        `exporters`: the configured ones, whose series start at 0."""
        self._exporters = exporters
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # What /metrics shows: this registry, or with a batch child (supervisor.py),
        # the counters every process of the gateway wrote to the shared directory.
        self.exposition = _shared_registry() or self.registry
        self.processes = ProcessesCollector()
        for collector in (BuildInfoCollector(storage_backend(storage_url)), self.processes):
            self.exposition.register(collector)
        PlatformCollector(registry=self.exposition)
        self.received = Counter(
            "logsieve_receiver_records_received",
            "Log records in requests that reached a receiver",
            ["receiver"],
            registry=r,
        )
        self.accepted = Counter(
            "logsieve_receiver_records_accepted",
            "Log records committed to the queue",
            ["receiver"],
            registry=r,
        )
        self.refused_requests = Counter(
            "logsieve_receiver_requests_refused",
            "Requests refused before their records were read, by reason",
            ["receiver", "reason"],
            registry=r,
        )
        self.refused_records = Counter(
            "logsieve_receiver_records_refused",
            "Log records of readable requests not accepted, by reason",
            ["receiver", "reason"],
            registry=r,
        )
        self.abandoned_requests = Counter(
            "logsieve_receiver_requests_abandoned",
            "Requests whose client left (cancelled, deadline passed, connection closed) before"
            " the reply; what was committed stays committed",
            ["receiver"],
            registry=r,
        )
        # Summed over the receiver processes alive at scrape time.
        self.requests_in_flight = Gauge(
            "logsieve_receiver_requests_in_flight",
            "Requests a receiver is handling now: read, or waiting for their commit",
            ["receiver"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.batch_seconds = Histogram(
            "logsieve_batch_duration_seconds",
            "Time of one batch",
            buckets=BATCH_SECONDS,
            registry=r,
        )
        self.batch_records = Counter(
            "logsieve_batch_records", "Queued records processed by the batch stage", registry=r
        )
        self.batch_entries = Counter(
            "logsieve_batch_entries", "Entries the records were deduplicated into", registry=r
        )
        self.batch_cut_short = Counter(
            "logsieve_batch_cut_short",
            "Batches cut short at batch.max_batch_bodies (their other rows went to the next)",
            registry=r,
        )
        # Set by whichever process serves the pages (the viewer child by default), summed
        # over the live processes at scrape time.
        self.viewer_sockets = Gauge(
            "logsieve_viewer_sockets",
            "Open live pages",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.dedupe_ratio = Gauge(
            "logsieve_batch_dedupe_ratio",
            "Records per entry in the last batch",
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.sampled_out = Counter(
            "logsieve_sampled_out_records",
            "Records sampled out, by severity band",
            ["severity"],
            registry=r,
        )
        self.exported = Counter(
            "logsieve_exported_events", "Events the backend stored", ["exporter"], registry=r
        )
        self.export_failures = Counter(
            "logsieve_export_failed_requests",
            "Export requests that failed (to be retried)",
            ["exporter"],
            registry=r,
        )
        self.retried = Counter(
            "logsieve_export_retried_events",
            "Events of failed export requests, left in the outbox for another try",
            ["exporter"],
            registry=r,
        )
        self.dead_lettered = Counter(
            "logsieve_dead_lettered_events",
            "Events moved to dead_letter: refused for good, or in a partially rejected request",
            ["exporter"],
            registry=r,
        )
        self.rejected_records = Counter(
            "logsieve_export_rejected_records",
            "Records an OTLP backend rejected inside a request it accepted (partial success)",
            ["exporter"],
            registry=r,
        )
        self.budget_released = Counter(
            "logsieve_budget_released_events",
            "Held entries a budget let go into the outbox (room in the budget, or their wait ran"
            " out)",
            ["exporter"],
            registry=r,
        )
        self.budget_sampled = Counter(
            "logsieve_budget_sampled_events",
            "Of those, events sent as a sample (their sample_rate carries the rest)",
            ["exporter"],
            registry=r,
        )
        self.purged = Counter("logsieve_purged_rows", "Expired live-view rows deleted", registry=r)
        self.evicted_patterns = Counter(
            "logsieve_evicted_patterns",
            "Least recently seen patterns deleted beyond batch.patterns.max_patterns",
            registry=r,
        )
        self._start_at_zero()

    def _start_at_zero(self) -> None:
        """Every series of a known label set, present at 0 from the start: a dashboard or an
        alert (`increase(...[5m]) > 0`) sees it before the first event, not after."""
        for band in BANDS:
            self.sampled_out.labels(severity=band)
        for receiver in RECEIVERS:
            for counter in (self.received, self.accepted, self.abandoned_requests):
                counter.labels(receiver=receiver)
            self.requests_in_flight.labels(receiver=receiver)
            for reason in REQUEST_REFUSALS:
                self.refused_requests.labels(receiver=receiver, reason=reason)
            for reason in RECORD_REFUSALS:
                self.refused_records.labels(receiver=receiver, reason=reason)
        for exporter in self._exporters:
            for counter in self._per_exporter():
                counter.labels(exporter=exporter)

    def _per_exporter(self) -> tuple[Counter, ...]:
        return (
            self.exported,
            self.export_failures,
            self.retried,
            self.dead_lettered,
            self.rejected_records,
            self.budget_released,
            self.budget_sampled,
        )

    def watch(self, read: Callable[[], DatabaseGauges]) -> None:
        """Register the scrape-time gauges: `read` (Store.database_gauges) runs per scrape."""
        self.exposition.register(DatabaseCollector(read, self._exporters))

    def watch_processes(self, processes: Processes) -> None:
        """Show the process metrics of the children `processes` names (role -> pid) beside
        this process's own (role "main")."""
        self.processes.processes = processes

    def refuse_request(self, receiver: str, reason: str) -> None:
        self.refused_requests.labels(receiver=receiver, reason=reason).inc()

    def refuse_records(self, receiver: str, reason: str, records: int) -> None:
        self.refused_records.labels(receiver=receiver, reason=reason).inc(records)

    def export_done(self, exporter: str, sent: int, dead_lettered: int) -> None:
        self.exported.labels(exporter=exporter).inc(sent)
        self.dead_lettered.labels(exporter=exporter).inc(dead_lettered)

    def export_failed(self, exporter: str, events: int) -> None:
        """A request failed; its events stay in the outbox for another try."""
        self.export_failures.labels(exporter=exporter).inc()
        self.retried.labels(exporter=exporter).inc(events)

    def released(self, exporter: str, events: int, sampled: int) -> None:
        self.budget_released.labels(exporter=exporter).inc(events)
        self.budget_sampled.labels(exporter=exporter).inc(sampled)

    def rejected(self, exporter: str, records: int) -> None:
        self.rejected_records.labels(exporter=exporter).inc(records)


def _shared_registry() -> CollectorRegistry | None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return None
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry
