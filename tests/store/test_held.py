"""Held entries and budgets in the store, on SQLite and PostgreSQL: holding in the batch's
transaction, merging by key across batches, the move into the outbox in one transaction,
each key's window, the sampled-out records counted, the bucket shared by every gateway."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from gateway.export.budget import BudgetPolicy
from gateway.model import Bucket, Budgeted, Entry, Held, HoldItem, Release
from gateway.otlp import rows_from_request
from gateway.pipeline.holding import merged
from gateway.store import Store
from tests.builders import T0, Rec, request
from tests.conftest import PG_URL

S = 1_000_000_000
WINDOW = 3600 * S


def entry(body: str, count: int = 1, at: int = T0, number: int = 9) -> Entry:
    return Entry(body, number, "INFO", "checkout", count, at, at, services={"checkout": count})


def hold(
    store: Store,
    items: Sequence[HoldItem],
    charged: dict[str, int] | None = None,
    max_held: dict[str, int] | None = None,
) -> bool:
    """Finish a one-record batch that holds `items`, as the batch stage does."""
    store.enqueue(rows_from_request(request([Rec("x")]), T0, store.origin_ids).rows)
    claim = store.claim_batch(1, 60 * S, limit=1)
    budgeted = Budgeted(list(items), merged, charged or {}, max_held or {})
    return store.finish_batch(claim, [], [], T0, held=budgeted)


def item(key: str, body: str, count: int = 1, deadline_s: int = 300, at: int = T0) -> HoldItem:
    return HoldItem("logflare", key, entry(body, count, at), T0 + deadline_s * S)


def send_all(bucket: Bucket | None, held: list[Held], *_: int) -> tuple[Release, Bucket]:
    return Release(tuple(h.id for h in held)), Bucket(0.0, T0, 50.0)


def encode(found: Entry) -> str:
    return json.dumps({"body": found.body, "count": found.count, "rate": found.sample_rate})


def release(store: Store, now: int = T0, decide: object = send_all) -> list[dict[str, object]]:
    store.release_held("logflare", now, WINDOW, decide, encode)  # type: ignore[arg-type]
    return [json.loads(text) for _, text in store.outbox_peek("logflare", 1000)]


def test_a_later_batch_merges_into_the_held_entry_of_its_key(store: Store) -> None:
    assert hold(store, [item("a", "user 1 in", 3, at=T0), item("b", "disk slow")])
    assert hold(store, [item("a", "user 7 in", 4, deadline_s=100, at=T0 + S)])
    state = store.budget_states()
    assert state == {}  # no bucket before the first release
    sent = release(store)
    assert sorted((e["body"], e["count"]) for e in sent) == [("disk slow", 1), ("user 1 in", 7)]
    assert store.counter_values()["budget_merged_entries/logflare"] == 1
    assert store.counter_values()["budget_held_entries/logflare"] == 2


def test_the_earliest_deadline_is_kept_and_due_ones_come_first(store: Store) -> None:
    hold(store, [item("late", "late", deadline_s=600), item("soon", "soon", deadline_s=60)])
    hold(store, [item("late", "late", deadline_s=30)])
    seen: list[list[Held]] = []

    def nothing(bucket: Bucket | None, held: list[Held], *_: int) -> tuple[Release, Bucket]:
        seen.append(held)
        return Release(), Bucket(0.0, T0, 50.0)

    release(store, T0 + 40 * S, nothing)
    assert [(h.key, h.deadline_ns - T0) for h in seen[0]] == [("late", 30 * S), ("soon", 60 * S)]
    assert release(store, T0 + 40 * S, nothing) == []  # nothing chosen: nothing moved


def test_past_max_held_entries_a_new_key_is_due_at_once_and_counted(store: Store) -> None:
    full = {"logflare": 2}
    hold(store, [item("a", "one"), item("b", "two"), item("c", "three")], max_held=full)
    hold(store, [item("a", "one again", 2), item("d", "four")], max_held=full)
    seen: list[list[Held]] = []

    def nothing(bucket: Bucket | None, held: list[Held], *_: int) -> tuple[Release, Bucket]:
        seen.append(held)
        return Release(), Bucket(0.0, T0, 50.0)

    release(store, T0, nothing)
    due = sorted(h.key for h in seen[0] if h.deadline_ns <= T0)
    assert due == ["c", "d"] and len(seen[0]) == 4  # "a" still merges: it takes no new row
    counters = store.counter_values()
    assert counters["budget_overflow_entries/logflare"] == 2
    assert counters["budget_merged_entries/logflare"] == 1


def test_a_released_key_holds_anew_and_its_window_counts_the_sends(store: Store) -> None:
    hold(store, [item("a", "one")])
    release(store)
    hold(store, [item("a", "two")])
    seen: list[list[Held]] = []

    def record(bucket: Bucket | None, held: list[Held], *_: int) -> tuple[Release, Bucket]:
        seen.append(held)
        return send_all(bucket, held)

    release(store, T0 + S, record)
    assert [(h.key, h.sent_in_window) for h in seen[0]] == [("a", 1)]
    assert [e["body"] for e in release(store, T0 + 2 * S)] == ["one", "two"]


def test_entries_sampled_out_count_their_records_and_samples_carry_their_rate(
    store: Store,
) -> None:
    hold(store, [item("a", "kept", 2), item("b", "dropped", 5)])

    def sample(bucket: Bucket | None, held: list[Held], *_: int) -> tuple[Release, Bucket]:
        ids = {h.key: h.id for h in held}
        return Release((ids["a"],), {ids["a"]: 4.0}, (ids["b"],)), Bucket(0.0, T0, 50.0)

    assert release(store, T0, sample) == [{"body": "kept", "count": 2, "rate": 4.0}]
    assert store.counter_values()["budget_sampled_records/logflare"] == 5
    assert store.budget_states()["logflare"].held == 0


def test_the_bucket_is_kept_and_errors_sent_straight_spend_it(store: Store) -> None:
    policy = BudgetPolicy(ceiling=50.0, burst=50)
    hold(store, [item(f"k{i}", f"body {i}") for i in range(80)])
    decide = lambda bucket, held, backlog: policy.decide(bucket, held, T0)  # noqa: E731
    assert len(release(store, T0, decide)) == 50  # a fresh bucket: one second's worth
    state = store.budget_states()["logflare"]
    assert (state.rate, state.held) == (50.0, 30) and state.oldest_held_ns == T0
    hold(store, [], charged={"logflare": 20})  # 20 ERROR events went straight out
    later = lambda bucket, held, backlog: policy.decide(bucket, held, T0 + S)  # noqa: E731
    assert len(release(store, T0 + S, later)) == 50 + 30  # 50 earned, less 20: 30 more


def test_keys_idle_past_their_window_are_forgotten(store: Store) -> None:
    hold(store, [item("a", "one")])
    release(store)
    release(store, T0 + WINDOW + S)
    seen: list[list[Held]] = []

    def record(bucket: Bucket | None, held: list[Held], *_: int) -> tuple[Release, Bucket]:
        seen.append(held)
        return send_all(bucket, held)

    hold(store, [item("a", "again")])
    release(store, T0 + WINDOW + 2 * S, record)
    assert [h.sent_in_window for h in seen[0]] == [0]  # a new row: a new window


def decided(policy: BudgetPolicy, at: int, bucket: Bucket | None, held: list[Held], _: int) -> Any:
    return policy.decide(bucket, held, at)


def test_two_gateways_releasing_at_once_move_each_held_entry_once(store: Store) -> None:
    if store.dialect != "postgresql":
        return  # SQLite has one writer: its releases take turns by construction
    hold(store, [item(f"k{i}", f"body {i}") for i in range(300)])
    other = Store(PG_URL)
    policy = BudgetPolicy(ceiling=100.0, burst=100)
    try:
        with ThreadPoolExecutor(2) as pool:
            for now in range(0, 10 * S, S):
                decide = partial(decided, policy, T0 + now)
                runs = [pool.submit(g.release_held, "logflare", T0 + now, WINDOW, decide, encode)
                        for g in (store, other)]  # fmt: skip
                [run.result() for run in runs]
    finally:
        other.dispose()
    sent = [json.loads(text)["body"] for _, text in store.outbox_peek("logflare", 10_000)]
    assert sorted(sent) == sorted(f"body {i}" for i in range(300))  # each once
    # One shared bucket: 100 at first, then 100 a second, whichever gateway asked.
    assert store.budget_states()["logflare"].held == 0
