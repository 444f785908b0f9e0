"""gateway/telemetry/metrics.py: the gateway's metric names and labels as Prometheus reads them,
counters that move by exactly what they are told, and the database gauges read per scrape."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from gateway.model import DatabaseGauges, Entry
from gateway.otlp import rows_from_request
from gateway.store import Store
from gateway.telemetry.metrics import BATCH_SECONDS, Metrics
from tests.builders import T0, Rec, request

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
COUNTERS = {  # family name -> label names; Prometheus shows each as <name>_total
    "logsieve_receiver_records_received": ("receiver",),
    "logsieve_receiver_records_accepted": ("receiver",),
    "logsieve_receiver_requests_refused": ("reason", "receiver"),
    "logsieve_receiver_records_refused": ("reason", "receiver"),
    "logsieve_receiver_requests_abandoned": ("receiver",),
    "logsieve_batch_records": (),
    "logsieve_batch_entries": (),
    "logsieve_sampled_out_records": ("severity",),
    "logsieve_exported_events": (),
    "logsieve_export_failed_requests": (),
    "logsieve_export_retried_events": (),
    "logsieve_dead_lettered_events": (),
    "logsieve_purged_rows": (),
    "logsieve_evicted_patterns": (),
}
GAUGES = ("logsieve_viewer_sockets", "logsieve_batch_dedupe_ratio")
DATABASE_GAUGES = (
    "logsieve_queue_depth",
    "logsieve_queue_bytes",
    "logsieve_queue_oldest_age_seconds",
    "logsieve_outbox_depth",
    "logsieve_dead_letters",
    "logsieve_recent_rows",
    "logsieve_persistent_counter",
)
GAUGES_READ = DatabaseGauges(
    queue_depth=7,
    queue_bytes=7000,
    queue_oldest_age_s=12.5,
    outbox_depth=3,
    dead_letters=2,
    recent_rows=40,
    counters={"sampled_out": 9, "dropped_records": 4},
)


def scrape(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def samples(registry: CollectorRegistry) -> Samples:
    """Every sample of a scrape but the *_created timestamps, by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(scrape(registry))
        for s in family.samples
        if not s.name.endswith("_created")
    }


def families(registry: CollectorRegistry) -> dict[str, str]:
    """Family name -> type, as a scrape announces them (the text format shows a counter's
    creation time as a gauge of its own: left out)."""
    return {
        f.name: f.type
        for f in text_string_to_metric_families(scrape(registry))
        if not f.name.endswith("_created")
    }


def test_every_metric_is_announced_by_name_and_type_from_the_start() -> None:
    announced = families(Metrics().registry)
    assert announced == {
        **dict.fromkeys(COUNTERS, "counter"),
        **dict.fromkeys(GAUGES, "gauge"),
        "logsieve_batch_duration_seconds": "histogram",
    }


def test_unlabelled_counters_and_every_severity_band_start_at_zero() -> None:
    found = samples(Metrics().registry)
    for name, labels in COUNTERS.items():
        if not labels:
            assert found[(f"{name}_total", ())] == 0.0, name
    bands = {
        labels[0][1]: value
        for (name, labels), value in found.items()
        if name == "logsieve_sampled_out_records_total"
    }
    assert bands == dict.fromkeys(
        ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "UNSPECIFIED"], 0.0
    )
    # A labelled receiver counter has no sample until a receiver counts something.
    assert not any(name.startswith("logsieve_receiver_") for name, _ in found)


def test_receiver_counters_move_by_exactly_what_they_are_told_per_label() -> None:
    metrics = Metrics()
    metrics.received.labels(receiver="grpc").inc(5)
    metrics.received.labels(receiver="http").inc(2)
    metrics.accepted.labels(receiver="grpc").inc(4)
    metrics.refuse_request("http", "unauthenticated")
    metrics.refuse_request("http", "unauthenticated")
    metrics.refuse_request("grpc", "too_large")
    metrics.refuse_records("grpc", "queue_full", 5)
    metrics.refuse_records("grpc", "queue_full", 2)
    metrics.refuse_records("grpc", "record_too_large", 1)
    metrics.abandoned_requests.labels(receiver="http").inc()
    found = samples(metrics.registry)
    receiver = {key: value for key, value in found.items() if "receiver_" in key[0]}
    assert receiver == {
        ("logsieve_receiver_records_received_total", (("receiver", "grpc"),)): 5.0,
        ("logsieve_receiver_records_received_total", (("receiver", "http"),)): 2.0,
        ("logsieve_receiver_records_accepted_total", (("receiver", "grpc"),)): 4.0,
        (
            "logsieve_receiver_requests_refused_total",
            (("reason", "unauthenticated"), ("receiver", "http")),
        ): 2.0,
        (
            "logsieve_receiver_requests_refused_total",
            (("reason", "too_large"), ("receiver", "grpc")),
        ): 1.0,
        (
            "logsieve_receiver_records_refused_total",
            (("reason", "queue_full"), ("receiver", "grpc")),
        ): 7.0,
        (
            "logsieve_receiver_records_refused_total",
            (("reason", "record_too_large"), ("receiver", "grpc")),
        ): 1.0,
        ("logsieve_receiver_requests_abandoned_total", (("receiver", "http"),)): 1.0,
    }


def test_stage_counters_and_gauges_show_their_values() -> None:
    metrics = Metrics()
    metrics.batch_records.inc(1000)
    metrics.batch_entries.inc(10)
    metrics.dedupe_ratio.set(100.0)
    metrics.viewer_sockets.inc()
    metrics.sampled_out.labels(severity="DEBUG").inc(6)
    metrics.exported.inc(8)
    metrics.export_failures.inc()
    metrics.retried.inc(8)
    metrics.dead_lettered.inc(3)
    metrics.purged.inc(11)
    found = samples(metrics.registry)
    unlabelled = {name: value for (name, labels), value in found.items() if not labels}
    expected = {
        "logsieve_batch_records_total": 1000.0,
        "logsieve_batch_entries_total": 10.0,
        "logsieve_batch_dedupe_ratio": 100.0,
        "logsieve_viewer_sockets": 1.0,
        "logsieve_exported_events_total": 8.0,
        "logsieve_export_failed_requests_total": 1.0,
        "logsieve_export_retried_events_total": 8.0,
        "logsieve_dead_lettered_events_total": 3.0,
        "logsieve_purged_rows_total": 11.0,
    }
    assert {name: unlabelled.get(name) for name in expected} == expected
    assert found[("logsieve_sampled_out_records_total", (("severity", "DEBUG"),))] == 6.0
    assert found[("logsieve_sampled_out_records_total", (("severity", "INFO"),))] == 0.0


def test_batch_durations_fall_in_the_documented_buckets() -> None:
    metrics = Metrics()
    for seconds in (0.004, 0.2, 0.2, 45.0, 120.0):
        metrics.batch_seconds.observe(seconds)
    found = samples(metrics.registry)
    buckets = {
        dict(labels)["le"]: value
        for (name, labels), value in found.items()
        if name == "logsieve_batch_duration_seconds_bucket"
    }
    assert list(buckets) == [*(str(float(b)) for b in BATCH_SECONDS), "+Inf"]
    assert buckets["0.01"] == 1.0
    assert buckets["0.1"] == 1.0
    assert buckets["0.25"] == 3.0
    assert buckets["30.0"] == 3.0
    assert buckets["60.0"] == 4.0
    assert buckets["+Inf"] == 5.0
    assert found[("logsieve_batch_duration_seconds_sum", ())] == pytest.approx(165.404)


def test_database_gauges_are_read_from_the_watch_callback_at_each_scrape() -> None:
    metrics = Metrics()
    reads: list[DatabaseGauges] = []

    def read() -> DatabaseGauges:
        reads.append(GAUGES_READ)
        return GAUGES_READ

    metrics.watch(read)
    assert reads == []  # registering does not read the database
    found = samples(metrics.exposition)
    assert len(reads) == 1
    assert {k: v for k, v in found.items() if k[0] in DATABASE_GAUGES} == {
        ("logsieve_queue_depth", ()): 7.0,
        ("logsieve_queue_bytes", ()): 7000.0,
        ("logsieve_queue_oldest_age_seconds", ()): 12.5,
        ("logsieve_outbox_depth", ()): 3.0,
        ("logsieve_dead_letters", ()): 2.0,
        ("logsieve_recent_rows", ()): 40.0,
        ("logsieve_persistent_counter", (("name", "dropped_records"),)): 4.0,
        ("logsieve_persistent_counter", (("name", "sampled_out"),)): 9.0,
    }
    announced = families(metrics.exposition)
    assert len(reads) == 2  # one read per scrape
    assert all(announced[name] == "gauge" for name in DATABASE_GAUGES)


def test_a_failing_database_read_leaves_out_its_gauges_not_the_scrape() -> None:
    metrics = Metrics()
    metrics.purged.inc(2)

    def read() -> DatabaseGauges:
        raise ConnectionError("the database is away")

    metrics.watch(read)
    found = samples(metrics.exposition)
    assert found[("logsieve_purged_rows_total", ())] == 2.0
    assert not any(name in DATABASE_GAUGES for name, _ in found)


def entry(body: str) -> Entry:
    return Entry(body, 9, "INFO", "svc", 1, T0, T0, {}, "", "", "app")


def test_the_gauges_of_a_real_database(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    store.create_schema()
    try:
        rows = rows_from_request(request([Rec("queued")] * 5), T0, store.origin_ids).rows
        store.enqueue(rows)
        store.add_recent([(entry("live"), T0 + 100), (entry("expired"), T0 - 1)])
        metrics = Metrics()
        metrics.watch(lambda: store.database_gauges(T0 + 30 * 1_000_000_000))
        found = samples(metrics.exposition)
    finally:
        store.dispose()
    assert found[("logsieve_queue_depth", ())] == 5.0
    assert found[("logsieve_queue_oldest_age_seconds", ())] == 30.0  # received at T0
    assert found[("logsieve_queue_bytes", ())] > 0
    assert found[("logsieve_recent_rows", ())] == 0.0  # both expired 30 s on
    assert found[("logsieve_outbox_depth", ())] == 0.0
    assert found[("logsieve_dead_letters", ())] == 0.0


def test_without_a_shared_directory_metrics_expose_their_own_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    metrics = Metrics()
    assert metrics.exposition is metrics.registry


def test_with_a_shared_directory_the_gauges_go_where_metrics_are_exposed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    metrics = Metrics()
    assert metrics.exposition is not metrics.registry
    metrics.watch(lambda: GAUGES_READ)
    assert samples(metrics.exposition)[("logsieve_queue_depth", ())] == 7.0
    assert not any(name in DATABASE_GAUGES for name, _ in samples(metrics.registry))
