"""The gateway's own Prometheus metrics (prometheus-client), on a registry of its own.

Counters move where things happen (receivers, stages); gauges that describe the database
(queue depth and age, outbox, dead letters, live rows) are read when Prometheus scrapes, so
they are right for every process sharing the database. No label takes a value a producer
chooses: labels are the receiver ("grpc", "http"), a fixed reason, or a severity band.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway import severity
from gateway.model import DatabaseGauges

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
BANDS = (*severity.BANDS, severity.UNSPECIFIED)
BATCH_SECONDS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # What /metrics shows: this registry, or with a batch child (supervisor.py),
        # the counters every process of the gateway wrote to the shared directory.
        self.exposition = _shared_registry() or self.registry
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
        self.exported = Counter("logsieve_exported_events", "Events Logflare accepted", registry=r)
        self.export_failures = Counter(
            "logsieve_export_failed_requests",
            "Export requests that failed (to be retried)",
            registry=r,
        )
        self.retried = Counter(
            "logsieve_export_retried_events",
            "Events of failed export requests, left in the outbox for another try",
            registry=r,
        )
        self.dead_lettered = Counter(
            "logsieve_dead_lettered_events", "Events Logflare refused for good", registry=r
        )
        self.purged = Counter("logsieve_purged_rows", "Expired live-view rows deleted", registry=r)
        self.evicted_patterns = Counter(
            "logsieve_evicted_patterns",
            "Least recently seen patterns deleted beyond batch.patterns.max_patterns",
            registry=r,
        )
        for band in BANDS:  # present from the start, so rates work before the first drop
            self.sampled_out.labels(severity=band)

    def watch(self, read: Callable[[], DatabaseGauges]) -> None:
        """Register the scrape-time gauges: `read` (Store.database_gauges) runs per scrape."""
        self.exposition.register(_DatabaseCollector(read))

    def refuse_request(self, receiver: str, reason: str) -> None:
        self.refused_requests.labels(receiver=receiver, reason=reason).inc()

    def refuse_records(self, receiver: str, reason: str, records: int) -> None:
        self.refused_records.labels(receiver=receiver, reason=reason).inc(records)


def _shared_registry() -> CollectorRegistry | None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return None
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry


class _DatabaseCollector(Collector):
    def __init__(self, read: Callable[[], DatabaseGauges]) -> None:
        self._read = read
        self._lock = threading.Lock()  # one database read at a time, however many scrapers

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # unknown until read: the registry must not call collect() to learn

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            try:
                gauges = self._read()
            except Exception:  # the database is away: /readyz says so; the scrape goes on
                gauges = None
        if gauges is not None:
            yield from _database_families(gauges)


def _database_families(g: DatabaseGauges) -> Iterator[GaugeMetricFamily]:
    yield _gauge("logsieve_queue_depth", "Records waiting in the queue", g.queue_depth)
    yield _gauge("logsieve_queue_bytes", "Bytes of the queued records", g.queue_bytes)
    yield _gauge(
        "logsieve_queue_oldest_age_seconds",
        "Age of the oldest queued record",
        g.queue_oldest_age_s,
    )
    yield _gauge("logsieve_outbox_depth", "Events waiting for Logflare", g.outbox_depth)
    yield _gauge("logsieve_dead_letters", "Events Logflare refused, kept", g.dead_letters)
    yield _gauge("logsieve_recent_rows", "Unexpired rows of the live view", g.recent_rows)
    family = GaugeMetricFamily(
        "logsieve_persistent_counter", "Running totals kept in the database", labels=["name"]
    )
    for name, value in sorted(g.counters.items()):
        family.add_metric([name], value)
    yield family


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
