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
    """Events waiting for their exporter (`exporter` is its key under `exporters:`): claimed by
    one export request at a time, then acknowledged, released for another try, or moved to
    dead_letter. Each exporter has rows of its own, so each drains at its own pace."""

    dialect: str
    _write_lock: WriterLock | None

    def _writing(self, locked: bool = True) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _reading(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def outbox_peek(self, exporter: str, limit: int) -> list[tuple[int, str]]:
        """The oldest `limit` events waiting for `exporter`, as (id, event text)."""
        columns = (export_outbox.c.id, export_outbox.c.event)
        statement = select(*columns).where(export_outbox.c.exporter == exporter)
        statement = statement.order_by(export_outbox.c.id).limit(limit)
        with self._reading() as conn:
            return [(int(row[0]), str(row[1])) for row in conn.execute(statement)]

    def outbox_claim(
        self, exporter: str, token: int, lease_ns: int, limit: int
    ) -> list[tuple[int, str]]:
        """Claim the oldest `limit` events of `exporter` no export request holds, as
        (id, event text)."""
        sql = OUTBOX_CLAIM_SQLITE if self.dialect == "sqlite" else OUTBOX_CLAIM_POSTGRES
        with self._write_lock or nullcontext(), self._reading() as conn, conn.begin():
            rows = raw_rows(conn, sql, (token, lease_ns, exporter, limit))
        return sorted((int(event_id), str(event)) for event_id, event in rows)

    def _claimed_events(self, token: int) -> Any:
        chosen = export_outbox.c.id.in_(bindparam("ids", expanding=True))
        return chosen & (export_outbox.c.claim_token == token)

    def outbox_ack(self, token: int, ids: Sequence[int]) -> None:
        """Delete events their exporter's backend has taken."""
        with self._writing() as conn:
            conn.execute(delete(export_outbox).where(self._claimed_events(token)), {"ids": ids})

    def outbox_release(self, token: int, ids: Sequence[int]) -> None:
        """Let other export requests take these events again (this one failed)."""
        free = update(export_outbox).values(claim_token=None, lease_until=None)
        with self._writing() as conn:
            conn.execute(free.where(self._claimed_events(token)), {"ids": ids})

    def outbox_dead_letter(self, token: int, ids: Sequence[int], reason: str, now: int) -> None:
        """Move events a backend refused for good to dead_letter, with the reason (the export
        stage masked it: it quotes the backend's answer, which may echo a secret)."""
        outbox = export_outbox.c
        moved = (
            delete(export_outbox)
            .where(self._claimed_events(token))
            .returning(outbox.event, outbox.severity_number, outbox.exporter)
        )
        with self._writing() as conn:
            rows = [
                {
                    "created_at": now,
                    "event": event,
                    "reason": reason,
                    "severity_number": number,
                    "exporter": exporter,
                }
                for event, number, exporter in conn.execute(moved, {"ids": list(ids)})
            ]
            if rows:
                conn.execute(insert(dead_letter), rows)

    def outbox_depth(self) -> int:
        """Events waiting, every exporter's together."""
        with self._reading() as conn:
            return int(conn.execute(select(func.count()).select_from(export_outbox)).scalar_one())

    def outbox_depths(self) -> dict[str, int]:
        """Events waiting per exporter (an exporter with none is absent)."""
        exporter = export_outbox.c.exporter
        statement = select(exporter, func.count()).group_by(exporter)
        with self._reading() as conn:
            return {str(name): int(count) for name, count in conn.execute(statement)}

    def outbox_exporter_depth(self, exporter: str) -> int:
        """Events waiting for one exporter (its index makes this a range count)."""
        statement = select(func.count()).where(export_outbox.c.exporter == exporter)
        with self._reading() as conn:
            return int(conn.execute(statement).scalar_one())

    def dead_letters(self) -> list[tuple[str, str]]:
        """Every dead letter as (event text, reason), oldest first."""
        statement = select(dead_letter.c.event, dead_letter.c.reason).order_by(dead_letter.c.id)
        with self._reading() as conn:
            return [(str(row[0]), str(row[1])) for row in conn.execute(statement)]
