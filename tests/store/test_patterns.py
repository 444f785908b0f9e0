"""Learned patterns in the store, on SQLite and PostgreSQL: totals added in the transaction
that finishes a batch, merges that carry totals exactly once, aliases, eviction, the reads,
and recent entries that keep their pattern."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial

import pytest

from gateway.model import Entry, LearnedPattern, PatternRef, VariableValues
from gateway.otlp import rows_from_request
from gateway.store import Store, _bulk
from tests.builders import T0, Rec, request
from tests.conftest import PG_URL

S = 1_000_000_000


def pattern_id(template: str) -> int:
    """The miner's id of a template (issue 15): 63 bits, so it fits a signed BIGINT."""
    return int.from_bytes(hashlib.blake2b(template.encode(), digest_size=8).digest(), "big") >> 1


NARROW = pattern_id("Invalid user admin from <IP>")
WIDE = pattern_id("Invalid user <*> from <IP>")
WIDER = pattern_id("Invalid <*> <*> from <IP>")


def learned(pattern_id: int, count: int, first: int = T0, last: int = T0) -> LearnedPattern:
    """A batch's totals for one pattern; template and example name the id and the batch."""
    return LearnedPattern(
        pattern_id, f"template {pattern_id}", first, last, count, f"example {pattern_id}@{first}"
    )


def totals(store: Store) -> dict[int, tuple[int, int, int]]:
    """Every stored pattern: id -> (count, first_seen, last_seen)."""
    found = store.known_patterns(1_000_000)
    return {p.id: (p.count, p.first_seen, p.last_seen) for p in found}


def finish(
    store: Store,
    patterns: list[LearnedPattern],
    merges: dict[int, int] | None = None,
    token: int = 1,
) -> bool:
    """Finish a one-record batch with these pattern totals, as the batch stage does."""
    store.enqueue(rows_from_request(request([Rec("x")]), T0, store.origin_ids).rows)
    claim = store.claim_batch(token, 60 * S, limit=1)
    return store.finish_batch(claim, [], [], T0, patterns=patterns, merges=merges or {})


def run_together(*calls: Callable[[], object]) -> None:
    """Run the calls in threads that start at the same moment; re-raise the first error."""
    barrier = threading.Barrier(len(calls), timeout=30)  # a stuck peer fails, not hangs

    def started(call: Callable[[], object]) -> object:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        for future in [pool.submit(started, call) for call in calls]:
            future.result()


@contextmanager
def another_gateway(store: Store) -> Iterator[Store]:
    """A second Store on the same database: its own connections, its own writer lock."""
    url = f"sqlite:///{store.path}" if store.dialect == "sqlite" else PG_URL
    other = Store(url, pool_size=4)
    try:
        yield other
    finally:
        other.dispose()


def test_totals_are_exact_over_several_batches(store: Store) -> None:
    assert finish(store, [learned(1, 5, T0 + 10, T0 + 20), learned(2, 1)])
    assert finish(store, [learned(1, 7, T0 + 5, T0 + 15)])
    assert finish(store, [learned(1, 1, T0 + 30, T0 + 40), learned(2, 2, T0 + 1, T0 + 1)])
    assert totals(store) == {1: (13, T0 + 5, T0 + 40), 2: (3, T0, T0 + 1)}
    (first,) = [p for p in store.known_patterns(10) if p.id == 1]
    assert (first.template, first.example) == ("template 1", f"example 1@{T0 + 10}")  # kept


def test_a_batch_that_lost_its_claim_adds_no_totals(store: Store) -> None:
    store.enqueue(rows_from_request(request([Rec("x")]), T0, store.origin_ids).rows)
    stalled = store.claim_batch(1, -S, limit=1)  # its lease has already run out
    taker = store.claim_batch(2, 60 * S, limit=1)
    assert not store.finish_batch(stalled, [], [], T0, patterns=[learned(1, 5)], merges={1: 2})
    assert store.pattern_count() == 0 and store.resolve_pattern_ids([1]) == {1: 1}
    assert store.finish_batch(taker, [], [], T0, patterns=[learned(1, 5)])
    assert totals(store) == {1: (5, T0, T0)}


def test_a_merge_moves_the_narrow_totals_into_the_wide_pattern(store: Store) -> None:
    assert finish(store, [learned(NARROW, 4, T0 - 5, T0)])
    assert finish(store, [learned(WIDE, 3, T0 + 1, T0 + 9)], merges={NARROW: WIDE})
    assert totals(store) == {WIDE: (7, T0 - 5, T0 + 9)}
    assert store.resolve_pattern_ids([NARROW, WIDE, 999]) == {NARROW: WIDE, WIDE: WIDE, 999: 999}


def test_a_merge_applied_by_two_gateways_carries_the_totals_once(store: Store) -> None:
    store.add_patterns([learned(NARROW, 4), learned(WIDE, 3)])
    with another_gateway(store) as other:
        run_together(
            *(
                lambda g=g: g.add_patterns([learned(WIDE, 1)], {NARROW: WIDE})
                for g in (store, other)
            )
        )
    assert totals(store) == {WIDE: (4 + 3 + 1 + 1, T0, T0)}
    assert store.resolve_pattern_ids([NARROW]) == {NARROW: WIDE}


def test_an_upsert_of_a_merged_id_lands_on_the_survivor(store: Store) -> None:
    store.add_patterns([learned(NARROW, 4), learned(WIDE, 3)], {NARROW: WIDE})
    # A gateway that has not learned the merge yet still sends the narrow id, alone or
    # beside the wide one in the same batch.
    assert finish(store, [learned(NARROW, 10, T0 - 1, T0 + 1)])
    assert finish(store, [learned(NARROW, 1), learned(WIDE, 2, T0, T0 + 5)])
    assert totals(store) == {WIDE: (4 + 3 + 10 + 1 + 2, T0 - 1, T0 + 5)}
    (survivor,) = store.known_patterns(10)
    assert survivor.template == f"template {WIDE}"  # never the narrow one's


def test_alias_chains_resolve_to_the_last_survivor(store: Store) -> None:
    store.add_patterns([learned(NARROW, 1), learned(WIDE, 2)], {NARROW: WIDE})
    store.add_patterns([learned(WIDER, 4)], {WIDE: WIDER})
    assert store.resolve_pattern_ids([NARROW, WIDE]) == {NARROW: WIDER, WIDE: WIDER}
    store.add_patterns([learned(NARROW, 8)])
    assert totals(store) == {WIDER: (15, T0, T0)}


def test_a_family_is_the_survivor_and_every_id_merged_into_it(store: Store) -> None:
    store.add_patterns([learned(NARROW, 1), learned(WIDE, 2)], {NARROW: WIDE})
    assert store.pattern_family(NARROW) == store.pattern_family(WIDE) == {NARROW, WIDE}
    store.add_patterns([learned(WIDER, 4)], {WIDE: WIDER})
    assert store.pattern_family(WIDER) == {NARROW, WIDE, WIDER}
    assert store.pattern_family(12345) == {12345}  # unknown: itself alone


@pytest.mark.parametrize("narrow, wide, wider", [(1, 2, 3), (3, 2, 1)])  # either merge first
def test_a_chain_learned_in_one_batch_resolves_whatever_its_order(
    store: Store, narrow: int, wide: int, wider: int
) -> None:
    store.add_patterns([learned(narrow, 1), learned(wide, 2)])
    assert finish(store, [learned(wider, 4)], merges={wide: wider, narrow: wide})
    assert store.resolve_pattern_ids([narrow, wide]) == {narrow: wider, wide: wider}
    assert totals(store) == {wider: (7, T0, T0)}


def test_merges_that_cannot_apply_change_nothing(store: Store) -> None:
    store.add_patterns([learned(NARROW, 1), learned(WIDE, 2)], {NARROW: WIDE})
    store.add_patterns([], {WIDE: NARROW})  # back into the id it retired: a cycle
    store.add_patterns([], {NARROW: WIDER})  # already merged: the first merge wins
    store.add_patterns([learned(5, 6)], {5: 404})  # nowhere to carry the totals
    assert totals(store) == {WIDE: (3, T0, T0), 5: (6, T0, T0)}
    assert store.resolve_pattern_ids([NARROW, WIDE, 5]) == {NARROW: WIDE, WIDE: WIDE, 5: 5}


def test_a_merge_of_an_id_never_stored_only_records_the_alias(store: Store) -> None:
    store.add_patterns([learned(WIDE, 2)], {NARROW: WIDE})
    assert totals(store) == {WIDE: (2, T0, T0)}
    assert store.resolve_pattern_ids([NARROW]) == {NARROW: WIDE}


def test_ids_of_all_63_bits_are_stored_and_resolved(store: Store) -> None:
    largest, smallest = 2**63 - 1, 0
    assert max(NARROW, WIDE, WIDER) > 2**62  # real ids use the whole range
    store.add_patterns([learned(largest, 1), learned(WIDE, 2)], {smallest: largest})
    store.add_patterns([learned(smallest, 3)])
    assert totals(store) == {largest: (4, T0, T0), WIDE: (2, T0, T0)}
    resolved = store.resolve_pattern_ids([smallest, 7, WIDE, largest])
    assert resolved == {smallest: largest, 7: 7, WIDE: WIDE, largest: largest}


def test_known_patterns_are_the_most_recently_seen_first(store: Store) -> None:
    store.add_patterns([learned(i, 1, T0, T0 + (i * 7) % 10) for i in range(10)])
    assert [p.id for p in store.known_patterns(4)] == [7, 4, 1, 8]
    assert store.known_patterns(0) == []


def test_known_templates_are_the_known_patterns_oldest_first(store: Store) -> None:
    # ties on last_seen included: ids 0, 10 and 20 share one
    store.add_patterns([learned(i, 1, T0, T0 + (i * 7) % 10) for i in range(25)])
    newest_first = [p.template for p in store.known_patterns(12)]
    assert store.known_templates(12) == newest_first[::-1]
    assert store.known_templates(0) == []


def test_top_patterns_are_the_largest_totals_seen_since(store: Store) -> None:
    store.add_patterns([learned(1, 50, T0, T0), learned(2, 5, T0, T0 + 10)])
    store.add_patterns([learned(3, 20, T0, T0 + 20), learned(4, 30, T0, T0 + 30)])
    assert [p.id for p in store.top_patterns(T0 + 10, 10)] == [4, 3, 2]
    assert [p.id for p in store.top_patterns(T0, 2)] == [1, 4]
    assert store.top_patterns(T0 + 31, 10) == []


def test_eviction_keeps_the_newest_max_patterns_and_their_aliases_only(store: Store) -> None:
    store.add_patterns([learned(i, 1, T0, T0 + i) for i in range(1, 11)])
    store.add_patterns([], {100: 2, 200: 9})
    assert store.evict_patterns(max_patterns=4) == 6
    assert sorted(totals(store)) == [7, 8, 9, 10]
    assert store.resolve_pattern_ids([100, 200]) == {100: 100, 200: 9}  # 2 went, 9 stayed
    assert store.evict_patterns(max_patterns=4) == 0
    assert store.counter("evicted_patterns") == 6


def test_more_patterns_than_one_statement_holds(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_bulk, "ROWS_PER_STATEMENT", 64)  # several full statements and a rest
    ids = range(1, 300)
    store.add_patterns([learned(i, i) for i in ids], {i: i + 1000 for i in range(1, 100)})
    store.add_patterns([learned(i + 1000, 1) for i in range(1, 100)])
    assert finish(store, [learned(i, 1) for i in ids], merges={i: i + 1000 for i in range(1, 100)})
    found = totals(store)
    assert len(found) == 299 and sum(count for count, _, _ in found.values()) == sum(ids) + 99 + 299
    resolved = store.resolve_pattern_ids(ids)
    assert all(resolved[i] == (i + 1000 if i < 100 else i) for i in ids)


def test_gateways_adding_the_same_patterns_at_once_end_with_exact_totals(store: Store) -> None:
    rounds, ids = 20, list(range(1, 40))

    def add(gateway: Store, offset: int) -> None:
        for turn in range(rounds):
            batch = ids[offset:] + ids[:offset]  # each thread in its own order
            gateway.add_patterns([learned(i, 1, T0 - turn, T0 + turn) for i in batch])

    with another_gateway(store) as other:
        workers = [(store, 0), (store, 10), (other, 20), (other, 30)]
        run_together(*(partial(add, gateway, offset) for gateway, offset in workers))
    expected = (4 * rounds, T0 - rounds + 1, T0 + rounds - 1)
    assert totals(store) == {i: expected for i in ids}


def test_gateways_merging_while_others_still_send_the_narrow_ids_never_deadlock(
    store: Store,
) -> None:
    """One gateway merges into WIDE while another still adds to a narrow id and merges
    another one into WIDE: row locks taken in opposite orders, unless the writes take turns."""
    narrow = [(1000 + turn, 2000 + turn) for turn in range(15)]
    store.add_patterns([learned(WIDE, 1)] + [learned(n, 1) for pair in narrow for n in pair])
    with another_gateway(store) as other:
        for first, second in narrow:  # the two writes of a round start together
            run_together(
                partial(store.add_patterns, [learned(WIDE, 1)], {first: WIDE}),
                partial(other.add_patterns, [learned(first, 1)], {second: WIDE}),
            )
    assert totals(store) == {WIDE: (1 + 4 * len(narrow), T0, T0)}


def test_two_gateways_finishing_batches_at_once_count_every_record_once(store: Store) -> None:
    if store.dialect != "postgresql":
        return  # SQLite has one batch stage at a time: the head lease orders them
    store.enqueue(rows_from_request(request([Rec("x")] * 40), T0, store.origin_ids).rows)
    finished: list[bool] = []

    def batches(gateway: Store, token: int) -> None:
        while (claim := gateway.claim_batch(token, 60 * S, limit=3)).rows:
            counts = [learned(1, len(claim.rows)), learned(2, 1), learned(NARROW, 1)]
            finished.append(gateway.finish_batch(claim, [], [], T0, counts, {NARROW: WIDE}))

    with another_gateway(store) as other:
        run_together(partial(batches, store, 1), partial(batches, other, 2))
    assert all(finished) and store.queue_depth() == 0
    assert totals(store)[1][0] == 40 and totals(store)[2][0] == len(finished)
    assert store.resolve_pattern_ids([NARROW]) == {NARROW: NARROW}  # WIDE is never stored


PATTERN = PatternRef(
    7,
    "Failed to connect to <IP> after <NUM> ms",
    (
        VariableValues((("10.0.0.7", 3), ("10.0.0.8", 1)), other=2, distinct=4),
        VariableValues((("3012", 5),), other=1, distinct=2),
    ),
)


def pattern_entry(body: str, pattern: PatternRef | None = PATTERN) -> Entry:
    return Entry(body, 9, "INFO", "svc", 6, T0, T0, {"k": "v"}, pattern=pattern)


def test_recent_entries_keep_their_pattern(store: Store) -> None:
    plain = pattern_entry("no pattern", None)
    bare = pattern_entry("a pattern without variables", PatternRef(8, "a pattern", ()))
    shown = pattern_entry("Failed to connect to 10.0.0.7 after 3012 ms")
    store.enqueue(rows_from_request(request([Rec("x")]), T0, store.origin_ids).rows)
    claim = store.claim_batch(1, 60 * S, limit=1)
    recent = [(shown, T0 + S), (plain, T0 + S), (bare, T0 + S)]
    assert store.finish_batch(claim, recent, [], T0)
    assert [r.entry for r in store.recent_after(0, T0, 10)] == [shown, plain, bare]
    assert [r.entry for r in store.recent_newest(T0, 10, max_chars=1000)] == [shown, plain, bare]
    first = store.recent_after(0, T0, 1)[0]
    assert store.recent_entry(first.id, T0) == first


def test_a_shortened_read_cuts_the_template_and_leaves_out_large_variables(store: Store) -> None:
    huge_value = "v" * 5000
    variables = (VariableValues(((huge_value, 2),), other=0, distinct=1),)
    big = pattern_entry("x" * 50, PatternRef(9, "t" * 3000, variables))
    store.add_recent([(big, T0 + S), (pattern_entry("fits"), T0 + S)])
    cut, fits = store.recent_after(0, T0, 10, max_chars=1000)
    assert cut.entry.pattern == PatternRef(9, "t" * 1000, ())
    assert cut.attributes_elided and cut.shortened and cut.entry.attributes == {}
    assert fits.entry == pattern_entry("fits") and not fits.shortened
    assert store.recent_entry(cut.id, T0) == cut.__class__(cut.id, big, T0 + S)  # whole
