"""What Logflare says of its limit steers the budget: an export stage with a budget against
the fake Logflare (a real server) on a fake clock, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.export.budget import BudgetPolicy
from gateway.export.outbox import ExportStage
from gateway.model import Budgeted, Entry, HoldItem
from gateway.otlp import rows_from_request
from gateway.pipeline.holding import merged
from gateway.store import Store
from testkit.clock import FakeClock
from testkit.logflare import FakeLogflare, Fault
from tests.builders import Rec, request
from tests.export.test_logflare import exporter_for

NS = 1_000_000_000


@pytest.fixture
def limited(clock: FakeClock) -> Iterator[FakeLogflare]:
    with FakeLogflare(clock=clock, source_rate=20) as server:
        yield server


def hold(store: Store, clock: FakeClock, count: int) -> None:
    """`count` INFO entries of distinct keys held for Logflare, due in 5 minutes."""
    now = clock.now_ns()
    items = [
        HoldItem("logflare", f"k{i}", Entry(f"b{i}", 9, "INFO", "s", 1, now, now), now + 300 * NS)
        for i in range(count)
    ]
    store.enqueue(rows_from_request(request([Rec("x")]), now, store.origin_ids).rows)
    store.finish_batch(store.claim_batch(1, 60 * NS, 1), [], [], now, held=Budgeted(items, merged))


def stage(store: Store, fake: FakeLogflare, ceiling: float = 0.0) -> ExportStage:
    policy = BudgetPolicy(ceiling=ceiling)
    return ExportStage(store, exporter_for(fake), budget=policy, batch_events=500)


def test_the_announced_limit_caps_the_rate_and_no_429_follows(
    store: Store, limited: FakeLogflare, clock: FakeClock
) -> None:
    hold(store, clock, 200)
    exporter = stage(store, limited, ceiling=100.0)  # set higher than the store allows
    for _ in range(15):
        exporter.run_once(clock.now_ns())
        clock.advance(1)
    state = store.budget_states()["logflare"]
    assert state.limit == 20 and state.rate <= 18.0  # 90 % of the announced limit
    refused = [r.at_ns for r in limited.requests if r.status == 429]
    assert len(refused) <= 1  # the first second, before anything was announced
    assert sum(r.event_count for r in limited.requests if r.status == 200) >= 150


def test_a_429_halves_the_rate_and_it_recovers_gradually(
    store: Store, fake: FakeLogflare, clock: FakeClock
) -> None:
    hold(store, clock, 100)
    exporter = stage(store, fake, ceiling=40.0)
    exporter.run_once(clock.now_ns())  # the first 40 go, at the ceiling
    fake.fail_next(Fault.quota())
    clock.advance(1)
    exporter.run_once(clock.now_ns())
    halved = store.budget_states()["logflare"].rate
    assert halved == pytest.approx(20.0, rel=0.05)
    clock.advance(10)
    exporter.run_once(clock.now_ns())
    assert halved < store.budget_states()["logflare"].rate < 40.0
