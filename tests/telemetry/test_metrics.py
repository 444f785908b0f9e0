"""gateway/telemetry/metrics.py: the gateway's metric names and labels as Prometheus reads them,
counters that move by exactly what they are told, and the database gauges read per scrape."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from gateway.model import BudgetState, DatabaseGauges, Entry
from gateway.otlp import rows_from_request
from gateway.store import Store
from gateway.telemetry.metrics import BATCH_SECONDS, RECORD_REFUSALS, REQUEST_REFUSALS, Metrics
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
    "logsieve_batch_cut_short": (),
    "logsieve_sampled_out_records": ("severity",),
    "logsieve_exported_events": ("exporter",),
    "logsieve_export_failed_requests": ("exporter",),
    "logsieve_export_retried_events": ("exporter",),
    "logsieve_dead_lettered_events": ("exporter",),
    "logsieve_export_rejected_records": ("exporter",),
    "logsieve_budget_released_events": ("exporter",),
    "logsieve_budget_sampled_events": ("exporter",),
    "logsieve_purged_rows": (),
    "logsieve_evicted_patterns": (),
}
GAUGES = (
    "logsieve_viewer_sockets",
    "logsieve_batch_dedupe_ratio",
    "logsieve_receiver_requests_in_flight",
)
# Read at each scrape: the build, and prometheus-client's process and platform metrics.
SCRAPE_TIME = {
    "logsieve_build_info": "gauge",
    "process_cpu_seconds": "counter",
    "process_max_fds": "gauge",
    "process_open_fds": "gauge",
    "process_resident_memory_bytes": "gauge",
    "process_start_time_seconds": "gauge",
    "process_virtual_memory_bytes": "gauge",
    "python_info": "gauge",
}
DATABASE_GAUGES = (
    "logsieve_queue_depth",
    "logsieve_queue_bytes",
    "logsieve_queue_oldest_age_seconds",
    "logsieve_outbox_depth",
    "logsieve_dead_letters",
    "logsieve_recent_rows",
    "logsieve_budget_rate",
    "logsieve_budget_limit",
    "logsieve_budget_held_entries",
    "logsieve_budget_oldest_wait_seconds",
)
PERSISTENT = (  # the database's running totals, as counters
    "logsieve_persistent_dropped_events",
    "logsieve_persistent_dropped_records",
    "logsieve_persistent_evicted_patterns",
    "logsieve_persistent_budget_held_entries",
    "logsieve_persistent_budget_merged_entries",
    "logsieve_persistent_budget_sampled_records",
)
FROM_THE_DATABASE = (*DATABASE_GAUGES, *(f"{name}_total" for name in PERSISTENT))
GAUGES_READ = DatabaseGauges(
    queue_depth=7,
    queue_bytes=7000,
    queue_oldest_age_s=12.5,
    outbox_depths={"logflare": 3},
    dead_letters={"otlp": 2},
    recent_rows=40,
    counters={"sampled_out": 9, "dropped_records": 4, "budget_merged_entries/logflare": 6},
    budgets={"logflare": BudgetState(rate=45.0, limit=50.0, held=1234, oldest_held_ns=T0)},
    budget_waits_s={"logflare": 130.0},
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


EXPORTERS = ("logflare", "otlp")


def test_every_metric_is_announced_by_name_and_type_from_the_start() -> None:
    announced = families(Metrics(exporters=EXPORTERS).registry)
    assert announced == {
        **dict.fromkeys(COUNTERS, "counter"),
        **dict.fromkeys(GAUGES, "gauge"),
        "logsieve_batch_duration_seconds": "histogram",
        **SCRAPE_TIME,
    }


def test_every_counter_and_every_known_label_set_starts_at_zero() -> None:
    found = samples(Metrics(exporters=EXPORTERS).registry)
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
    # Every receiver and reason: an alert on refusals sees 0 before the first refusal.
    for name, labels in COUNTERS.items():
        present = {key for key in found if key[0] == f"{name}_total"}
        if "reason" in labels:
            reasons = REQUEST_REFUSALS if "requests" in name else RECORD_REFUSALS
            assert present == {
                (f"{name}_total", (("reason", reason), ("receiver", receiver)))
                for reason in reasons
                for receiver in ("grpc", "http")
            }, name
        elif labels == ("receiver",):
            assert present == {
                (f"{name}_total", (("receiver", receiver),)) for receiver in ("grpc", "http")
            }, name
        elif labels == ("exporter",):  # the configured exporters
            assert present == {(f"{name}_total", (("exporter", e),)) for e in EXPORTERS}, name
        assert all(found[key] == 0.0 for key in present), name


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
    receiver = {key: value for key, value in found.items() if "receiver_" in key[0] and value}
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
    metrics = Metrics(exporters=EXPORTERS)
    metrics.batch_records.inc(1000)
    metrics.batch_entries.inc(10)
    metrics.dedupe_ratio.set(100.0)
    metrics.viewer_sockets.inc()
    metrics.sampled_out.labels(severity="DEBUG").inc(6)
    metrics.export_done("otlp", sent=8, dead_lettered=3)
    metrics.export_failed("otlp", 8)
    metrics.rejected("otlp", 2)
    metrics.released("otlp", 5, 2)
    metrics.purged.inc(11)
    found = samples(metrics.registry)
    unlabelled = {name: value for (name, labels), value in found.items() if not labels}
    expected = {
        "logsieve_batch_records_total": 1000.0,
        "logsieve_batch_entries_total": 10.0,
        "logsieve_batch_dedupe_ratio": 100.0,
        "logsieve_viewer_sockets": 1.0,
        "logsieve_purged_rows_total": 11.0,
    }
    assert {name: unlabelled.get(name) for name in expected} == expected
    per_exporter = {
        (name, dict(labels)["exporter"]): value
        for (name, labels), value in found.items()
        if dict(labels).get("exporter")
    }
    assert {key: value for key, value in per_exporter.items() if key[1] == "otlp"} == {
        ("logsieve_exported_events_total", "otlp"): 8.0,
        ("logsieve_export_failed_requests_total", "otlp"): 1.0,
        ("logsieve_export_retried_events_total", "otlp"): 8.0,
        ("logsieve_dead_lettered_events_total", "otlp"): 3.0,
        ("logsieve_export_rejected_records_total", "otlp"): 2.0,
        ("logsieve_budget_released_events_total", "otlp"): 5.0,
        ("logsieve_budget_sampled_events_total", "otlp"): 2.0,
    }
    assert not any(value for key, value in per_exporter.items() if key[1] == "logflare")
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
    metrics = Metrics(exporters=EXPORTERS)
    reads: list[DatabaseGauges] = []

    def read() -> DatabaseGauges:
        reads.append(GAUGES_READ)
        return GAUGES_READ

    metrics.watch(read)
    assert reads == []  # registering does not read the database
    found = samples(metrics.exposition)
    assert len(reads) == 1
    no_row_yet: Samples = {  # 0, for every configured exporter
        (f"logsieve_persistent_{name}_total", (("exporter", exporter),)): 0.0
        for name in ("dropped_events", "budget_held_entries", "budget_sampled_records")
        for exporter in EXPORTERS
    }
    assert {k: v for k, v in found.items() if k[0] in FROM_THE_DATABASE} == {
        ("logsieve_queue_depth", ()): 7.0,
        ("logsieve_queue_bytes", ()): 7000.0,
        ("logsieve_queue_oldest_age_seconds", ()): 12.5,
        ("logsieve_outbox_depth", (("exporter", "logflare"),)): 3.0,
        ("logsieve_outbox_depth", (("exporter", "otlp"),)): 0.0,  # configured: 0, not absent
        ("logsieve_dead_letters", (("exporter", "logflare"),)): 0.0,
        ("logsieve_dead_letters", (("exporter", "otlp"),)): 2.0,
        ("logsieve_recent_rows", ()): 40.0,
        # Only the budgeted exporter has a budget's series.
        ("logsieve_budget_rate", (("exporter", "logflare"),)): 45.0,
        ("logsieve_budget_limit", (("exporter", "logflare"),)): 50.0,
        ("logsieve_budget_held_entries", (("exporter", "logflare"),)): 1234.0,
        ("logsieve_budget_oldest_wait_seconds", (("exporter", "logflare"),)): 130.0,
        ("logsieve_persistent_dropped_records_total", ()): 4.0,
        ("logsieve_persistent_budget_merged_entries_total", (("exporter", "logflare"),)): 6.0,
        **no_row_yet,
        ("logsieve_persistent_budget_merged_entries_total", (("exporter", "otlp"),)): 0.0,
        ("logsieve_persistent_evicted_patterns_total", ()): 0.0,
    }
    assert found[("logsieve_persistent_sampled_out_total", ())] == 9.0  # a name not known here
    announced = families(metrics.exposition)
    assert len(reads) == 2  # one read per scrape
    assert all(announced[name] == "gauge" for name in DATABASE_GAUGES)
    assert all(announced[name] == "counter" for name in PERSISTENT)
    assert "logsieve_persistent_counter" not in announced  # the old generic gauge is gone


def test_a_failing_database_read_leaves_out_its_gauges_not_the_scrape() -> None:
    metrics = Metrics()
    metrics.purged.inc(2)

    def read() -> DatabaseGauges:
        raise ConnectionError("the database is away")

    metrics.watch(read)
    found = samples(metrics.exposition)
    assert found[("logsieve_purged_rows_total", ())] == 2.0
    assert not any(name in FROM_THE_DATABASE for name, _ in found)


def entry(body: str) -> Entry:
    return Entry(body, 9, "INFO", "svc", 1, T0, T0, {}, "", "", "app")


def test_the_gauges_of_a_real_database(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    store.create_schema()
    try:
        rows = rows_from_request(request([Rec("queued")] * 5), T0, store.origin_ids).rows
        store.enqueue(rows)
        store.add_recent([(entry("live"), T0 + 100), (entry("expired"), T0 - 1)])
        metrics = Metrics(exporters=("logflare",))
        metrics.watch(lambda: store.database_gauges(T0 + 30 * 1_000_000_000))
        found = samples(metrics.exposition)
    finally:
        store.dispose()
    assert found[("logsieve_queue_depth", ())] == 5.0
    assert found[("logsieve_queue_oldest_age_seconds", ())] == 30.0  # received at T0
    assert found[("logsieve_queue_bytes", ())] > 0
    assert found[("logsieve_recent_rows", ())] == 0.0  # both expired 30 s on
    assert found[("logsieve_outbox_depth", (("exporter", "logflare"),))] == 0.0
    assert found[("logsieve_dead_letters", (("exporter", "logflare"),))] == 0.0


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
    assert not any(name in FROM_THE_DATABASE for name, _ in samples(metrics.registry))
