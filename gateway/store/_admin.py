"""The operator commands' statements (`logsieve status`, `logsieve dead-letter`), mixed into
Store: summaries of the queue and the outbox, and acting on dead letters."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    LargeBinary,
    bindparam,
    cast,
    delete,
    func,
    insert,
    select,
)

from gateway.store._schema import counters, dead_letter, export_outbox, log_queue


@dataclass(frozen=True, slots=True)
class QueueSummary:
    depth: int
    oldest_received_at: int  # unix ns; 0 when the queue is empty
    payload_bytes: int  # UTF-8 bytes of the bodies plus the encoded records


@dataclass(frozen=True, slots=True)
class OutboxSummary:
    depth: int
    oldest_created_at: int  # unix ns; 0 when the outbox is empty
    claimed: int  # held by an export request right now


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    created_at: int  # unix ns: when the backend refused it
    event: str  # as the exporter sends it (Logflare: JSON; OTLP: the stored LogRecord text)
    reason: str
    exporter: str  # the exporter whose backend refused it; a retry goes back to it


class AdminStatements:
    """Whole-table summaries for operators, and moving dead letters back or away."""

    dialect: str

    def _writing(self, locked: bool = True) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _reading(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def queue_summary(self) -> QueueSummary:
        """Depth, oldest arrival and payload size of the queue (one scan: an operator's read)."""
        size = func.coalesce(
            func.sum(self._bytes(log_queue.c.body) + self._bytes(log_queue.c.record)), 0
        )
        statement = select(func.count(), func.min(log_queue.c.received_at), size)
        with self._reading() as conn:
            depth, oldest, payload = conn.execute(statement).one()
        return QueueSummary(int(depth), int(oldest or 0), int(payload))

    def queue_estimate(self, sample_rows: int) -> tuple[int, float]:
        """(oldest received_at, mean bytes of the newest `sample_rows` rows): no full scan,
        for a figure read at every metrics scrape."""
        oldest = select(log_queue.c.received_at).order_by(log_queue.c.id).limit(1)
        newest = (
            select(self._bytes(log_queue.c.body) + self._bytes(log_queue.c.record))
            .order_by(log_queue.c.id.desc())
            .limit(sample_rows)
            .subquery()
        )
        mean = select(func.avg(newest.c[0]))
        with self._reading() as conn:
            head = conn.execute(oldest).scalar()
            return int(head or 0), float(conn.execute(mean).scalar() or 0.0)

    def _bytes(self, column: Any) -> Any:
        # length() counts characters of text in both databases; bytes are what fill the disk.
        if self.dialect == "sqlite":
            return func.length(cast(column, LargeBinary))
        return func.octet_length(column)

    def outbox_summaries(self) -> dict[str, OutboxSummary]:
        """The outbox by exporter; an exporter with nothing waiting is absent."""
        outbox = export_outbox.c
        claimed = func.count(outbox.claim_token)  # counts the non-NULL ones
        statement = select(outbox.exporter, func.count(), func.min(outbox.created_at), claimed)
        with self._reading() as conn:
            rows = conn.execute(statement.group_by(outbox.exporter)).all()
        return {
            str(name): OutboxSummary(int(depth), int(oldest or 0), int(held))
            for name, depth, oldest, held in rows
        }

    def counter_values(self) -> dict[str, int]:
        """Every running total in `counters`, by name."""
        statement = select(counters.c.name, counters.c.value).order_by(counters.c.name)
        with self._reading() as conn:
            return {str(name): int(value) for name, value in conn.execute(statement)}

    def dead_letter_count(self) -> int:
        with self._reading() as conn:
            return int(conn.execute(select(func.count()).select_from(dead_letter)).scalar_one())

    def dead_letter_counts(self) -> dict[str, int]:
        """Dead letters by exporter; an exporter with none is absent."""
        exporter = dead_letter.c.exporter
        statement = select(exporter, func.count()).group_by(exporter)
        with self._reading() as conn:
            return {str(name): int(count) for name, count in conn.execute(statement)}

    def dead_letter_page(self, after_id: int, limit: int) -> list[DeadLetter]:
        """Up to `limit` dead letters with id > after_id, oldest first."""
        statement = (
            select(dead_letter).where(dead_letter.c.id > after_id).order_by(dead_letter.c.id)
        )
        with self._reading() as conn:
            rows = conn.execute(statement.limit(limit)).all()
        return [
            DeadLetter(int(r.id), int(r.created_at), str(r.event), str(r.reason), str(r.exporter))
            for r in rows
        ]

    def dead_letter_ids(self, after_id: int, up_to_id: int, limit: int) -> list[int]:
        """Up to `limit` dead-letter ids in (after_id, up_to_id], ascending (no event text)."""
        column = dead_letter.c.id
        statement = select(column).where(column > after_id, column <= up_to_id).order_by(column)
        with self._reading() as conn:
            return [int(found) for found in conn.execute(statement.limit(limit)).scalars()]

    def last_dead_letter_id(self) -> int:
        """The highest dead-letter id, 0 when there is none."""
        with self._reading() as conn:
            return int(conn.execute(select(func.max(dead_letter.c.id))).scalar() or 0)

    def retry_dead_letters(self, ids: Sequence[int], now: int) -> int:
        """Move these dead letters back into the outbox, with the severity they were refused
        with (the drop policy spares ERROR and above), in one transaction; returns how many.

        Only the rows this transaction deletes are inserted, so two operators retrying the
        same ids at once cannot send an event twice, and a failure loses none.
        """
        taken = (
            delete(dead_letter)
            .where(dead_letter.c.id.in_(bindparam("ids", expanding=True)))
            .returning(
                dead_letter.c.id,
                dead_letter.c.event,
                dead_letter.c.severity_number,
                dead_letter.c.exporter,
            )
        )
        with self._writing() as conn:
            moved = sorted(conn.execute(taken, {"ids": list(ids)}).all())  # keep their order
            rows = [
                {"created_at": now, "event": event, "severity_number": number, "exporter": name}
                for _, event, number, name in moved
            ]
            if rows:
                conn.execute(insert(export_outbox), rows)
        return len(rows)

    def drop_dead_letters(self, ids: Sequence[int]) -> int:
        """Delete these dead letters for good; returns how many there were."""
        chosen = dead_letter.c.id.in_(bindparam("ids", expanding=True))
        with self._writing() as conn:
            return int(conn.execute(delete(dead_letter).where(chosen), {"ids": list(ids)}).rowcount)
