"""The drop policies and the running totals, mixed into Store: what is deleted to make room
is counted in `counters` in the same transaction, so the totals are exact across restarts."""

from __future__ import annotations

from collections import Counter
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, Table, delete, insert, select, update

from gateway.store._schema import counters, export_outbox, log_queue


class DropStatements:
    def _writing(self, locked: bool = True) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _reading(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def drop_lowest_severity(self, count: int, after_id: int, below: int) -> dict[int, int]:
        """Delete up to `count` of the lowest-severity, oldest queued rows with id > after_id and
        severity_number < below, counted in `counters` as dropped_records.
        Returns {severity_number: dropped}."""
        return self._drop_lowest(log_queue, count, after_id, below, "dropped_records")

    def drop_outbox_lowest_severity(self, exporter: str, count: int, below: int) -> dict[int, int]:
        """The same for events waiting for `exporter` (unclaimed ones), counted as
        dropped_events/<exporter>."""
        mine = export_outbox.c.exporter == exporter
        return self._drop_lowest(export_outbox, count, 0, below, f"dropped_events/{exporter}", mine)

    def _drop_lowest(
        self, table: Table, count: int, after_id: int, below: int, counter: str, *where: Any
    ) -> dict[int, int]:
        victims = (
            select(table.c.id)
            .where(table.c.id > after_id, table.c.severity_number < below, *where)
            .where(table.c.claim_token.is_(None))
            .order_by(table.c.severity_number, table.c.id)
            .limit(count)
        )
        statement = (
            delete(table)
            .where(table.c.id.in_(victims.scalar_subquery()))
            .returning(table.c.severity_number)
        )
        with self._writing() as conn:
            dropped = Counter(int(row[0]) for row in conn.execute(statement))
            self._add_to_counter(conn, counter, sum(dropped.values()))
        return dict(dropped)

    def _add_to_counter(self, conn: Connection, name: str, amount: int) -> None:
        if amount:
            bump = (
                update(counters)
                .where(counters.c.name == name)
                .values(value=counters.c.value + amount)
            )
            if conn.execute(bump).rowcount == 0:
                conn.execute(insert(counters).values(name=name, value=amount))

    def counter(self, name: str) -> int:
        with self._reading() as conn:
            found = conn.execute(select(counters.c.value).where(counters.c.name == name)).scalar()
        return int(found or 0)
