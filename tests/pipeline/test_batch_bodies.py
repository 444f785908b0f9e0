"""batch.max_batch_bodies: a claim holding more distinct bodies is cut short, exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.model import ClaimedRow
from gateway.pipeline.batch import BatchSettings, BatchStage, rows_within
from gateway.pipeline.sampling import SamplingPolicy
from gateway.store import Store
from gateway.telemetry.metrics import Metrics
from tests.builders import T0, Rec
from tests.pipeline.test_batch import enqueue, fail_once, stage

BODIES = ["a", "a", "b", "c", "b", "d", "e", "d", "a"]


def rows_of(bodies: list[str]) -> list[ClaimedRow]:
    return [(i + 1, T0, 9, body, 1) for i, body in enumerate(bodies)]


def recent_counts(store: Store) -> dict[str, int]:
    counts: dict[str, int] = {}
    for recent in store.recent_newest(T0, 100):
        counts[recent.entry.body] = counts.get(recent.entry.body, 0) + recent.entry.count
    return counts


def test_a_claim_is_cut_at_the_first_row_of_a_body_past_the_bound(store: Store) -> None:
    enqueue(store, [Rec(body, 17) for body in BODIES])
    batch = stage(store, max_batch_bodies=3)
    first = batch.run_once(T0)
    assert (first.claimed, first.entries, first.cut_short) == (5, 3, True)  # a a b c b
    assert store.queue_depth() == 4
    second = batch.run_once(T0)
    assert (second.claimed, second.entries, second.cut_short) == (4, 3, False)  # d e d a
    assert store.queue_depth() == 0
    assert recent_counts(store) == {"a": 3, "b": 2, "c": 1, "d": 2, "e": 1}


def test_run_batches_goes_on_after_a_cut_claim_and_counts_it(store: Store) -> None:
    enqueue(store, [Rec(f"m{i}", 17) for i in range(10)])
    metrics = Metrics()
    settings = BatchSettings(max_batch_bodies=4)
    batch = BatchStage(store, SamplingPolicy(), settings, outbound=[], metrics=metrics)
    report = batch.run_batches(T0)
    assert (report.claimed, report.entries, report.cut_short) == (10, 10, True)
    assert store.queue_depth() == 0
    assert metrics.registry.get_sample_value("logsieve_batch_cut_short_total") == 2  # 4, 4, 2
    assert metrics.registry.get_sample_value("logsieve_batch_records_total") == 10


def test_the_rows_past_the_cut_are_claimable_at_once_by_another_stage(store: Store) -> None:
    """On PostgreSQL each claimed row carries its claim: those past the cut are given back,
    not left to their lease (120 s)."""
    enqueue(store, [Rec(f"m{i}", 17) for i in range(6)])
    assert stage(store, max_batch_bodies=2).run_once(T0).claimed == 2
    assert stage(store).run_once(T0).claimed == 4


def test_a_cut_batch_that_fails_gives_back_every_row(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    enqueue(store, [Rec(body, 17) for body in BODIES])
    fail_once(stage(store, max_batch_bodies=3), store, monkeypatch)
    assert stage(store).run_once(T0).claimed == len(BODIES)
    assert recent_counts(store) == {"a": 3, "b": 2, "c": 1, "d": 2, "e": 1}


def test_rows_within_keeps_every_row_when_the_bodies_fit() -> None:
    assert rows_within(rows_of(BODIES), 5) == len(BODIES)
    assert rows_within(rows_of(BODIES), 100) == len(BODIES)
    assert rows_within([], 1) == 0


@given(st.lists(st.sampled_from("abcdefg"), max_size=40), st.integers(1, 8))
def test_rows_within_is_the_longest_head_within_the_bound(bodies: list[str], bound: int) -> None:
    keep = rows_within(rows_of(bodies), bound)
    assert len(set(bodies[:keep])) <= bound
    assert keep == len(bodies) or len(set(bodies[: keep + 1])) > bound
