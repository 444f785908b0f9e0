"""A batch's pattern merges applied together: the same end state as applying them one by one,
in a fixed number of statements instead of six per merge.

`plan` is pure: it replays the merges in order on the aliases and stored ids read up front, as
the one-by-one statements would see them, and says which apply and where each retired id's
totals end up (its survivor, or the survivor's survivor when a later merge retires that one).
`retire` then writes the result: delete the retired rows (their totals are only what this
transaction deleted, so a merge two gateways both apply carries them once), add the totals to
each final survivor, record the aliases, and re-point every alias that led to a retired id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from gateway.store._claims import raw_rows
from gateway.store._schema import log_pattern, pattern_alias

_ALIASES = {  # the whole id list as one bound parameter, however long
    "sqlite": "SELECT narrow, wide FROM pattern_alias"
    " WHERE narrow IN (SELECT value FROM json_each(?))",
    "postgresql": "SELECT narrow, wide FROM pattern_alias WHERE narrow = ANY(%s)",
}

_ALIAS_CHUNK = 4_096  # ids an alias query reads (see merged_ids)


@dataclass(frozen=True, slots=True)
class MergePlan:
    retired: dict[int, int]  # each retired id -> the survivor that ends up with its totals


def aliases(conn: Connection, dialect: str, ids: set[int]) -> dict[int, int]:
    """Each id -> its survivor (itself when it has no alias)."""
    survivors = {pattern_id: pattern_id for pattern_id in ids}
    survivors |= merged_ids(conn, dialect, ids)
    return survivors


def merged_ids(conn: Connection, dialect: str, ids: Iterable[int]) -> dict[int, int]:
    """Those of the (distinct) ids that have an alias -> their survivor (the others survive
    themselves). _ALIAS_CHUNK ids a query: SQLite reads a batch's 50,000 at once into a
    JSON tree and a table for IN of its own, 5 MiB more at the batch's peak."""
    ordered = sorted(ids)
    found: dict[int, int] = {}
    for start in range(0, len(ordered), _ALIAS_CHUNK):
        chunk = ordered[start : start + _ALIAS_CHUNK]
        param: Any = json.dumps(chunk) if dialect == "sqlite" else chunk
        found.update((int(n), int(w)) for n, w in raw_rows(conn, _ALIASES[dialect], (param,)))
    return found


def apply_merges(conn: Connection, dialect: str, merges: Mapping[int, int]) -> None:
    """Inside the caller's transaction, after the batch's totals are upserted."""
    if not merges:
        return
    known = aliases(conn, dialect, set(merges) | set(merges.values()))
    stored = _stored(conn, set(known) | set(known.values()))
    found = plan(sorted(merges.items()), known, stored)
    if found.retired:
        retire(conn, dialect, found)


def plan(
    merges: Iterable[tuple[int, int]], known: Mapping[int, int], stored: set[int]
) -> MergePlan:
    """Which merges apply, replayed in order: a narrow id already merged keeps its first
    merge; a wide id resolving back to the narrow one, or to no stored row, is skipped."""
    alias, rows = dict(known), set(stored)
    retired: dict[int, int] = {}
    for narrow, wide in merges:
        survivor = alias.get(wide, wide)
        if alias.get(narrow, narrow) != narrow or survivor == narrow or survivor not in rows:
            continue
        rows.discard(narrow)
        for key, value in alias.items():  # re-point what led to narrow, narrow itself too
            if value == narrow:
                alias[key] = survivor
        for key, value in retired.items():  # an earlier retired id's totals move on with it
            if value == narrow:
                retired[key] = survivor
        retired[narrow] = survivor
    return MergePlan(retired)


def retire(conn: Connection, dialect: str, found: MergePlan) -> None:
    deleted = _delete(conn, list(found.retired))
    totals: dict[int, tuple[int, int, int]] = {}
    for pattern_id, first, last, count in deleted:
        target = found.retired[pattern_id]
        known = totals.get(target)
        totals[target] = (
            (first, last, count)
            if known is None
            else (min(known[0], first), max(known[1], last), known[2] + count)
        )
    if totals:
        rows = [{"key": k, "first": f, "last": la, "more": c} for k, (f, la, c) in totals.items()]
        conn.execute(_ADD_TOTALS, rows)
    moves = [{"old": narrow, "new": wide} for narrow, wide in found.retired.items()]
    conn.execute(_REPOINT, moves)  # aliases that led to a retired id
    dialect_insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    record = dialect_insert(pattern_alias).values(narrow=bindparam("n"), wide=bindparam("w"))
    record = record.on_conflict_do_update(
        index_elements=["narrow"], set_={"wide": record.excluded.wide}
    )
    conn.execute(record, [{"n": narrow, "w": wide} for narrow, wide in found.retired.items()])


def _stored(conn: Connection, ids: set[int]) -> set[int]:
    chosen = log_pattern.c.id.in_(bindparam("ids", expanding=True))
    found = conn.execute(select(log_pattern.c.id).where(chosen), {"ids": sorted(ids)})
    return {int(pattern_id) for pattern_id in found.scalars()}


def _delete(conn: Connection, ids: list[int]) -> list[tuple[int, int, int, int]]:
    table = log_pattern.c
    chosen = table.id.in_(bindparam("ids", expanding=True))
    statement = delete(log_pattern).where(chosen)
    returned = statement.returning(table.id, table.first_seen, table.last_seen, table.count)
    return [
        (int(i), int(first), int(last), int(count))
        for i, first, last, count in conn.execute(returned, {"ids": ids})
    ]


_TABLE = log_pattern.c
# Adds totals to a stored pattern (CASE: SQLite has no LEAST or GREATEST).
_ADD_TOTALS = (
    update(log_pattern)
    .where(_TABLE.id == bindparam("key"))
    .values(
        count=_TABLE.count + bindparam("more"),
        first_seen=case(
            (_TABLE.first_seen < bindparam("first"), _TABLE.first_seen), else_=bindparam("first")
        ),
        last_seen=case(
            (_TABLE.last_seen > bindparam("last"), _TABLE.last_seen), else_=bindparam("last")
        ),
    )
)
_REPOINT = (
    update(pattern_alias)
    .where(pattern_alias.c.wide == bindparam("old"))
    .values(wide=bindparam("new"))
)
