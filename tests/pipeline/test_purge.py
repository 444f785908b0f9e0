"""gateway/pipeline/purge.py: PurgeJob deletes the live view's expired entries a chunk per
transaction, at most max_chunks a run, keeps the others, and counts what it deleted (SQLite
and PostgreSQL: the `store` fixture runs each test on both)."""

from __future__ import annotations

import pytest

from gateway.model import Entry, LearnedPattern
from gateway.pipeline.purge import PurgeJob
from gateway.store import Store
from gateway.telemetry.metrics import Metrics
from tests.builders import T0

PURGED = "logsieve_purged_rows_total"


def entry(body: str) -> Entry:
    return Entry(body, 9, "INFO", "svc", 1, T0, T0, {}, "", "", "app")


def expiring(store: Store, count: int) -> None:
    """Entries e0..e{count-1}, entry i expiring at T0 + i."""
    store.add_recent([(entry(f"e{i}"), T0 + i) for i in range(count)])


def stored_bodies(store: Store) -> list[str]:
    """Every row still in the table, expired or not (read as of before any expiry)."""
    return [r.entry.body for r in store.recent_newest(T0 - 1, 1000)]


@pytest.fixture
def chunks(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int]]:
    """Each purge_expired call the job makes: (now, chunk, rows deleted)."""
    calls: list[tuple[int, int, int]] = []
    purge_expired = store.purge_expired

    def recorded(now: int, chunk: int) -> int:
        deleted = purge_expired(now, chunk)
        calls.append((now, chunk, deleted))
        return deleted

    monkeypatch.setattr(store, "purge_expired", recorded)
    return calls


def test_expired_entries_go_in_chunks_and_the_others_stay(
    store: Store, chunks: list[tuple[int, int, int]]
) -> None:
    expiring(store, 25)
    job = PurgeJob(store, chunk_rows=8)
    assert job.run_once(T0 + 20) == 21  # e0..e20: expired at or before now
    assert chunks == [(T0 + 20, 8, 8), (T0 + 20, 8, 8), (T0 + 20, 8, 5)]  # a short chunk ends it
    assert stored_bodies(store) == ["e21", "e22", "e23", "e24"]


def test_a_full_last_chunk_takes_one_more_look(
    store: Store, chunks: list[tuple[int, int, int]]
) -> None:
    expiring(store, 20)
    assert PurgeJob(store, chunk_rows=4).run_once(T0 + 7) == 8
    assert [deleted for _, _, deleted in chunks] == [4, 4, 0]
    assert stored_bodies(store) == [f"e{i}" for i in range(8, 20)]


def test_a_run_stops_after_max_chunks_and_the_next_goes_on(
    store: Store, chunks: list[tuple[int, int, int]]
) -> None:
    expiring(store, 25)
    job = PurgeJob(store, chunk_rows=4, max_chunks=3)
    assert job.run_once(T0 + 100) == 12  # 25 expired; three chunks of four a run
    assert len(chunks) == 3
    assert len(stored_bodies(store)) == 13
    assert job.run_once(T0 + 100) == 12
    assert job.run_once(T0 + 100) == 1
    assert stored_bodies(store) == []


def test_the_oldest_expiries_go_first(store: Store) -> None:
    store.add_recent([(entry("late"), T0 + 9), (entry("early"), T0 + 1), (entry("mid"), T0 + 5)])
    assert PurgeJob(store, chunk_rows=1, max_chunks=1).run_once(T0 + 10) == 1
    assert sorted(stored_bodies(store)) == ["late", "mid"]
    assert PurgeJob(store, chunk_rows=1, max_chunks=1).run_once(T0 + 10) == 1
    assert stored_bodies(store) == ["late"]


def test_nothing_expired_deletes_nothing(store: Store) -> None:
    expiring(store, 3)
    assert PurgeJob(store).run_once(T0 - 1) == 0
    assert stored_bodies(store) == ["e0", "e1", "e2"]
    assert PurgeJob(store).run_once(T0) == 1  # expires_at == now: expired


def test_purged_rows_are_counted_in_metrics(store: Store) -> None:
    metrics = Metrics()
    expiring(store, 10)
    job = PurgeJob(store, chunk_rows=3, metrics=metrics)
    assert metrics.registry.get_sample_value(PURGED) == 0.0
    job.run_once(T0 + 3)
    assert metrics.registry.get_sample_value(PURGED) == 4.0
    job.run_once(T0 + 3)  # nothing more to purge: the count stays
    assert metrics.registry.get_sample_value(PURGED) == 4.0
    job.run_once(T0 + 100)
    assert metrics.registry.get_sample_value(PURGED) == 10.0


def learned(number: int) -> LearnedPattern:
    """Pattern `number`, last seen at T0 + number: higher numbers are newer."""
    return LearnedPattern(
        number, f"pattern {number} <*>", T0, T0 + number, 1, f"pattern {number} x"
    )


def test_patterns_beyond_max_patterns_are_evicted_oldest_first_and_counted(store: Store) -> None:
    metrics = Metrics()
    store.add_patterns([learned(n) for n in range(1, 8)])
    job = PurgeJob(store, max_patterns=5, metrics=metrics)
    job.run_once(T0)
    assert sorted(p.id for p in store.known_patterns(100)) == [3, 4, 5, 6, 7]
    assert metrics.registry.get_sample_value("logsieve_evicted_patterns_total") == 2.0
    job.run_once(T0)  # within the bound: nothing more goes
    assert metrics.registry.get_sample_value("logsieve_evicted_patterns_total") == 2.0


def test_without_pattern_grouping_no_pattern_is_touched(store: Store) -> None:
    store.add_patterns([learned(n) for n in range(1, 8)])
    PurgeJob(store).run_once(T0)
    assert store.pattern_count() == 7
