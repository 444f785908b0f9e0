"""gateway/telemetry/collectors.py: the database's running totals as counters of their own,
exact across a restart; logsieve_build_info; process metrics per process, by role."""

from __future__ import annotations

import platform
import subprocess
import sys
from collections.abc import Iterator

import pytest

from gateway import __version__
from gateway.model import DatabaseGauges
from gateway.otlp import rows_from_request
from gateway.store import Store
from gateway.telemetry.collectors import storage_backend
from gateway.telemetry.metrics import Metrics
from tests.budget_kit import NS, hold, set_bucket
from tests.builders import T0, Rec, request
from tests.telemetry.test_metrics import families, samples

PROCESS_FAMILIES = (
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_start_time_seconds",
    "process_open_fds",
    "process_max_fds",
)
BUDGET_GAUGES = (
    "logsieve_budget_rate",
    "logsieve_budget_limit",
    "logsieve_budget_held_entries",
    "logsieve_budget_oldest_wait_seconds",
)


def dropped_after_restart(url: str, drops: int) -> float:
    """Drop `drops` queued DEBUG records as the overload policy does, then read the counter
    through a fresh Store and Metrics, as a restarted gateway would."""
    store = Store(url)
    store.create_schema()
    try:
        rows = rows_from_request(request([Rec("chatty", 5)] * drops), T0, store.origin_ids).rows
        store.enqueue(rows)
        assert len(store.drop_lowest_severity(drops, 0, 17)) == 1  # one severity: DEBUG
    finally:
        store.dispose()
    restarted = Store(url)
    try:
        metrics = Metrics(storage_url=url)
        metrics.watch(lambda: restarted.database_gauges(T0))
        found = samples(metrics.exposition)
        assert families(metrics.exposition)["logsieve_persistent_dropped_records"] == "counter"
        return found[("logsieve_persistent_dropped_records_total", ())]
    finally:
        restarted.dispose()


def test_a_running_total_is_a_counter_with_its_exact_value_after_a_restart(
    sqlite_url: str,
) -> None:
    assert dropped_after_restart(sqlite_url, 3) == 3.0
    assert dropped_after_restart(sqlite_url, 4) == 7.0  # the database's total, not this run's


def test_known_totals_show_zero_before_their_first_event(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    store.create_schema()
    try:
        metrics = Metrics(exporters=("logflare",))
        metrics.watch(lambda: store.database_gauges(T0))
        found = samples(metrics.exposition)
    finally:
        store.dispose()
    persistent = {key: value for key, value in found.items() if "persistent" in key[0]}
    assert persistent == {
        ("logsieve_persistent_dropped_records_total", ()): 0.0,
        ("logsieve_persistent_dropped_events_total", (("exporter", "logflare"),)): 0.0,
        ("logsieve_persistent_evicted_patterns_total", ()): 0.0,
        ("logsieve_persistent_budget_held_entries_total", (("exporter", "logflare"),)): 0.0,
        ("logsieve_persistent_budget_merged_entries_total", (("exporter", "logflare"),)): 0.0,
        ("logsieve_persistent_budget_sampled_records_total", (("exporter", "logflare"),)): 0.0,
        ("logsieve_persistent_budget_overflow_entries_total", (("exporter", "logflare"),)): 0.0,
    }
    assert not any(name in BUDGET_GAUGES for name, _ in found)  # no budget yet


def test_a_budget_in_the_store_shows_its_rate_limit_held_entries_and_oldest_wait(
    sqlite_url: str,
) -> None:
    """Read from the store at each scrape, so every gateway sharing the database agrees; the
    held and merged entries are the store's running totals."""
    store = Store(sqlite_url)
    store.create_schema()
    try:
        hold(store, ["user <NUM> in", "disk slow"], T0)
        hold(store, ["user <NUM> in"], T0 + 20 * NS)  # merged into the first one's entry
        set_bucket(store, T0 + 30 * NS, rate=45.0, limit=50.0)
        metrics = Metrics(exporters=("logflare", "otlp"))
        metrics.watch(lambda: store.database_gauges(T0 + 130 * NS))
        found = samples(metrics.exposition)
        assert families(metrics.exposition)["logsieve_budget_rate"] == "gauge"
    finally:
        store.dispose()
    budget = {
        key: value
        for key, value in found.items()
        if key[0] in BUDGET_GAUGES or "persistent" in key[0]
    }
    logflare, otlp = (("exporter", "logflare"),), (("exporter", "otlp"),)
    assert budget == {
        ("logsieve_budget_rate", logflare): 45.0,
        ("logsieve_budget_limit", logflare): 50.0,
        ("logsieve_budget_held_entries", logflare): 2.0,
        ("logsieve_budget_oldest_wait_seconds", logflare): 130.0,
        ("logsieve_persistent_budget_held_entries_total", logflare): 2.0,
        ("logsieve_persistent_budget_merged_entries_total", logflare): 1.0,
        ("logsieve_persistent_budget_sampled_records_total", logflare): 0.0,
        ("logsieve_persistent_budget_overflow_entries_total", logflare): 0.0,
        ("logsieve_persistent_budget_held_entries_total", otlp): 0.0,
        ("logsieve_persistent_budget_merged_entries_total", otlp): 0.0,
        ("logsieve_persistent_budget_sampled_records_total", otlp): 0.0,
        ("logsieve_persistent_budget_overflow_entries_total", otlp): 0.0,
        ("logsieve_persistent_dropped_events_total", logflare): 0.0,
        ("logsieve_persistent_dropped_events_total", otlp): 0.0,
        ("logsieve_persistent_dropped_records_total", ()): 0.0,
        ("logsieve_persistent_evicted_patterns_total", ()): 0.0,
    }


def test_dropped_events_are_counted_per_exporter_and_the_old_total_is_logflares() -> None:
    metrics = Metrics(exporters=("logflare", "otlp"))
    stored = {"dropped_events": 4, "dropped_events/logflare": 1, "dropped_events/otlp": 7}
    metrics.watch(lambda: DatabaseGauges(0, 0, 0.0, {}, {}, 0, stored))
    found = samples(metrics.exposition)
    dropped = "logsieve_persistent_dropped_events_total"
    assert found[(dropped, (("exporter", "logflare"),))] == 5.0  # before version 6, and after
    assert found[(dropped, (("exporter", "otlp"),))] == 7.0
    assert (dropped, ()) not in found


def test_a_stored_name_prometheus_cannot_take_is_left_out() -> None:
    metrics = Metrics()
    counters = {"ok_name": 2, "bad name{}": 5, "Upper": 1}
    metrics.watch(lambda: DatabaseGauges(0, 0, 0.0, {}, {}, 0, counters))
    persistent = {n: v for (n, _), v in samples(metrics.exposition).items() if "persistent" in n}
    assert persistent["logsieve_persistent_ok_name_total"] == 2.0
    assert not any("bad" in name or "Upper" in name for name in persistent)


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("sqlite:///data/logsieve.db", "sqlite"),
        ("postgresql+psycopg://logsieve:s3cret@db.example:5432/logs", "postgresql"),
        ("", ""),
    ],
)
def test_build_info_names_release_python_and_backend_never_the_url(url: str, backend: str) -> None:
    assert storage_backend(url) == backend
    found = samples(Metrics(storage_url=url).exposition)
    build = {
        labels: value for (name, labels), value in found.items() if name.endswith("build_info")
    }
    labels = (("python", platform.python_version()), ("storage", backend))
    assert build == {(*labels, ("version", __version__)): 1.0}
    assert "s3cret" not in str(found)


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    """A real process standing in for a batch child (it waits on its stdin)."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    yield process
    assert process.stdin is not None
    process.stdin.close()
    process.wait(30)


def test_process_metrics_for_this_process_and_each_child_by_role(
    child: subprocess.Popen[bytes],
) -> None:
    metrics = Metrics()
    metrics.watch_processes(lambda: {"batch": child.pid, "viewer": None})  # viewer: not running
    found = samples(metrics.exposition)
    for family in PROCESS_FAMILIES:
        roles = {dict(labels)["role"] for name, labels in found if name == family}
        assert roles == {"main", "batch"}, family
    start = "process_start_time_seconds"
    assert found[(start, (("role", "batch"),))] >= found[(start, (("role", "main"),))]
    assert found[("process_resident_memory_bytes", (("role", "main"),))] > 1_000_000


def test_a_child_gone_between_scrapes_leaves_out_its_series_not_the_scrape(
    child: subprocess.Popen[bytes],
) -> None:
    metrics = Metrics()
    metrics.watch_processes(lambda: {"batch": child.pid})
    assert child.stdin is not None
    child.stdin.close()
    child.wait(30)
    found = samples(metrics.exposition)
    roles = {dict(labels).get("role") for name, labels in found if name.startswith("process_")}
    assert roles == {"main"}
