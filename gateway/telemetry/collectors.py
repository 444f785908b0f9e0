"""Metrics computed when Prometheus scrapes, rather than counted as things happen.

- What the database says (queue, outbox, dead letters, live rows, budgets, and the running
  totals of its `counters` table): read at each scrape, so right for every process and every
  gateway sharing the database. The running totals are counters
  (`logsieve_persistent_<name>_total`), exact across restarts because the database keeps them;
  as the database is shared, gateways on one database show the same value: aggregate them
  with max(), not sum().
- `logsieve_build_info`: which release, Python and storage backend answer.
- The process metrics (process_cpu_seconds_total, process_resident_memory_bytes ...) of
  every process of the gateway, with a `role` label: "main" for the process serving /metrics
  and "batch", "viewer", "ingest-1"... for its children. prometheus-client's multiprocess
  mode cannot carry them (each process's values live in its own /proc entry, not in the
  shared files), so the serving process reads each child's /proc entry itself, by pid.
"""

from __future__ import annotations

import os
import platform
import re
import threading
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import ProcessCollector
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from gateway import __version__
from gateway.model import DatabaseGauges

# The running totals the gateway keeps in the database, by their name there. A name not
# listed here (written by a newer release) is shown too, with a generic description.
PERSISTENT_COUNTERS = {
    "dropped_records": "Queued records below ERROR dropped to make room"
    " (queue.when_full: drop_lowest_severity)",
    "dropped_events": "Events waiting for an exporter below ERROR dropped to make room"
    " (exporters.<name>.max_outbox_events), by exporter",
    "evicted_patterns": "Least recently seen patterns deleted beyond batch.patterns.max_patterns",
    "budget_held_entries": "Entries a budget held back to wait for room (exporters.<name>.budget),"
    " by exporter",
    "budget_merged_entries": "Entries merged into one their key already had held (one event then"
    " carries both counts), by exporter",
    "budget_sampled_records": "Records of held entries a budget sampled out, its last resort when"
    " merging cannot hold it (the events sent carry their sample_rate), by exporter",
    "budget_overflow_entries": "New keys' entries a budget could not hold, due at once because"
    " exporters.<name>.budget.max_held_entries was reached, by exporter",
}
PER_EXPORTER = frozenset(  # kept as "<name>/<exporter>"
    {
        "dropped_events",
        "budget_held_entries",
        "budget_merged_entries",
        "budget_sampled_records",
        "budget_overflow_entries",
    }
)
PERSISTENT_PREFIX = "logsieve_persistent_"
KEPT = ", kept in the database: exact across restarts, the same for every gateway sharing it"
_METRIC_NAME = re.compile(r"[a-z_][a-z0-9_]*")
Processes = Callable[[], Mapping[str, int | None]]  # role -> pid (None: not running now)


class DatabaseCollector(Collector):
    def __init__(self, read: Callable[[], DatabaseGauges], exporters: tuple[str, ...]) -> None:
        self._read = read
        self._exporters = exporters  # configured: their series show 0 rather than nothing
        self._lock = threading.Lock()  # one database read at a time, however many scrapers

    def describe(self) -> Iterator[Metric]:
        return iter(())  # unknown until read: the registry must not call collect() to learn

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            try:
                gauges = self._read()
            except Exception:  # the database is away: /readyz says so; the scrape goes on
                gauges = None
        if gauges is not None:
            yield from _database_families(gauges, dict.fromkeys(self._exporters, 0))
            yield from persistent_counters(gauges.counters, self._exporters)


def _database_families(g: DatabaseGauges, zeros: dict[str, int]) -> Iterator[Metric]:
    yield _gauge("logsieve_queue_depth", "Records waiting in the queue", g.queue_depth)
    yield _gauge("logsieve_queue_bytes", "Bytes of the queued records", g.queue_bytes)
    yield _gauge(
        "logsieve_queue_oldest_age_seconds",
        "Age of the oldest queued record",
        g.queue_oldest_age_s,
    )
    yield _by_exporter(
        "logsieve_outbox_depth", "Events waiting to be sent", zeros | g.outbox_depths
    )
    dead = zeros | g.dead_letters
    yield _by_exporter("logsieve_dead_letters", "Events refused by a backend, kept", dead)
    yield _gauge("logsieve_recent_rows", "Unexpired rows of the live view", g.recent_rows)
    yield from _budget_families(g)


def _budget_families(g: DatabaseGauges) -> Iterator[Metric]:
    """Each budgeted exporter's budget, as the store keeps it (an exporter appears with its
    budget's first release, at the export stage's first run)."""
    budgets = g.budgets
    yield _by_exporter(
        "logsieve_budget_rate",
        "Events per second the exporter's budget lets it send now (lowered by the backend's"
        " answers, recovering gradually)",
        {name: b.rate for name, b in budgets.items()},
    )
    yield _by_exporter(
        "logsieve_budget_limit",
        "Events per second the backend announced as its limit; 0 when it announced none",
        {name: b.limit for name, b in budgets.items()},
    )
    yield _by_exporter(
        "logsieve_budget_held_entries",
        "Entries the exporter's budget holds, waiting for room or for their wait to run out",
        {name: b.held for name, b in budgets.items()},
    )
    yield _by_exporter(
        "logsieve_budget_oldest_wait_seconds",
        "How long the longest-waiting held entry has waited; 0 when none is held",
        {name: g.budget_waits_s.get(name, 0.0) for name in budgets},
    )


def _by_exporter(name: str, documentation: str, values: Mapping[str, float]) -> Metric:
    family = GaugeMetricFamily(name, documentation, labels=["exporter"])
    for exporter, value in sorted(values.items()):
        family.add_metric([exporter], value)
    return family


def persistent_counters(
    stored: Mapping[str, int], exporters: tuple[str, ...] = ()
) -> Iterator[Metric]:
    """One counter per running total: the known ones at 0 before their first event, so an
    alert on them works from the start. A total kept per exporter ("dropped_events/otlp") is
    one counter with an `exporter` label."""
    values = {name: 0 for name in PERSISTENT_COUNTERS if name not in PER_EXPORTER}
    values |= {f"{name}/{exporter}": 0 for name in PER_EXPORTER for exporter in exporters}
    values |= _legacy_named(stored)
    families: dict[str, CounterMetricFamily] = {}
    for key, value in sorted(values.items()):
        name, _, exporter = key.partition("/")
        if not _METRIC_NAME.fullmatch(name):  # a name Prometheus cannot take is left out
            continue
        about = PERSISTENT_COUNTERS.get(name, f"The running total {name}") + KEPT
        labels = ["exporter"] if exporter else []
        family = families.setdefault(
            name, CounterMetricFamily(PERSISTENT_PREFIX + name, about, labels=labels)
        )
        family.add_metric([exporter] if exporter else [], value)
    yield from families.values()


def _legacy_named(stored: Mapping[str, int]) -> dict[str, int]:
    """Before several exporters, dropped events were Logflare's, under a name of their own."""
    values = dict(stored)
    if "dropped_events" in values:
        legacy = values.pop("dropped_events")
        values["dropped_events/logflare"] = values.get("dropped_events/logflare", 0) + legacy
    return values


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class BuildInfoCollector(Collector):
    """logsieve_build_info{version, python, storage} 1: constant for the process's life."""

    def __init__(self, storage: str) -> None:
        self._labels = {
            "version": __version__,
            "python": platform.python_version(),
            "storage": storage,
        }

    def collect(self) -> Iterator[Metric]:
        info = InfoMetricFamily("logsieve_build", "Which logsieve answers, on what")
        info.add_metric([], self._labels)
        yield info


def storage_backend(url: str) -> str:
    """ "sqlite" or "postgresql" from a storage URL (never the rest of it: it may hold a
    password)."""
    return url.split(":", 1)[0].split("+", 1)[0] if ":" in url else ""


class ProcessesCollector(Collector):
    """prometheus-client's process metrics for each process `processes` names, by role."""

    def __init__(self, processes: Processes | None = None) -> None:
        self.processes = processes or (lambda: {})

    def collect(self) -> Iterator[Metric]:
        roles = {"main": os.getpid(), **self.processes()}
        merged: dict[str, Metric] = {}
        for role, pid in roles.items():
            if pid is None:
                continue
            for family in ProcessCollector(pid=_fixed(pid), registry=None).collect():
                into = merged.setdefault(
                    family.name, Metric(family.name, family.documentation, family.type)
                )
                for sample in family.samples:
                    into.add_sample(sample.name, {**sample.labels, "role": role}, sample.value)
        yield from merged.values()


def _fixed(pid: int) -> Callable[[], int]:
    return lambda: pid
