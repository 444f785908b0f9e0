"""The live view's statements, mixed into Store: recent entries and the header's status."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, Select, case, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from gateway.model import ExportHealth, RecentEntry
from gateway.store._rows import entry_of, recent_entry
from gateway.store._schema import RECENT_COLUMNS, export_health, recent_log_entries

MAX_ERROR_TEXT = 500  # the header shows a line, not Logflare's whole answer
# Service, scope, trace and span ids are names, not documents: a shortened read cuts them here.
SHORT_TEXT_CHARS = 1024


class ViewerStatements:
    """Reads of recent_log_entries for the viewer, and the exporter's health it shows."""

    dialect: str

    def _writing(self, locked: bool = True) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _reading(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def recent_after(
        self, cursor: int, now: int, limit: int, max_chars: int | None = None
    ) -> list[RecentEntry]:
        """Unexpired entries with id > cursor, oldest first; with `max_chars`, shortened in
        the database (see _shortened), so a read of huge rows stays small."""
        statement = (
            _recent_select(max_chars)
            .where(recent_log_entries.c.id > cursor, recent_log_entries.c.expires_at > now)
            .order_by(recent_log_entries.c.id)
            .limit(limit)
        )
        with self._reading() as conn:
            rows = conn.execute(statement).mappings()
            return [_recent_row(row, max_chars) for row in rows]

    def recent_newest(
        self, now: int, limit: int, before: int | None = None, max_chars: int | None = None
    ) -> list[RecentEntry]:
        """The `limit` newest unexpired entries (with id < before, if given), oldest first;
        `max_chars` as for recent_after."""
        live = recent_log_entries.c.expires_at > now
        if before is not None:
            live = live & (recent_log_entries.c.id < before)
        statement = (
            _recent_select(max_chars)
            .where(live)
            .order_by(recent_log_entries.c.id.desc())
            .limit(limit)
        )
        with self._reading() as conn:
            rows = [_recent_row(row, max_chars) for row in conn.execute(statement).mappings()]
        return rows[::-1]

    def recent_entry(self, entry_id: int, now: int) -> RecentEntry | None:
        """One unexpired entry, whole (the page's expanded row); None if gone or unknown."""
        live = recent_log_entries.c.expires_at > now
        statement = select(recent_log_entries).where(live, recent_log_entries.c.id == entry_id)
        with self._reading() as conn:
            row = conn.execute(statement).mappings().first()
        return recent_entry(row) if row is not None else None

    def recent_count(self, now: int) -> int:
        live = recent_log_entries.c.expires_at > now
        statement = select(func.count()).select_from(recent_log_entries).where(live)
        with self._reading() as conn:
            return int(conn.execute(statement).scalar_one())

    def recent_services(self, now: int, limit: int) -> list[str]:
        """Distinct service names of unexpired entries, sorted (the page's service list), each
        cut to SHORT_TEXT_CHARS as in a shortened read."""
        column = func.substr(recent_log_entries.c.service, 1, SHORT_TEXT_CHARS).label("service")
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
            # The export stage masked it whole (Logflare's answer may echo a secret): cut only.
            values = {"last_error": now, "last_error_text": error[:MAX_ERROR_TEXT]}
        dialect_insert = sqlite.insert if self.dialect == "sqlite" else postgresql.insert
        first = {"last_success": 0, "last_error": 0, "last_error_text": ""} | values
        statement = dialect_insert(export_health).values(exporter="logflare", **first)
        statement = statement.on_conflict_do_update(index_elements=["exporter"], set_=values)
        with self._writing() as conn:
            conn.execute(statement)


def _recent_select(max_chars: int | None) -> Select[Any]:
    if max_chars is None:
        return select(recent_log_entries)
    return select(*_shortened(max_chars))


def _shortened(max_chars: int) -> list[ColumnElement[Any]]:
    """recent_log_entries' columns with the body and the pattern's template cut to max_chars
    (one more body character is read, to tell a cut from a body of exactly that length), the
    details (attributes and the pattern's variables) left out when their JSON together is
    longer, and the names cut to SHORT_TEXT_CHARS."""
    table = recent_log_entries.c
    details = func.length(table.attributes) + func.coalesce(func.length(table.pattern_variables), 0)
    fits = details <= max_chars
    columns: list[ColumnElement[Any]] = [table.id]
    for column in (table[name] for name in RECENT_COLUMNS):
        if column.name == "body":
            columns += [
                func.substr(column, 1, max_chars + 1).label("body"),
                func.length(column).label("body_length"),
            ]
        elif column.name == "attributes":
            columns += [
                case((fits, column), else_=literal("{}")).label("attributes"),
                case((fits, literal(0)), else_=literal(1)).label("attributes_elided"),
            ]
        elif column.name == "pattern_variables":  # NULL stays NULL: an entry without a pattern
            columns.append(case((fits, column), else_=literal("[]")).label(column.name))
        elif column.name == "pattern_template":
            columns.append(func.substr(column, 1, max_chars).label(column.name))
        elif column.name in ("service", "scope", "trace_id", "span_id"):
            columns.append(func.substr(column, 1, SHORT_TEXT_CHARS).label(column.name))
        else:
            columns.append(column)
    return columns


def _recent_row(row: Any, max_chars: int | None) -> RecentEntry:
    if max_chars is None:
        return recent_entry(row)
    body = str(row["body"])
    entry = entry_of(row, body=body[:max_chars])
    # SQLite's length() stops at a NUL: never report less than what was read.
    length = max(int(row["body_length"]), len(body)) if len(body) > max_chars else 0
    elided = bool(row["attributes_elided"])
    return RecentEntry(row["id"], entry, row["expires_at"], length, elided)
