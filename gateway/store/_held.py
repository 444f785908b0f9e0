"""The budget's statements, mixed into Store: held entries and each exporter's token bucket.

Holding runs inside the transaction that finishes a batch; releasing moves held entries into
the outbox in one transaction of its own. Both take the exporter's turn first (an advisory
lock on PostgreSQL, the one writer on SQLite), so gateways sharing a database merge into the
same rows, spend one bucket, and move each held entry once. After the move the outbox's own
claims and leases carry it to the backend.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, delete, func, insert, select, text, update

from gateway.model import (
    Bucket,
    Budgeted,
    BudgetState,
    Entry,
    Held,
    HoldItem,
    OutboxEvent,
    Release,
)
from gateway.store._bulk import insert_rows
from gateway.store._rows import entry_of, recent_values
from gateway.store._schema import (
    RECENT_COLUMNS,
    export_budget,
    export_outbox,
    held_entry,
)

# Called inside the release transaction: (the bucket, or None before the first; the held
# entries that matter now; the events already waiting in the exporter's outbox) -> what to
# send and the bucket after it.
Decide = Callable[[Bucket | None, list[Held], int], tuple[Release, Bucket]]
Merge = Callable[[Entry, Entry], Entry]  # (held, later) -> one entry with both counts
Encode = Callable[[Entry], str]
_ENTRY_COLUMNS = tuple(str(name) for name in RECENT_COLUMNS if name != "expires_at")
# Running totals per exporter (logsieve_persistent_<name>_total{exporter}).
HELD_COUNTER = "budget_held_entries/{}"  # entries held anew
MERGED_COUNTER = "budget_merged_entries/{}"  # entries merged into one already held
SAMPLED_COUNTER = "budget_sampled_records/{}"  # records of entries the budget sampled out
OVERFLOW_COUNTER = "budget_overflow_entries/{}"  # new keys due at once: max_held_entries reached


def held_json(entry: Entry) -> str:
    values = recent_values(entry, 0)[1:]  # without expires_at
    return orjson.dumps(dict(zip(_ENTRY_COLUMNS, values, strict=True))).decode()


def held_entry_of(text_: str) -> Entry:
    return entry_of(orjson.loads(text_))


def _turn_key(exporter: str) -> int:
    """The advisory lock of one exporter's budget (a signed 63-bit number)."""
    digest = hashlib.blake2b(f"budget:{exporter}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


class HeldStatements:
    dialect: str
    _add_to_counter: Callable[[Connection, str, int], None]  # DropStatements' running totals

    def _writing(self, locked: bool = True) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _reading(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _take_turn(self, conn: Connection, exporter: str) -> None:
        if self.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _turn_key(exporter)})

    # -- holding (inside finish_batch) ----------------------------------------------------

    def _hold(self, conn: Connection, held: Budgeted, now: int) -> None:
        for exporter in sorted({item.exporter for item in held.items}):
            self._take_turn(conn, exporter)
            mine = [item for item in held.items if item.exporter == exporter]
            found = self._held_rows(conn, exporter, [item.key for item in mine])
            changed = [
                _held_again(i, found[i.key], held.merge, now) for i in mine if i.key in found
            ]
            fresh = [_new_hold(item, now) for item in mine if item.key not in found]
            overflow: list[dict[str, Any]] = []
            if fresh:
                room = self._room(conn, exporter, held.max_held.get(exporter))
                overflow = fresh[room:] if room is not None else []
                for row in overflow:  # no room to wait: due at once
                    row["deadline"] = now
                conn.execute(insert(held_entry), fresh)  # executemany: one statement
            if changed:
                conn.execute(HOLD_AGAIN, changed)
            merged = sum(1 for item in mine if item.key in found and found[item.key]["entry"])
            self._add_to_counter(conn, HELD_COUNTER.format(exporter), len(mine) - merged)
            self._add_to_counter(conn, MERGED_COUNTER.format(exporter), merged)
            self._add_to_counter(conn, OVERFLOW_COUNTER.format(exporter), len(overflow))

    def _room(self, conn: Connection, exporter: str, most: int | None) -> int | None:
        """How many more entries this exporter may hold (None: no bound); rows that kept
        only a key's window hold none."""
        if most is None:
            return None
        mine = (held_entry.c.exporter == exporter) & held_entry.c.deadline.is_not(None)
        return max(0, most - int(conn.execute(select(func.count()).where(mine)).scalar_one()))

    def _held_rows(self, conn: Connection, exporter: str, keys: list[str]) -> dict[str, Any]:
        chosen = held_entry.c.hold_key.in_(bindparam("keys", expanding=True))
        query = select(held_entry).where((held_entry.c.exporter == exporter) & chosen)
        found: dict[str, Any] = {}
        for start in range(0, len(keys), 500):  # bound parameter lists stay small
            rows = conn.execute(query, {"keys": keys[start : start + 500]}).mappings()
            found.update((row["hold_key"], row) for row in rows)
        return found

    def _charge(self, conn: Connection, exporter: str, events: int) -> None:
        """ERROR and above went straight to the outbox: they spend the bucket too."""
        if events:
            spent = export_budget.c.tokens - events
            chosen = export_budget.c.exporter == exporter
            conn.execute(update(export_budget).where(chosen).values(tokens=spent))

    # -- releasing (the export stage) -----------------------------------------------------

    def release_held(
        self, exporter: str, now: int, window_ns: int, decide: Decide, encode: Encode
    ) -> Release:
        """Move what `decide` picks from `exporter`'s held entries into its outbox, at once."""
        with self._writing() as conn:
            self._take_turn(conn, exporter)
            bucket = self._bucket(conn, exporter)
            backlog = self._outbox_backlog(conn, exporter)
            release, after = decide(bucket, self._candidates(conn, exporter, now), backlog)
            rows = self._released_entries(conn, release)
            events = [
                OutboxEvent(
                    exporter, encode(_with_rate(entry, release, hid)), entry.severity_number
                )
                for hid, entry in rows
            ]
            outbox = [(now, *event) for event in events]
            insert_rows(conn, self.dialect, "export_outbox", OUTBOX_COLUMNS, outbox)
            self._mark_sent(conn, [hid for hid, _ in rows], now, window_ns)
            self._drop_sampled(conn, exporter, release.dropped)
            self._save_bucket(conn, exporter, bucket, after)
            self._forget_idle(conn, exporter, now - window_ns)
        return release

    def _outbox_backlog(self, conn: Connection, exporter: str) -> int:
        query = select(func.count()).where(export_outbox.c.exporter == exporter)
        return int(conn.execute(query).scalar_one())

    def _candidates(self, conn: Connection, exporter: str, now: int) -> list[Held]:
        """Every due entry, and enough of the next deadlines and of the longest held for any
        room the bucket has (the release spends spare tokens on the longest held)."""
        mine = (held_entry.c.exporter == exporter) & held_entry.c.deadline.is_not(None)
        columns = (
            held_entry.c.id, held_entry.c.hold_key, held_entry.c.severity_number,
            held_entry.c.deadline, held_entry.c.window_sent, held_entry.c.held_since,
        )  # fmt: skip
        query = select(*columns).where(mine)
        by_deadline = (held_entry.c.deadline, held_entry.c.id)
        due = conn.execute(query.where(held_entry.c.deadline <= now).order_by(*by_deadline))
        waiting = query.where(held_entry.c.deadline > now).limit(MAX_LATER)
        soonest = conn.execute(waiting.order_by(*by_deadline)).all()
        longest = conn.execute(waiting.order_by(held_entry.c.held_since, held_entry.c.id)).all()
        rows = {int(r[0]): r for r in [*due.all(), *soonest, *longest]}.values()
        return [
            Held(int(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5] or 0))
            for r in rows
        ]

    def _released_entries(self, conn: Connection, release: Release) -> list[tuple[int, Entry]]:
        if not release.send:
            return []
        chosen = held_entry.c.id.in_(bindparam("ids", expanding=True))
        query = select(held_entry.c.id, held_entry.c.entry).where(chosen)
        found = dict(conn.execute(query, {"ids": list(release.send)}).all())
        return [(hid, held_entry_of(found[hid])) for hid in release.send if found.get(hid)]

    def _mark_sent(self, conn: Connection, ids: list[int], now: int, window_ns: int) -> None:
        """Sent: nothing held any more; the key's window counts one more send."""
        if not ids:
            return
        chosen = held_entry.c.id.in_(bindparam("ids", expanding=True))
        stale = held_entry.c.window_start < now - window_ns
        for where, values in (
            (chosen & stale, {"window_start": now, "window_sent": 1}),
            (chosen & ~stale, {"window_sent": held_entry.c.window_sent + 1}),
        ):
            idle = {"entry": None, "deadline": None, **values}
            conn.execute(update(held_entry).where(where).values(**idle), {"ids": ids})

    def _drop_sampled(self, conn: Connection, exporter: str, ids: Sequence[int]) -> None:
        """Sampled out by the budget: their records are counted, nothing is held."""
        if not ids:
            return
        chosen = held_entry.c.id.in_(bindparam("ids", expanding=True))
        rows = conn.execute(select(held_entry.c.entry).where(chosen), {"ids": list(ids)}).all()
        records = sum(held_entry_of(row[0]).count for row in rows if row[0] is not None)
        idle = update(held_entry).where(chosen).values(entry=None, deadline=None)
        conn.execute(idle, {"ids": list(ids)})
        self._add_to_counter(conn, SAMPLED_COUNTER.format(exporter), records)

    def _forget_idle(self, conn: Connection, exporter: str, before: int) -> None:
        """Keys with nothing held whose window has passed: nothing left to remember."""
        idle = held_entry.c.deadline.is_(None) & (held_entry.c.window_start < before)
        conn.execute(delete(held_entry).where((held_entry.c.exporter == exporter) & idle))

    # -- the bucket -----------------------------------------------------------------------

    def _bucket(self, conn: Connection, exporter: str) -> Bucket | None:
        query = select(export_budget).where(export_budget.c.exporter == exporter)
        row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return Bucket(row["tokens"], row["updated"], row["rate"], row["limit_rate"])

    def _save_bucket(
        self, conn: Connection, exporter: str, before: Bucket | None, after: Bucket
    ) -> None:
        values = {
            "tokens": after.tokens, "updated": after.updated_ns, "rate": after.rate,
            "limit_rate": after.limit,
        }  # fmt: skip
        if before is None:
            conn.execute(insert(export_budget).values(exporter=exporter, **values))
        else:
            chosen = export_budget.c.exporter == exporter
            conn.execute(update(export_budget).where(chosen).values(**values))

    def budget_answered(self, exporter: str, adjust: Callable[[Bucket], Bucket]) -> None:
        """The backend answered: `adjust` the stored bucket (its rate) in the exporter's turn."""
        with self._writing() as conn:
            self._take_turn(conn, exporter)
            bucket = self._bucket(conn, exporter)
            if bucket is not None:
                self._save_bucket(conn, exporter, bucket, adjust(bucket))

    def budget_states(self) -> dict[str, BudgetState]:
        """Per budgeted exporter: the rate in use, and what is held and since when."""
        pending = held_entry.c.deadline.is_not(None)
        columns = (held_entry.c.exporter, func.count(), func.min(held_entry.c.held_since))
        with self._reading() as conn:
            buckets = conn.execute(select(export_budget)).mappings().all()
            held = conn.execute(select(*columns).where(pending).group_by(columns[0])).all()
        waiting = {str(r[0]): (int(r[1]), int(r[2] or 0)) for r in held}
        return {
            str(b["exporter"]): BudgetState(
                b["rate"], b["limit_rate"], *waiting.get(str(b["exporter"]), (0, 0))
            )
            for b in buckets
        }


MAX_LATER = 10_000  # not-yet-due entries a release looks at: more than any bucket's room
OUTBOX_COLUMNS = ("created_at", "exporter", "event", "severity_number")


def _new_hold(item: HoldItem, now: int) -> dict[str, Any]:
    return {
        "exporter": item.exporter, "hold_key": item.key,
        "severity_number": item.entry.severity_number, "deadline": item.deadline_ns,
        "entry": held_json(item.entry), "window_start": now, "window_sent": 0,
        "held_since": now,
    }  # fmt: skip


# One statement for every held row a batch changes (executemany).
HOLD_AGAIN = (
    update(held_entry)
    .where(held_entry.c.id == bindparam("held_id"))
    .values(
        entry=bindparam("new_entry"),
        deadline=bindparam("new_deadline"),
        held_since=bindparam("new_since"),
    )
)


def _held_again(item: HoldItem, row: Any, merge: Merge, now: int) -> dict[str, Any]:
    """A known key's row, holding the item: merged into what it holds (both counts, the
    earlier deadline), or holding anew when it held nothing (only its window was kept)."""
    if row["entry"] is None:
        entry, deadline, since = item.entry, item.deadline_ns, now
    else:
        entry = merge(held_entry_of(row["entry"]), item.entry)
        deadline, since = min(item.deadline_ns, int(row["deadline"])), row["held_since"]
    return {
        "held_id": row["id"], "new_entry": held_json(entry), "new_deadline": deadline,
        "new_since": since,
    }  # fmt: skip


def _with_rate(entry: Entry, release: Release, held_id: int) -> Entry:
    """A sampled entry stands for 1/share of its kind: its sample rate says so."""
    extra = release.rates.get(held_id)
    return entry if extra is None else replace(entry, sample_rate=entry.sample_rate * extra)
