"""Learned patterns' statements, mixed into Store: totals per template and merged ids.

Totals are written by finish_batch, in the transaction that deletes the batch's rows, so they
count every record exactly once whatever crashes. Invariant kept by every statement here: an
alias points at a stored pattern, one hop deep (a merge re-points the aliases of the id it
retires; eviction drops the aliases of the patterns it deletes).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import fields, replace
from itertools import chain
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, delete, func, select, text

from gateway.model import LearnedPattern
from gateway.store._bulk import statement_sizes
from gateway.store._merges import aliases, apply_merges, merged_ids
from gateway.store._schema import log_pattern, pattern_alias, recent_log_entries

# Pattern writes take turns on PostgreSQL: a batch's upserts and merges lock rows in an order
# of their own, and two gateways doing both at once could otherwise deadlock.
PATTERN_LOCK = 0x70617474  # "patt"
EVICTED_COUNTER = "evicted_patterns"
# log_pattern's columns are LearnedPattern's fields, of the same names.
_PATTERN_COLUMNS = tuple(field.name for field in fields(LearnedPattern))
_pattern_row = attrgetter(*_PATTERN_COLUMNS)
_MARK = {"sqlite": "?", "postgresql": "%s"}


class PatternStatements:
    """Pattern totals and merges, and the reads of the miner, `logsieve patterns` and the page."""

    dialect: str

    def _writing(self, locked: bool = True) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _reading(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _add_to_counter(self, conn: Connection, name: str, amount: int) -> None:
        raise NotImplementedError

    def add_patterns(
        self, patterns: Sequence[LearnedPattern], merges: Mapping[int, int] | None = None
    ) -> None:
        """Add totals and merges outside a batch (tools and tests); see _store_patterns."""
        with self._writing() as conn:
            self._store_patterns(conn, patterns, merges or {})

    def _store_patterns(
        self, conn: Connection, patterns: Sequence[LearnedPattern], merges: Mapping[int, int]
    ) -> None:
        """Inside the caller's transaction: add each pattern's totals to its survivor's row
        (created when new, keeping the first template and example), then apply the merges
        (narrow id -> wide id), each carrying the narrow row's totals exactly once."""
        if not patterns and not merges:
            return
        if self.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PATTERN_LOCK})
        aliased = merged_ids(conn, self.dialect, [pattern.id for pattern in patterns])
        _upsert(conn, self.dialect, _by_survivor(patterns, aliased))
        apply_merges(conn, self.dialect, merges)

    def known_patterns(self, limit: int) -> list[LearnedPattern]:
        """The `limit` most recently seen patterns, newest first (a miner starting up)."""
        order = (log_pattern.c.last_seen.desc(), log_pattern.c.id)
        return self._patterns(select(log_pattern).order_by(*order).limit(limit))

    def known_templates(self, limit: int) -> list[str]:
        """known_patterns' templates alone, oldest first (the order a starting miner loads
        them in): a miner needs no example bodies or totals, which would double what loading
        100,000 patterns holds at its peak."""
        newest = (log_pattern.c.last_seen.desc(), log_pattern.c.id)
        chosen = select(log_pattern.c.template, log_pattern.c.last_seen, log_pattern.c.id)
        known = chosen.order_by(*newest).limit(limit).subquery()
        oldest = select(known.c.template).order_by(known.c.last_seen, known.c.id.desc())
        with self._reading() as conn:
            return list(conn.execute(oldest).scalars())

    def top_patterns(self, since_ns: int, limit: int) -> list[LearnedPattern]:
        """The `limit` patterns with the highest totals among those seen at or after since_ns,
        highest first."""
        order = (log_pattern.c.count.desc(), log_pattern.c.id)
        seen = log_pattern.c.last_seen >= since_ns
        return self._patterns(select(log_pattern).where(seen).order_by(*order).limit(limit))

    def top_patterns_of_service(
        self, service: str, since_ns: int, now: int, limit: int
    ) -> list[LearnedPattern]:
        """top_patterns, only those with an entry of `service` seen at or after since_ns in
        the live window (recent_log_entries not yet expired). An entry may hold an id merged
        since it was written: its survivor counts (aliases are one hop deep)."""
        recent = recent_log_entries.c
        in_window = select(recent.pattern_id).where(
            recent.service == service,
            recent.expires_at > now,
            recent.last_seen >= since_ns,
            recent.pattern_id.is_not(None),
        )
        merged = select(pattern_alias.c.wide).where(pattern_alias.c.narrow.in_(in_window))
        chosen = log_pattern.c.id.in_(in_window) | log_pattern.c.id.in_(merged)
        order = (log_pattern.c.count.desc(), log_pattern.c.id)
        seen = log_pattern.c.last_seen >= since_ns
        statement = select(log_pattern).where(seen, chosen).order_by(*order).limit(limit)
        return self._patterns(statement)

    def _patterns(self, statement: Any) -> list[LearnedPattern]:
        with self._reading() as conn:
            return [_learned(row) for row in conn.execute(statement).mappings()]

    def pattern_count(self) -> int:
        with self._reading() as conn:
            return int(conn.execute(select(func.count()).select_from(log_pattern)).scalar_one())

    def resolve_pattern_ids(self, ids: Iterable[int]) -> dict[int, int]:
        """Each id -> the id of the pattern it now counts in: itself, unless it was merged."""
        wanted = set(ids)
        with self._reading() as conn:
            return aliases(conn, self.dialect, wanted)

    def pattern_family(self, pattern_id: int) -> set[int]:
        """The ids an entry of this pattern may carry: the pattern it now counts in, and
        every id merged into that one (entries written before a merge keep their old id)."""
        survivor = self.resolve_pattern_ids([pattern_id]).get(pattern_id, pattern_id)
        merged = select(pattern_alias.c.narrow).where(pattern_alias.c.wide == survivor)
        with self._reading() as conn:
            narrow = conn.execute(merged).scalars().all()
        return {pattern_id, survivor, *(int(i) for i in narrow)}

    def evict_patterns(self, max_patterns: int) -> int:
        """Delete the least recently seen patterns beyond the newest `max_patterns`, with the
        aliases that led to them; returns how many (also added to counter evicted_patterns)."""
        newest_first = (log_pattern.c.last_seen.desc(), log_pattern.c.id.desc())
        beyond = select(log_pattern.c.id).order_by(*newest_first).offset(max_patterns)
        evicted = delete(log_pattern).where(log_pattern.c.id.in_(beyond.scalar_subquery()))
        stored = select(log_pattern.c.id).where(log_pattern.c.id == pattern_alias.c.wide)
        orphans = delete(pattern_alias).where(~stored.exists())
        with self._writing() as conn:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PATTERN_LOCK})
            count = int(conn.execute(evicted).rowcount)
            if count:
                conn.execute(orphans)
                self._add_to_counter(conn, EVICTED_COUNTER, count)
        return count


def _learned(row: Any) -> LearnedPattern:
    return LearnedPattern(
        id=int(row["id"]),
        template=str(row["template"]),
        first_seen=int(row["first_seen"]),
        last_seen=int(row["last_seen"]),
        count=int(row["count"]),
        example=str(row["example"]),
    )


def _by_survivor(
    patterns: Sequence[LearnedPattern], aliased: Mapping[int, int]
) -> list[LearnedPattern]:
    """One pattern per survivor, in id order (a multi-row upsert may touch a row only once on
    PostgreSQL): the totals of every pattern that resolves to it (`aliased`: the ids merged
    into another; every other id survives itself). A survivor's own pattern is its row as it
    is: a batch's 50,000 patterns are not copied at its memory peak."""
    merged: dict[int, LearnedPattern] = {}
    # The survivor's own pattern first: its template and example are the ones a new row takes.
    ordered = patterns
    if aliased:
        ordered = sorted(patterns, key=lambda found: found.id in aliased)
    for pattern in ordered:
        target = aliased.get(pattern.id, pattern.id)
        known = merged.get(target)
        if known is not None:
            merged[target] = _sum(known, pattern)
        else:
            merged[target] = pattern if target == pattern.id else replace(pattern, id=target)
    return [merged[target] for target in sorted(merged)]


def _sum(known: LearnedPattern, more: LearnedPattern) -> LearnedPattern:
    return replace(
        known,
        first_seen=min(known.first_seen, more.first_seen),
        last_seen=max(known.last_seen, more.last_seen),
        count=known.count + more.count,
    )


def _upsert(conn: Connection, dialect: str, patterns: Sequence[LearnedPattern]) -> None:
    """The patterns' rows a statement at a time (never all of them at once)."""
    start = 0
    for size in statement_sizes(len(patterns)):
        chunk = map(_pattern_row, patterns[start : start + size])
        conn.exec_driver_sql(_upsert_sql(dialect, size), tuple(chain.from_iterable(chunk)))
        start += size


@functools.lru_cache(maxsize=64)
def _upsert_sql(dialect: str, rows: int) -> str:
    """INSERT of `rows` patterns; one already stored gets the new totals added instead."""
    one = "(" + ", ".join([_MARK[dialect]] * len(_PATTERN_COLUMNS)) + ")"
    return (
        f"INSERT INTO log_pattern ({', '.join(_PATTERN_COLUMNS)}) VALUES "
        + ", ".join([one] * rows)
        + " ON CONFLICT (id) DO UPDATE SET count = log_pattern.count + excluded.count,"
        " first_seen = CASE WHEN excluded.first_seen < log_pattern.first_seen"
        " THEN excluded.first_seen ELSE log_pattern.first_seen END,"
        " last_seen = CASE WHEN excluded.last_seen > log_pattern.last_seen"
        " THEN excluded.last_seen ELSE log_pattern.last_seen END"
    )
