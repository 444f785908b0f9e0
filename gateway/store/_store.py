"""The Store: every statement logsieve runs, with intent names."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from itertools import islice
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url

from gateway.clock import NS_PER_SECOND
from gateway.errors import StorageError
from gateway.model import (
    Budgeted,
    Claim,
    DatabaseGauges,
    Entry,
    IncomingRow,
    LearnedPattern,
    OutboxEvent,
    ViewerStatus,
)
from gateway.store._admin import AdminStatements
from gateway.store._bulk import insert_rows
from gateway.store._claims import (
    RECORDS_POSTGRES,
    RECORDS_SQLITE,
    ClaimStrategy,
    HeadLease,
    RowClaims,
    raw_rows,
)
from gateway.store._drops import DropStatements
from gateway.store._engine import make_engine, sqlite_file, translated_errors
from gateway.store._group_commit import GroupCommit
from gateway.store._health import StorageHealth
from gateway.store._held import HeldStatements
from gateway.store._migrations import SchemaStatements
from gateway.store._namespace import use_schema
from gateway.store._origins import store_origins
from gateway.store._outbox import OutboxStatements
from gateway.store._patterns import PatternStatements
from gateway.store._rows import recent_rows_of
from gateway.store._schema import (
    RECENT_COLUMNS,
    export_outbox,
    log_origin,
    log_queue,
    metadata,
    queue_lease,
    recent_log_entries,
)
from gateway.store._viewer import ViewerStatements
from gateway.store._writer_lock import WriterLock

MAX_CACHED_ORIGINS = 10_000
SIZE_SAMPLE_ROWS = 1000  # queue bytes = depth x the mean size of the newest rows: no scan
RECENT_ORDER_LOCK = 0x6C6F6773  # "logs": the advisory lock that orders recent-entry commits
QUEUE_COLUMNS = ("received_at", "severity_number", "seen_at", "body", "record", "origin_id")
OUTBOX_COLUMNS = ("created_at", "exporter", "event", "severity_number")
READ_ONLY_SQL = {  # true when the database refuses writes
    "sqlite": "PRAGMA query_only",
    "postgresql": "SELECT current_setting('transaction_read_only') = 'on'",
}


class Store(
    DropStatements,  # first: its running totals are what the others' stubs stand for
    SchemaStatements,
    OutboxStatements,
    ViewerStatements,
    AdminStatements,
    PatternStatements,
    HeldStatements,
):
    """The database behind logsieve: SQLite (embedded, WAL) or PostgreSQL (shared)."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 16,
        sqlite_synchronous: str = "NORMAL",
        max_overflow: int | None = None,
        pool_timeout: float = 30.0,
        follower: bool = False,
        schema: str = "",
    ) -> None:
        """`follower`: a store that follows another one's database file (its parent process's, or
        its process's main store): it neither creates the file nor reports its trouble.
        `schema` (PostgreSQL): the schema holding every table (gateway/store/_namespace.py);
        empty, the role's search_path (normally public)."""
        self.dialect = make_url(url).get_backend_name()
        synchronous = sqlite_synchronous.upper()
        self._engine = make_engine(url, pool_size, synchronous, max_overflow, pool_timeout)
        self._pg_schema = use_schema(self._engine, self.dialect, schema)
        # SQLite takes one writer at a time: writers of every process queue here, on a lock
        # that wakes the next one at once, rather than napping in SQLite's busy handler.
        self._write_lock = WriterLock(sqlite_file(url)) if self.dialect == "sqlite" else None
        self._claims: ClaimStrategy = (
            HeadLease(self._write_lock) if self._write_lock else RowClaims()
        )
        self._group = (
            GroupCommit(self._insert_queue_rows, self._write_lock) if self._write_lock else None
        )
        self._origin_ids: dict[bytes, int] = {}  # committed origins only
        self._health = StorageHealth(
            sqlite_file(url) if self.dialect == "sqlite" else None, follower
        )

    def __repr__(self) -> str:
        # The URL may hold a password: show it masked.
        return f"Store({self._engine.url.render_as_string(hide_password=True)!r})"

    @contextmanager
    def _writing(self, locked: bool = True) -> Iterator[Connection]:
        self._usable()
        lock = self._write_lock if locked and self._write_lock else nullcontext()
        try:
            with lock, translated_errors(), self._engine.begin() as conn:
                yield conn
        except StorageError as exc:
            self._health.failed(exc)  # remembers a disk full or read-only database
            raise
        self._health.wrote()

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        self._usable()
        with translated_errors(), self._engine.connect() as conn:
            yield conn

    def _usable(self) -> None:
        """Before any statement: adopt the SQLite file on first use, then refuse it if it was
        deleted, replaced or can no longer be written (SIGBUS waits in its -shm mapping)."""
        self._health.adopt()
        self._health.check()

    # -- lifecycle -------------------------------------------------------------------------

    def dispose(self) -> None:
        if self._health.file_problem() is None:  # else the last close would write into it
            self._engine.dispose()
        self._health.close()

    def drop_all(self) -> None:
        """Remove every logsieve table (tests and benchmarks only)."""
        self._origin_ids.clear()
        with self._writing() as conn:
            metadata.drop_all(conn)

    def ping(self) -> None:
        """Raise StorageError unless the database answers."""
        with self._reading() as conn:
            conn.execute(text("SELECT 1"))

    def storage_problem(self) -> str | None:
        """Why the database cannot take records now, for /readyz: it does not answer, its file
        is gone or unwritable, it is read-only, or the last write found the disk full."""
        try:
            with self._reading() as conn:
                read_only = conn.execute(text(READ_ONLY_SQL[self.dialect])).scalar()
        except StorageError as exc:
            return str(exc)
        if read_only:
            return "storage: the database is read-only (it refuses writes)"
        return self._health.problem()

    # -- the queue -------------------------------------------------------------------------

    def enqueue(self, rows: Sequence[IncomingRow]) -> None:
        """Commit rows made by otlp.rows_from_request in one transaction."""
        if not rows:
            return
        if self._group:
            self._group.submit(rows)
        else:  # PostgreSQL takes concurrent writers itself
            self._insert_queue_rows(rows)
        # Committed, not yet acknowledged: a commit into a file deleted meanwhile is lost
        # with the process, so it is refused here rather than acknowledged.
        self._health.check()

    def _insert_queue_rows(self, rows: Sequence[IncomingRow]) -> None:
        # Called by GroupCommit with the commit lock held: take the connection without it.
        with self._writing(locked=False) as conn:
            insert_rows(conn, self.dialect, "log_queue", QUEUE_COLUMNS, rows)

    def origin_id(self, origin: bytes) -> int:
        """The id of one resource+scope (see origin_ids)."""
        return self.origin_ids([origin])[0]

    def origin_ids(self, origins: Sequence[bytes]) -> list[int]:
        """The id in log_origin of each resource+scope; those never seen are stored first, all
        in one transaction (then cached)."""
        cached = self._origin_ids
        known = {origin: cached[origin] for origin in origins if origin in cached}
        unknown = [origin for origin in dict.fromkeys(origins) if origin not in known]
        if unknown:
            with self._writing() as conn:
                stored = store_origins(conn, self.dialect, unknown)
            if len(cached) + len(stored) > MAX_CACHED_ORIGINS:
                cached.clear()
            cached.update(islice(stored.items(), MAX_CACHED_ORIGINS))  # after the commit
            known |= stored
        return [known[origin] for origin in origins]

    def claim_batch(self, token: int, lease_ns: int, limit: int) -> Claim:
        """Claim up to `limit` of the oldest claimable rows for `token`, oldest first.

        The lease runs `lease_ns` on the database's clock, the one clock every gateway sharing
        the database agrees on.
        """
        with self._reading() as conn:
            claim = self._claims.claim(conn, token, lease_ns, limit)
            wanted = list({row[4] for row in claim.rows})
            if wanted:
                chosen = log_origin.c.id.in_(bindparam("ids", expanding=True))
                found = conn.execute(
                    select(log_origin.c.id, log_origin.c.origin).where(chosen), {"ids": wanted}
                )
                claim.origins.update((int(row[0]), bytes(row[1])) for row in found)
            return claim

    def finish_batch(
        self,
        claim: Claim,
        recent: Sequence[tuple[Entry, int]],
        outbox: Sequence[OutboxEvent],
        now: int,
        patterns: Sequence[LearnedPattern] = (),
        merges: Mapping[int, int] | None = None,
        held: Budgeted | None = None,
    ) -> bool:
        """Atomically store a batch's results and delete its rows; False if the claim was lost.

        `patterns`: this batch's totals per pattern, added to the stored ones; `merges`:
        narrow id -> wide id learned in this batch (see PatternStatements._store_patterns).
        In the same transaction, so the totals count each record once whatever crashes.
        `held`: entries budgets hold back (merged into their keys' held rows) and the events
        each budgeted exporter's outbox got (they spend its bucket)."""
        recent_rows = recent_rows_of(recent)  # built before taking the lock
        outbox_rows = [(now, *event) for event in outbox]
        with self._writing() as conn:
            if not self._claims.take_rows(conn, claim):
                conn.rollback()  # fenced off: another stage owns these rows now
                return False
            self._insert_recent_in_id_order(conn, recent_rows)
            insert_rows(conn, self.dialect, "export_outbox", OUTBOX_COLUMNS, outbox_rows)
            self._store_patterns(conn, patterns, merges or {})  # its lock after the recent one
            if held is not None:
                self._hold(conn, held, now)
                for exporter, events in held.charged.items():
                    self._charge(conn, exporter, events)
            return True

    def _insert_recent_in_id_order(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert recent entries so that ids become visible in the order they were given.

        The live stream follows ids with a cursor. On PostgreSQL two gateways could commit
        ids out of order, and a cursor that passed the later id would skip the earlier one
        forever; a transaction-scoped advisory lock makes those inserts, and so their commits,
        take turns. SQLite has one writer already.
        """
        if rows and self.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": RECENT_ORDER_LOCK})
        insert_rows(conn, self.dialect, "recent_log_entries", RECENT_COLUMNS, rows)

    def claimed_records(self, ids: Sequence[int]) -> dict[int, bytes]:
        """The record bytes of some claimed rows, by id (for the entries a batch keeps)."""
        if not ids:
            return {}
        # One bound parameter for the whole id list, however long it is.
        if self.dialect == "sqlite":
            sql, param = RECORDS_SQLITE, json.dumps(list(ids))
        else:
            sql, param = RECORDS_POSTGRES, list(ids)  # type: ignore[assignment]
        with self._reading() as conn:
            return {int(row[0]): bytes(row[1]) for row in raw_rows(conn, sql, (param,))}

    def cut_claim(self, claim: Claim, keep: int) -> Claim:
        """The claim's first `keep` rows, as a claim of their own; the others go back to the
        queue at once, claimable by the next batch (of any gateway)."""
        kept = Claim(claim.token, claim.rows[:keep], claim.origins)
        with self._writing() as conn:  # on SQLite nothing is written (the head lease holds all)
            self._claims.release_after(conn, kept, claim.last_id)
        return kept

    def release(self, claim: Claim) -> None:
        """Give a claim's rows back to the queue (the batch failed before finishing)."""
        with self._writing() as conn:
            self._claims.release(conn, claim)

    def queue_extent(self) -> tuple[int, int]:
        """(lowest, highest) queued id, (0, 0) when empty: two index probes, however deep."""
        return self._extent(log_queue)

    def outbox_extent(self, exporter: str) -> tuple[int, int]:
        """(lowest, highest) id waiting for `exporter`, (0, 0) when none is."""
        return self._extent(export_outbox, export_outbox.c.exporter == exporter)

    def _extent(self, table: Table, *where: Any) -> tuple[int, int]:
        statement = select(func.min(table.c.id), func.max(table.c.id)).where(*where)
        with self._reading() as conn:
            low, high = conn.execute(statement).one()
        return (int(low), int(high)) if low is not None else (0, 0)

    def release_all_claims(self) -> int:
        """Return every claimed batch and export request to the queue (SQLite, at start-up,
        when no other gateway can hold any); returns how many claims there were."""
        free_head = update(queue_lease).where(queue_lease.c.token.is_not(None))
        held = export_outbox.c.claim_token.is_not(None)
        with self._writing() as conn:
            heads = conn.execute(free_head.values(token=None, lease_until=None)).rowcount
            events = conn.execute(
                update(export_outbox).where(held).values(claim_token=None, lease_until=None)
            ).rowcount
        return int(heads) + int(events)

    @property
    def path(self) -> str:
        """The SQLite file's path."""
        return str(self._engine.url.database)

    # -- summaries that span the tables ------------------------------------------------------

    def viewer_status(self, now: int) -> ViewerStatus:
        """The window's entries, outbox depth, exporters' health and budgets: the page's header."""
        healths = self.export_healths()
        depth, budgets = self.outbox_depth(), self.budget_states()
        return ViewerStatus(self.recent_count(now), (), healths, depth, budgets)

    def database_gauges(self, now: int) -> DatabaseGauges:
        """What a metrics scrape reads, each figure from the statement that already gives it."""
        depth = self.queue_depth()
        oldest, mean_bytes = self.queue_estimate(SIZE_SAMPLE_ROWS)
        budgets = self.budget_states()
        return DatabaseGauges(
            queue_depth=depth,
            queue_bytes=int(depth * mean_bytes),
            queue_oldest_age_s=age_s(now, oldest),
            outbox_depths=self.outbox_depths(),
            dead_letters=self.dead_letter_counts(),
            recent_rows=self.recent_count(now),
            counters=self.counter_values(),
            budgets=budgets,
            budget_waits_s={name: age_s(now, b.oldest_held_ns) for name, b in budgets.items()},
        )

    def queue_depth(self) -> int:
        with self._reading() as conn:
            return int(conn.execute(select(func.count()).select_from(log_queue)).scalar_one())

    # -- recent entries --------------------------------------------------------------------

    def add_recent(self, recent: Sequence[tuple[Entry, int]]) -> None:
        """Insert (entry, expires_at) rows into the live view directly (tools and tests)."""
        rows = recent_rows_of(recent)
        with self._writing() as conn:
            self._insert_recent_in_id_order(conn, rows)

    def purge_expired(self, now: int, chunk: int) -> int:
        """Delete up to `chunk` expired entries in one short transaction; returns how many."""
        expired = (
            select(recent_log_entries.c.id)
            .where(recent_log_entries.c.expires_at <= now)
            .order_by(recent_log_entries.c.expires_at)
            .limit(chunk)
        )
        statement = delete(recent_log_entries).where(
            recent_log_entries.c.id.in_(expired.scalar_subquery())
        )
        with self._writing() as conn:
            return int(conn.execute(statement).rowcount)


def age_s(now: int, since: int) -> float:
    """Seconds from `since` to `now`: 0 for none (0), or for a time ahead of this clock."""
    return max(0.0, (now - since) / NS_PER_SECOND) if since else 0.0
