"""Store.window_patterns on SQLite and PostgreSQL: the Patterns view's top patterns of the
window by records, each with its bands, services and records per minute of first_seen."""

from __future__ import annotations

from gateway.model import Entry, PatternRef
from gateway.store import Store, WindowPattern
from gateway.store._viewer import MAX_PATTERN_SERVICES, MINUTE_NS, SHORT_TEXT_CHARS

NS = 1_000_000_000
# 12:00:30 on some day: the current minute started 30 s ago.
NOW = 1_767_268_800 * NS + 30 * NS
MINUTES = 60
CONNECT = PatternRef(0x1A2B3C4D5E6F7081, "Failed to connect to <IP> after <NUM> ms")
BLOCK = PatternRef(0x0123456789ABCDEF, "PacketResponder <NUM> for block <*> terminating")
# The top bit clear, every other set: the largest id the miner makes (63 bits).
LARGEST = PatternRef(0x7FFF_FFFF_FFFF_FFFF, "user <*> logged in")


def add(
    store: Store,
    pattern: PatternRef | None,
    count: int,
    *,
    minutes_ago: float = 0,
    band: str = "INFO",
    service: str = "checkout",
    expires_in: int = 3600 * NS,
) -> None:
    seen = NOW - int(minutes_ago * MINUTE_NS)
    entry = Entry("a body", 9, band, service, count, seen, seen, pattern=pattern)
    store.add_recent([(entry, NOW + expires_in)])


def by_id(found: list[WindowPattern]) -> dict[int, WindowPattern]:
    return {pattern.id: pattern for pattern in found}


def test_the_top_patterns_by_records_with_bands_services_and_minutes(store: Store) -> None:
    add(store, CONNECT, 1500, minutes_ago=0.4)  # this minute
    add(store, CONNECT, 500, minutes_ago=5, band="ERROR", service="search")
    add(store, CONNECT, 7, minutes_ago=5, band="WARN")
    add(store, BLOCK, 30, minutes_ago=59)  # the first of the 60 minutes
    add(store, BLOCK, 20, minutes_ago=61)  # before them: in the total only
    add(store, None, 10_000)  # grouped by body: no pattern
    add(store, LARGEST, 1)

    found = store.window_patterns(NOW, limit=10, minutes=MINUTES)

    assert [pattern.id for pattern in found] == [CONNECT.id, BLOCK.id, LARGEST.id]
    connect, block, largest = found
    assert connect.template == CONNECT.template
    assert connect.count == 2007
    assert connect.severities == ("INFO", "WARN", "ERROR")  # in band order
    assert connect.services == ("checkout", "search")  # most records first
    assert connect.service_count == 2
    assert len(connect.per_minute) == MINUTES
    assert connect.per_minute[-1] == 1500
    assert connect.per_minute[-6] == 507
    assert sum(connect.per_minute) == 2007
    assert block.count == 50
    assert block.per_minute[0] == 30 and sum(block.per_minute) == 30
    assert (largest.id, largest.count, largest.severities) == (LARGEST.id, 1, ("INFO",))


def test_only_unexpired_entries_count_and_the_limit_keeps_the_largest(store: Store) -> None:
    add(store, CONNECT, 1000, expires_in=0)  # expires at now: gone
    add(store, CONNECT, 5)
    add(store, BLOCK, 6)
    add(store, LARGEST, 7)

    found = store.window_patterns(NOW, limit=2, minutes=MINUTES)

    assert [(pattern.id, pattern.count) for pattern in found] == [(LARGEST.id, 7), (BLOCK.id, 6)]
    assert store.window_patterns(NOW + 3600 * NS, limit=2, minutes=MINUTES) == []


def test_entries_first_seen_after_now_count_in_the_total_only(store: Store) -> None:
    add(store, CONNECT, 3, minutes_ago=-2)  # a producer's clock ahead of ours
    add(store, CONNECT, 4)

    (connect,) = store.window_patterns(NOW, limit=5, minutes=MINUTES)

    assert connect.count == 7
    assert connect.per_minute[-1] == 4 and sum(connect.per_minute) == 4


def test_services_are_capped_with_their_number_kept(store: Store) -> None:
    for i in range(MAX_PATTERN_SERVICES + 3):
        add(store, CONNECT, 100 - i, service=f"svc-{i:02d}")

    (connect,) = store.window_patterns(NOW, limit=5, minutes=MINUTES)

    assert connect.services == tuple(f"svc-{i:02d}" for i in range(MAX_PATTERN_SERVICES))
    assert connect.service_count == MAX_PATTERN_SERVICES + 3


def test_long_templates_and_services_are_cut(store: Store) -> None:
    long = PatternRef(CONNECT.id, "x" * (SHORT_TEXT_CHARS * 3) + " <*>")
    add(store, long, 2, service="s" * (SHORT_TEXT_CHARS * 2))

    (found,) = store.window_patterns(NOW, limit=5, minutes=MINUTES)

    assert found.template == "x" * SHORT_TEXT_CHARS
    assert found.services == ("s" * SHORT_TEXT_CHARS,)


def test_an_empty_window_has_no_patterns(store: Store) -> None:
    add(store, None, 3)
    assert store.window_patterns(NOW, limit=5, minutes=MINUTES) == []
