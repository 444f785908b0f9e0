"""The live view's statements, mixed into Store: recent entries and the header's status."""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from gateway import redact
from gateway.model import ExportHealth, RecentEntry
from gateway.store._rows import recent_entry
from gateway.store._schema import export_health, recent_log_entries

MAX_ERROR_TEXT = 500  # the header shows a line, not Logflare's whole answer


class ViewerStatements:
    """Reads of recent_log_entries for the viewer, and the exporter's health it shows."""

    dialect: str

    def _writing(self, locked: bool = True) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _reading(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def recent_after(self, cursor: int, now: int, limit: int) -> list[RecentEntry]:
        """Unexpired entries with id > cursor, oldest first."""
        statement = (
            select(recent_log_entries)
            .where(recent_log_entries.c.id > cursor, recent_log_entries.c.expires_at > now)
            .order_by(recent_log_entries.c.id)
            .limit(limit)
        )
        with self._reading() as conn:
            return [recent_entry(row) for row in conn.execute(statement).mappings()]

    def recent_newest(self, now: int, limit: int, before: int | None = None) -> list[RecentEntry]:
        """The `limit` newest unexpired entries (with id < before, if given), oldest first."""
        live = recent_log_entries.c.expires_at > now
        if before is not None:
            live = live & (recent_log_entries.c.id < before)
        statement = (
            select(recent_log_entries)
            .where(live)
            .order_by(recent_log_entries.c.id.desc())
            .limit(limit)
        )
        with self._reading() as conn:
            rows = [recent_entry(row) for row in conn.execute(statement).mappings()]
        return rows[::-1]

    def recent_count(self, now: int) -> int:
        live = recent_log_entries.c.expires_at > now
        statement = select(func.count()).select_from(recent_log_entries).where(live)
        with self._reading() as conn:
            return int(conn.execute(statement).scalar_one())

    def recent_services(self, now: int, limit: int) -> list[str]:
        """Distinct service names of unexpired entries, sorted (the page's service list)."""
        column = recent_log_entries.c.service
        statement = (
            select(column)
            .where(recent_log_entries.c.expires_at > now)
            .distinct()
            .order_by(column)
            .limit(limit)
        )
        with self._reading() as conn:
            return [str(service) for service in conn.execute(statement).scalars()]

    def export_health(self) -> ExportHealth:
        """The Logflare exporter's last success and last error (zeros: never)."""
        health = select(export_health).where(export_health.c.exporter == "logflare")
        with self._reading() as conn:
            row = conn.execute(health).mappings().first()
        if row is None:
            return ExportHealth()
        return ExportHealth(
            int(row["last_success"]), int(row["last_error"]), str(row["last_error_text"])
        )

    def record_export_result(self, now: int, error: str | None) -> None:
        """Note an export request's result: a success (error None) or why it failed."""
        values: dict[str, int | str]
        if error is None:
            values = {"last_success": now}
        else:
            # Masked whole, then cut: Logflare's answer may echo a secret.
            values = {"last_error": now, "last_error_text": redact.text(error)[:MAX_ERROR_TEXT]}
        dialect_insert = sqlite.insert if self.dialect == "sqlite" else postgresql.insert
        first = {"last_success": 0, "last_error": 0, "last_error_text": ""} | values
        statement = dialect_insert(export_health).values(exporter="logflare", **first)
        statement = statement.on_conflict_do_update(index_elements=["exporter"], set_=values)
        with self._writing() as conn:
            conn.execute(statement)
