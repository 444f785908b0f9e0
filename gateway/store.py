"""Every SQL statement of logsieve, with intent names. Nothing else imports SQLAlchemy.

Tables:
  log_queue           one row per accepted LogRecord, until a batch finishes it
  recent_log_entries  processed entries for the live view, until expires_at
  export_outbox       processed entries waiting for Logflare
  dead_letter         entries Logflare refused for good, with the reason
  logsieve_schema     the schema version, so a gateway refuses a database it does not know

All values are bound parameters; timestamps are integer unix nanoseconds.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from gateway.errors import StorageCorrupt, StorageError, StorageUnavailable
from gateway.model import Claim, Entry, QueuedRow, RecentEntry

SCHEMA_VERSION = 1
# SQLite's INTEGER PRIMARY KEY is the rowid; BIGINT would lose autoincrement there.
_Id = BigInteger().with_variant(Integer, "sqlite")

metadata = MetaData()

log_queue = Table(
    "log_queue",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("received_at", BigInteger, nullable=False),
    Column("severity_number", Integer, nullable=False),
    Column("record", LargeBinary, nullable=False),
    Column("origin", LargeBinary, nullable=False),
    Column("claim_token", BigInteger, nullable=True),
    Column("lease_until", BigInteger, nullable=True),
)

recent_log_entries = Table(
    "recent_log_entries",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("expires_at", BigInteger, nullable=False),
    Column("severity_number", Integer, nullable=False),
    Column("severity", Text, nullable=False),
    Column("service", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("first_seen", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("sample_rate", Float, nullable=False),
    Column("attributes", Text, nullable=False),
    Column("trace_id", Text, nullable=False),
    Column("span_id", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Index("ix_recent_expires_at", "expires_at"),
    # Ids are the live stream's cursor: never reuse one, even after the purge empties the table.
    sqlite_autoincrement=True,
)

export_outbox = Table(
    "export_outbox",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("created_at", BigInteger, nullable=False),
    Column("event", Text, nullable=False),
)

dead_letter = Table(
    "dead_letter",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("created_at", BigInteger, nullable=False),
    Column("event", Text, nullable=False),
    Column("reason", Text, nullable=False),
)

logsieve_schema = Table(
    "logsieve_schema",
    metadata,
    Column("version", Integer, nullable=False),
)

_RECENT_COLUMNS = [c for c in recent_log_entries.c if c.name not in ("id",)]


def _sqlite_pragmas(synchronous: str) -> Any:
    def on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")  # a fixed word, never user text
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return on_connect


@contextmanager
def _translated_errors() -> Iterator[None]:
    """Driver errors become StorageUnavailable (transient) or StorageCorrupt."""
    try:
        yield
    except DBAPIError as exc:
        if isinstance(exc.orig, sqlite3.DatabaseError) and "malformed" in str(exc.orig):
            raise StorageCorrupt(str(exc.orig)) from exc
        raise StorageUnavailable(str(exc.orig)) from exc
    except SQLAlchemyError as exc:
        raise StorageUnavailable(str(exc)) from exc


class Store:
    """The database behind logsieve: SQLite (embedded, WAL) or PostgreSQL (shared)."""

    def __init__(self, url: str, *, pool_size: int = 16, sqlite_synchronous: str = "FULL") -> None:
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        self._engine = self._make_engine(url, pool_size, sqlite_synchronous.upper())
        # The hot path goes straight to the driver with this statement (bound parameters).
        mark = "?" if self.dialect == "sqlite" else "%s"
        self._enqueue_sql = (
            "INSERT INTO log_queue (received_at, severity_number, record, origin) "
            f"VALUES ({mark}, {mark}, {mark}, {mark})"
        )

    def _make_engine(self, url: str, pool_size: int, synchronous: str) -> Engine:
        parsed = make_url(url)
        if self.dialect != "sqlite":
            return create_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            connect_args={"timeout": 30, "check_same_thread": False},
        )
        if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"unknown SQLite synchronous mode {synchronous!r}")
        event.listen(engine, "connect", _sqlite_pragmas(synchronous))
        return engine

    def __repr__(self) -> str:
        # The URL may hold a password: show it masked.
        return f"Store({self._engine.url.render_as_string(hide_password=True)!r})"

    # -- lifecycle -------------------------------------------------------------------------

    def create_schema(self) -> None:
        """Create missing tables; refuse a database whose schema version is not ours."""
        with _translated_errors(), self._engine.begin() as conn:
            try:
                metadata.create_all(conn)
            except DBAPIError as exc:
                raise StorageCorrupt(f"cannot open the database: {exc.orig}") from exc
            version = conn.execute(select(logsieve_schema.c.version)).scalar()
            if version is None:
                conn.execute(insert(logsieve_schema).values(version=SCHEMA_VERSION))
            elif version != SCHEMA_VERSION:
                raise StorageCorrupt(f"schema version {version} is not {SCHEMA_VERSION}")

    def dispose(self) -> None:
        self._engine.dispose()

    def drop_all(self) -> None:
        """Remove every logsieve table (tests and benchmarks only)."""
        with _translated_errors(), self._engine.begin() as conn:
            metadata.drop_all(conn)

    # -- the queue -------------------------------------------------------------------------

    def enqueue(self, rows: Sequence[tuple[int, int, bytes, bytes]]) -> None:
        """Commit (received_at, severity_number, record, origin) rows in one transaction."""
        if not rows:
            return
        with _translated_errors(), self._engine.begin() as conn:
            conn.exec_driver_sql(self._enqueue_sql, list(rows))

    def claim_batch(self, token: int, now: int, lease_ns: int, limit: int) -> Claim:
        """Claim up to `limit` of the oldest unclaimed (or lease-expired) rows for `token`."""
        free = (log_queue.c.lease_until.is_(None)) | (log_queue.c.lease_until < now)
        oldest = select(log_queue.c.id).where(free).order_by(log_queue.c.id).limit(limit)
        if self.dialect == "postgresql":
            oldest = oldest.with_for_update(skip_locked=True)
        statement = (
            log_queue.update()
            .where(log_queue.c.id.in_(oldest.scalar_subquery()))
            .values(claim_token=token, lease_until=now + lease_ns)
            .returning(*(log_queue.c[n] for n in QueuedRow.__slots__))
        )
        with _translated_errors(), self._engine.begin() as conn:
            rows = [QueuedRow(*row) for row in conn.execute(statement)]
        rows.sort(key=lambda row: row.id)
        return Claim(token, rows)

    def finish_batch(
        self, claim: Claim, recent: Sequence[tuple[Entry, int]], outbox: Sequence[str], now: int
    ) -> bool:
        """Atomically store a batch's results and delete its rows; False if the claim was lost."""
        with _translated_errors(), self._engine.begin() as conn:
            deleted = self._delete_claimed(conn, claim)
            if deleted != len(claim.rows):
                conn.rollback()  # fenced off: another stage re-claimed some rows
                return False
            self._insert_recent(conn, recent)
            if outbox:
                rows = [{"created_at": now, "event": event} for event in outbox]
                conn.execute(insert(export_outbox), rows)
            return True

    def add_recent(self, recent: Sequence[tuple[Entry, int]]) -> None:
        """Insert (entry, expires_at) rows into the live view directly (tools and tests)."""
        with _translated_errors(), self._engine.begin() as conn:
            self._insert_recent(conn, recent)

    @staticmethod
    def _insert_recent(conn: Connection, recent: Sequence[tuple[Entry, int]]) -> None:
        if recent:
            conn.execute(insert(recent_log_entries), [_recent_values(*r) for r in recent])

    def _delete_claimed(self, conn: Connection, claim: Claim) -> int:
        ids = log_queue.c.id.between(claim.first_id, claim.last_id)
        mine = log_queue.c.claim_token == claim.token
        return conn.execute(delete(log_queue).where(ids & mine)).rowcount

    def release(self, claim: Claim) -> None:
        """Give a claim's rows back to the queue (the batch failed before finishing)."""
        ids = log_queue.c.id.between(claim.first_id, claim.last_id)
        statement = (
            log_queue.update()
            .where(ids & (log_queue.c.claim_token == claim.token))
            .values(claim_token=None, lease_until=None)
        )
        with _translated_errors(), self._engine.begin() as conn:
            conn.execute(statement)

    def queue_depth(self) -> int:
        with _translated_errors(), self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(log_queue)).scalar_one())

    # -- recent entries --------------------------------------------------------------------

    def recent_after(self, cursor: int, now: int, limit: int) -> list[RecentEntry]:
        """Unexpired entries with id > cursor, oldest first."""
        statement = (
            select(recent_log_entries)
            .where(recent_log_entries.c.id > cursor, recent_log_entries.c.expires_at > now)
            .order_by(recent_log_entries.c.id)
            .limit(limit)
        )
        with _translated_errors(), self._engine.connect() as conn:
            return [_recent_entry(row) for row in conn.execute(statement).mappings()]

    def recent_newest(self, now: int, limit: int) -> list[RecentEntry]:
        """The `limit` newest unexpired entries, oldest first."""
        statement = (
            select(recent_log_entries)
            .where(recent_log_entries.c.expires_at > now)
            .order_by(recent_log_entries.c.id.desc())
            .limit(limit)
        )
        with _translated_errors(), self._engine.connect() as conn:
            rows = [_recent_entry(row) for row in conn.execute(statement).mappings()]
        return rows[::-1]

    def recent_count(self, now: int) -> int:
        live = recent_log_entries.c.expires_at > now
        statement = select(func.count()).select_from(recent_log_entries).where(live)
        with _translated_errors(), self._engine.connect() as conn:
            return int(conn.execute(statement).scalar_one())

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
        with _translated_errors(), self._engine.begin() as conn:
            return int(conn.execute(statement).rowcount)

    # -- the export outbox -----------------------------------------------------------------

    def outbox_peek(self, limit: int) -> list[tuple[int, str]]:
        """The oldest `limit` events waiting for Logflare, as (id, event JSON)."""
        statement = (
            select(export_outbox.c.id, export_outbox.c.event)
            .order_by(export_outbox.c.id)
            .limit(limit)
        )
        with _translated_errors(), self._engine.connect() as conn:
            return [(int(row[0]), str(row[1])) for row in conn.execute(statement)]

    def outbox_ack(self, ids: Sequence[int]) -> None:
        """Delete events Logflare has taken."""
        statement = delete(export_outbox).where(
            export_outbox.c.id.in_(bindparam("ids", expanding=True))
        )
        with _translated_errors(), self._engine.begin() as conn:
            conn.execute(statement, {"ids": list(ids)})

    def outbox_dead_letter(self, ids: Sequence[int], reason: str, now: int) -> None:
        """Move events Logflare refused for good to dead_letter, with the reason."""
        chosen = export_outbox.c.id.in_(bindparam("ids", expanding=True))
        moved = select(export_outbox.c.event).where(chosen)
        with _translated_errors(), self._engine.begin() as conn:
            events = [str(row[0]) for row in conn.execute(moved, {"ids": list(ids)})]
            if events:
                rows = [{"created_at": now, "event": e, "reason": reason} for e in events]
                conn.execute(insert(dead_letter), rows)
            conn.execute(delete(export_outbox).where(chosen), {"ids": list(ids)})

    def outbox_depth(self) -> int:
        with _translated_errors(), self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(export_outbox)).scalar_one())

    def dead_letters(self) -> list[tuple[str, str]]:
        """Every dead letter as (event JSON, reason), oldest first."""
        statement = select(dead_letter.c.event, dead_letter.c.reason).order_by(dead_letter.c.id)
        with _translated_errors(), self._engine.connect() as conn:
            return [(str(row[0]), str(row[1])) for row in conn.execute(statement)]

    def ping(self) -> None:
        """Raise StorageError unless the database answers."""
        with _translated_errors(), self._engine.connect() as conn:
            conn.execute(text("SELECT 1"))


def _recent_values(entry: Entry, expires_at: int) -> dict[str, Any]:
    return {
        "expires_at": expires_at,
        "severity_number": entry.severity_number,
        "severity": entry.severity,
        "service": entry.service,
        "body": entry.body,
        "count": entry.count,
        "first_seen": entry.first_seen,
        "last_seen": entry.last_seen,
        "sample_rate": entry.sample_rate,
        "attributes": json.dumps(entry.attributes, separators=(",", ":")),
        "trace_id": entry.trace_id,
        "span_id": entry.span_id,
        "scope": entry.scope,
    }


def _recent_entry(row: Any) -> RecentEntry:
    entry = Entry(
        body=row["body"],
        severity_number=row["severity_number"],
        severity=row["severity"],
        service=row["service"],
        count=row["count"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        attributes=json.loads(row["attributes"]),
        trace_id=row["trace_id"],
        span_id=row["span_id"],
        scope=row["scope"],
        sample_rate=row["sample_rate"],
    )
    return RecentEntry(id=row["id"], entry=entry, expires_at=row["expires_at"])


__all__ = ["SCHEMA_VERSION", "StorageError", "Store"]
