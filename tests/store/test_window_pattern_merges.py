"""Store.window_patterns after patterns merged, on SQLite and PostgreSQL: entries written
before a merge keep the narrow id, yet the Patterns view shows one row per surviving pattern
(its id and template) with the records, bands, services and minutes of all its members."""

from __future__ import annotations

from gateway.model import Entry, LearnedPattern, PatternRef
from gateway.otlp import rows_from_request
from gateway.store import Store, WindowPattern
from gateway.store._viewer import MINUTE_NS
from tests.builders import Rec, request

NS = 1_000_000_000
NOW = 1_767_268_800 * NS + 30 * NS  # 30 s into a minute
MINUTES = 60
NARROW = PatternRef(0x11, "Invalid user admin from <IP>")
WIDE = PatternRef(0x7FFF_FFFF_FFFF_FF22, "Invalid user <*> from <IP>")  # 63 bits, as the miner's
WIDER = PatternRef(0x33, "Invalid <*> <*> from <IP>")
OTHER = PatternRef(0x44, "PacketResponder <NUM> terminating")


def add(
    store: Store,
    pattern: PatternRef,
    count: int,
    *,
    minutes_ago: int = 0,
    band: str = "INFO",
    service: str = "checkout",
) -> None:
    seen = NOW - minutes_ago * MINUTE_NS
    entry = Entry("a body", 9, band, service, count, seen, seen, pattern=pattern)
    store.add_recent([(entry, NOW + 3600 * NS)])


def learned(pattern: PatternRef, count: int = 1) -> LearnedPattern:
    return LearnedPattern(pattern.id, pattern.template, NOW, NOW, count, "an example")


def merge_in_a_batch(store: Store, narrow: PatternRef, wide: PatternRef) -> None:
    """Finish a one-record batch that learned `wide` and merged `narrow` into it, as the
    batch stage does."""
    store.enqueue(rows_from_request(request([Rec("x")]), NOW, store.origin_ids).rows)
    claim = store.claim_batch(1, 60 * NS, limit=1)
    merges = {narrow.id: wide.id}
    assert store.finish_batch(claim, [], [], NOW, patterns=[learned(wide)], merges=merges)


def window(store: Store, limit: int = 10) -> list[WindowPattern]:
    return store.window_patterns(NOW, limit=limit, minutes=MINUTES)


def test_a_merged_pattern_is_one_row_with_its_members_summed(store: Store) -> None:
    store.add_patterns([learned(NARROW)])
    add(store, NARROW, 40, minutes_ago=3, band="WARN", service="search")  # before the merge
    add(store, NARROW, 2, minutes_ago=70)  # before the sparkline: in the total only
    merge_in_a_batch(store, NARROW, WIDE)
    add(store, WIDE, 5, minutes_ago=3)
    add(store, WIDE, 100, band="ERROR")
    add(store, OTHER, 120)  # more than either member alone, less than both

    merged, other = window(store)

    assert (merged.id, merged.template, merged.count) == (WIDE.id, WIDE.template, 147)
    assert merged.severities == ("INFO", "WARN", "ERROR")
    assert merged.services == ("checkout", "search") and merged.service_count == 2
    assert merged.per_minute[-1] == 100 and merged.per_minute[-4] == 45
    assert sum(merged.per_minute) == 145
    assert (other.id, other.count) == (OTHER.id, 120)


def test_only_narrow_entries_show_under_the_survivor_s_stored_template(store: Store) -> None:
    add(store, NARROW, 6)
    store.add_patterns([learned(NARROW), learned(WIDE)], {NARROW.id: WIDE.id})

    (merged,) = window(store)

    assert (merged.id, merged.template, merged.count) == (WIDE.id, WIDE.template, 6)
    assert merged.per_minute[-1] == 6


def test_a_chain_of_merges_is_one_row_of_the_last_survivor(store: Store) -> None:
    add(store, NARROW, 1)
    merge_in_a_batch(store, NARROW, WIDE)
    add(store, WIDE, 20, service="search")
    store.add_patterns([learned(WIDER)], {WIDE.id: WIDER.id})
    add(store, WIDER, 300)
    add(store, OTHER, 310)

    top = window(store, limit=1)  # the family's 321 outranks 310: the limit counts survivors

    assert [(p.id, p.template, p.count) for p in top] == [(WIDER.id, WIDER.template, 321)]
    assert top[0].services == ("checkout", "search")
    assert sum(top[0].per_minute) == 321


def test_patterns_never_merged_keep_their_own_rows(store: Store) -> None:
    add(store, NARROW, 3)
    add(store, WIDE, 4)
    store.add_patterns([learned(NARROW), learned(WIDE)])

    assert [(p.id, p.count) for p in window(store)] == [(WIDE.id, 4), (NARROW.id, 3)]
