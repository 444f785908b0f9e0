"""How a batch stage claims rows, per database.

SQLite has a single writer and one gateway per file, so a stage leases the *head* of the queue
with one row in queue_lease: claiming writes one row, not fifty thousand, and the receiver's
commits are not held up. PostgreSQL is shared by several gateways, so each row carries the
claim token and its lease, and claims skip rows other gateways hold (FOR UPDATE SKIP LOCKED).
Either way, finishing first checks the claim is still ours (the fencing token), so a stage that
stalled past its lease cannot delete rows another stage has re-claimed.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import BigInteger, Connection, delete, literal_column, update

from gateway.model import Claim
from gateway.store._schema import log_queue, queue_lease
from gateway.store._writer_lock import WriterLock

HEAD = "head"
# The database's own clock in unix nanoseconds: leases must not depend on any gateway's clock.
SQLITE_NOW_NS = "(CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) * 1000000)"
POSTGRES_NOW_NS = "(CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT) * 1000)"
_COLUMNS = "id, seen_at, severity_number, body, origin_id"


# The record bytes of some claimed rows, with the whole id list as one bound parameter.
RECORDS_SQLITE = "SELECT id, record FROM log_queue WHERE id IN (SELECT value FROM json_each(?))"
RECORDS_POSTGRES = "SELECT id, record FROM log_queue WHERE id = ANY(%s)"
_OUTBOX_CLAIM = (
    "UPDATE export_outbox SET claim_token = {mark}, lease_until = {now} + {mark} WHERE id IN ("
    " SELECT id FROM export_outbox WHERE exporter = {mark}"
    " AND (lease_until IS NULL OR lease_until < {now})"
    " ORDER BY id LIMIT {mark}{skip}) RETURNING id, event"
)
OUTBOX_CLAIM_SQLITE = _OUTBOX_CLAIM.format(mark="?", now=SQLITE_NOW_NS, skip="")
OUTBOX_CLAIM_POSTGRES = _OUTBOX_CLAIM.format(
    mark="%s", now=POSTGRES_NOW_NS, skip=" FOR UPDATE SKIP LOCKED"
)


def raw_rows(conn: Connection, sql: str, params: tuple[Any, ...]) -> list[Any]:
    """Plain tuples straight from the driver: no per-row objects for tens of thousands of rows."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


class ClaimStrategy(Protocol):
    def claim(self, conn: Connection, token: int, lease_ns: int, limit: int) -> Claim: ...

    def take_rows(self, conn: Connection, claim: Claim) -> bool:
        """Inside the finishing transaction: fence, then delete the claimed rows."""
        ...

    def release(self, conn: Connection, claim: Claim) -> None: ...

    def release_after(self, conn: Connection, claim: Claim, last_id: int) -> None:
        """Give back the rows the claim held past its own last row, up to `last_id`."""
        ...


class HeadLease:
    """SQLite: one stage at a time holds the oldest rows through a single lease row."""

    def __init__(self, write_lock: WriterLock) -> None:
        self._write_lock = write_lock  # the store's: this process's writers take turns on it

    def claim(self, conn: Connection, token: int, lease_ns: int, limit: int) -> Claim:
        now = literal_column(SQLITE_NOW_NS, type_=BigInteger)
        free = (queue_lease.c.lease_until.is_(None)) | (queue_lease.c.lease_until < now)
        with self._write_lock:  # a short write takes the lease; the rows are then only read
            taken = conn.execute(
                update(queue_lease)
                .where((queue_lease.c.name == HEAD) & free)
                .values(token=token, lease_until=now + lease_ns)
            ).rowcount
            conn.commit()
        if not taken:
            return Claim(token, [])
        sql = f"SELECT {_COLUMNS} FROM log_queue ORDER BY id LIMIT ?"
        claim = Claim(token, raw_rows(conn, sql, (limit,)))
        if not claim.rows:  # nothing to do: let the lease go at once
            with self._write_lock:
                self.release(conn, claim)
                conn.commit()
        return claim

    def take_rows(self, conn: Connection, claim: Claim) -> bool:
        held = conn.execute(
            update(queue_lease)
            .where((queue_lease.c.name == HEAD) & (queue_lease.c.token == claim.token))
            .values(token=None, lease_until=None)
        ).rowcount
        if held != 1:
            return False
        ids = log_queue.c.id.between(claim.first_id, claim.last_id)
        return bool(conn.execute(delete(log_queue).where(ids)).rowcount == claim.size)

    def release_after(self, conn: Connection, claim: Claim, last_id: int) -> None:
        """Nothing to write: rows past a claim's last are only read, never marked."""

    def release(self, conn: Connection, claim: Claim) -> None:
        conn.execute(
            update(queue_lease)
            .where((queue_lease.c.name == HEAD) & (queue_lease.c.token == claim.token))
            .values(token=None, lease_until=None)
        )


class RowClaims:
    """PostgreSQL: each row carries its claim, so gateways share the queue without doubles."""

    _CLAIM = (
        f"UPDATE log_queue SET claim_token = %s, lease_until = {POSTGRES_NOW_NS} + %s"
        " WHERE id IN ("
        f" SELECT id FROM log_queue WHERE lease_until IS NULL OR lease_until < {POSTGRES_NOW_NS}"
        " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)"
        f" RETURNING {_COLUMNS}"
    )

    def claim(self, conn: Connection, token: int, lease_ns: int, limit: int) -> Claim:
        with conn.begin():  # so that the driver-level statement is committed
            rows = raw_rows(conn, self._CLAIM, (token, lease_ns, limit))
        rows.sort()  # RETURNING has no order; ids ascend from here on
        return Claim(token, rows)

    def _mine(self, claim: Claim) -> Any:
        ids = log_queue.c.id.between(claim.first_id, claim.last_id)
        return ids & (log_queue.c.claim_token == claim.token)

    def take_rows(self, conn: Connection, claim: Claim) -> bool:
        deleted = conn.execute(delete(log_queue).where(self._mine(claim))).rowcount
        return bool(deleted == claim.size)

    def release(self, conn: Connection, claim: Claim) -> None:
        conn.execute(
            update(log_queue).where(self._mine(claim)).values(claim_token=None, lease_until=None)
        )

    def release_after(self, conn: Connection, claim: Claim, last_id: int) -> None:
        past = log_queue.c.id.between(claim.last_id + 1, last_id)
        conn.execute(
            update(log_queue)
            .where(past & (log_queue.c.claim_token == claim.token))
            .values(claim_token=None, lease_until=None)
        )
