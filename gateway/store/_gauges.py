"""The statements behind the metrics' scrape-time gauges, mixed into Store."""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy import Connection, func, select

from gateway.clock import NS_PER_SECOND
from gateway.model import DatabaseGauges
from gateway.store._schema import (
    counters,
    dead_letter,
    export_outbox,
    log_queue,
    recent_log_entries,
)

SIZE_SAMPLE_ROWS = 1000  # queue bytes = depth x the mean size of the newest rows: no full scan


class GaugeStatements:
    def _reading(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def database_gauges(self, now: int) -> DatabaseGauges:
        """Queue, outbox, dead letters, live rows and persistent counters, in one read."""
        with self._reading() as conn:
            depth = _count(conn, select(func.count()).select_from(log_queue))
            oldest = conn.execute(
                select(log_queue.c.received_at).order_by(log_queue.c.id).limit(1)
            ).scalar()
            newest = (
                select(log_queue.c.body, log_queue.c.record)
                .order_by(log_queue.c.id.desc())
                .limit(SIZE_SAMPLE_ROWS)
                .subquery()
            )
            mean = conn.execute(
                select(func.avg(func.length(newest.c.body) + func.length(newest.c.record)))
            ).scalar()
            return DatabaseGauges(
                queue_depth=depth,
                queue_bytes=int(depth * float(mean or 0)),
                queue_oldest_age_s=max(0.0, (now - int(oldest)) / NS_PER_SECOND) if oldest else 0.0,
                outbox_depth=_count(conn, select(func.count()).select_from(export_outbox)),
                dead_letters=_count(conn, select(func.count()).select_from(dead_letter)),
                recent_rows=_count(
                    conn,
                    select(func.count())
                    .select_from(recent_log_entries)
                    .where(recent_log_entries.c.expires_at > now),
                ),
                counters={
                    str(n): int(v)
                    for n, v in conn.execute(select(counters.c.name, counters.c.value))
                },
            )


def _count(conn: Connection, statement: object) -> int:
    return int(conn.execute(statement).scalar_one())  # type: ignore[call-overload]
