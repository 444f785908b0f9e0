"""The export outbox's statements, mixed into Store."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from gateway.store._claims import OUTBOX_CLAIM_POSTGRES, OUTBOX_CLAIM_SQLITE, raw_rows
from gateway.store._schema import dead_letter, export_outbox
from gateway.store._writer_lock import WriterLock


class OutboxStatements:
    """Events waiting for Logflare: claimed by one export request at a time, then acknowledged,
    released for another try, or moved to dead_letter."""

    dialect: str
    _write_lock: WriterLock | None

    def _writing(self, locked: bool = True) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _reading(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def outbox_peek(self, limit: int) -> list[tuple[int, str]]:
        """The oldest `limit` events waiting for Logflare, as (id, event JSON)."""
        columns = (export_outbox.c.id, export_outbox.c.event)
        statement = select(*columns).order_by(export_outbox.c.id).limit(limit)
        with self._reading() as conn:
            return [(int(row[0]), str(row[1])) for row in conn.execute(statement)]

    def outbox_claim(self, token: int, lease_ns: int, limit: int) -> list[tuple[int, str]]:
        """Claim the oldest `limit` events no export request holds, as (id, event JSON)."""
        sql = OUTBOX_CLAIM_SQLITE if self.dialect == "sqlite" else OUTBOX_CLAIM_POSTGRES
        with self._write_lock or nullcontext(), self._reading() as conn, conn.begin():
            rows = raw_rows(conn, sql, (token, lease_ns, limit))
        return sorted((int(event_id), str(event)) for event_id, event in rows)

    def _claimed_events(self, token: int) -> Any:
        chosen = export_outbox.c.id.in_(bindparam("ids", expanding=True))
        return chosen & (export_outbox.c.claim_token == token)

    def outbox_ack(self, token: int, ids: Sequence[int]) -> None:
        """Delete events Logflare has taken."""
        with self._writing() as conn:
            conn.execute(delete(export_outbox).where(self._claimed_events(token)), {"ids": ids})

    def outbox_release(self, token: int, ids: Sequence[int]) -> None:
        """Let other export requests take these events again (this one failed)."""
        free = update(export_outbox).values(claim_token=None, lease_until=None)
        with self._writing() as conn:
            conn.execute(free.where(self._claimed_events(token)), {"ids": ids})

    def outbox_dead_letter(self, token: int, ids: Sequence[int], reason: str, now: int) -> None:
        """Move events Logflare refused for good to dead_letter, with the reason (the export
        stage masked it: it quotes Logflare's answer, which may echo a secret)."""
        moved = (
            delete(export_outbox)
            .where(self._claimed_events(token))
            .returning(export_outbox.c.event, export_outbox.c.severity_number)
        )
        with self._writing() as conn:
            rows = [
                {"created_at": now, "event": event, "reason": reason, "severity_number": number}
                for event, number in conn.execute(moved, {"ids": list(ids)})
            ]
            if rows:
                conn.execute(insert(dead_letter), rows)

    def outbox_depth(self) -> int:
        with self._reading() as conn:
            return int(conn.execute(select(func.count()).select_from(export_outbox)).scalar_one())

    def dead_letters(self) -> list[tuple[str, str]]:
        """Every dead letter as (event JSON, reason), oldest first."""
        statement = select(dead_letter.c.event, dead_letter.c.reason).order_by(dead_letter.c.id)
        with self._reading() as conn:
            return [(str(row[0]), str(row[1])) for row in conn.execute(statement)]
