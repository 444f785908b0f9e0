"""The live view's statements, mixed into Store: recent entries, the header's status and the
Patterns view's top patterns of the window."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Select, bindparam, case, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from gateway import severity
from gateway.clock import NS_PER_SECOND
from gateway.model import ExportHealth, RecentEntry
from gateway.store._rows import entry_of, recent_entry
from gateway.store._schema import RECENT_COLUMNS, export_health, recent_log_entries

MAX_ERROR_TEXT = 500  # the header shows a line, not Logflare's whole answer
# Service, scope, trace and span ids are names, not documents: a shortened read cuts them here.
SHORT_TEXT_CHARS = 1024
MINUTE_NS = 60 * NS_PER_SECOND
# A pattern's services in the Patterns view, those with most records first: a list to read.
MAX_PATTERN_SERVICES = 10
OUTSIDE = -1  # the minute of entries first seen outside the sparkline's minutes


@dataclass(frozen=True, slots=True)
class WindowPattern:
    """One pattern's unexpired entries, summed: the Patterns view's row."""

    id: int
    template: str  # cut to SHORT_TEXT_CHARS
    count: int  # records, over every unexpired entry of the pattern
    severities: tuple[str, ...]  # bands of its entries, lowest first
    services: tuple[str, ...]  # at most MAX_PATTERN_SERVICES, most records first
    service_count: int  # distinct services in all
    # Records per minute of first_seen, oldest first; the last is the minute of `now`.
    per_minute: tuple[int, ...] = field(default=())


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

    def window_patterns(self, now: int, limit: int, minutes: int) -> list[WindowPattern]:
        """The `limit` patterns with most records among unexpired entries, most first, each
        with its bands, services and records per minute of first_seen over the `minutes`
        minutes up to now's (entries first seen before, or after now, count in its total
        only). Two reads of the window: the totals, then the spread of the top ones."""
        first_minute = now // MINUTE_NS - minutes + 1
        with self._reading() as conn:
            top = conn.execute(_top_patterns(now, limit)).all()
            if not top:
                return []
            ids = [int(row.pattern_id) for row in top]
            spread = conn.execute(_pattern_spread(now, first_minute, minutes), {"ids": ids})
            return _window_patterns(top, spread.all(), first_minute, minutes)

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


def _top_patterns(now: int, limit: int) -> Select[Any]:
    table = recent_log_entries.c
    total = func.sum(table.count).label("total")
    # An id is the hash of its template: every entry of one id holds the same text.
    template = func.max(func.substr(table.pattern_template, 1, SHORT_TEXT_CHARS))
    return (
        select(table.pattern_id, total, template.label("template"))
        .where(table.expires_at > now, table.pattern_id.is_not(None))
        .group_by(table.pattern_id)
        .order_by(total.desc(), table.pattern_id)
        .limit(limit)
    )


def _pattern_spread(now: int, first_minute: int, minutes: int) -> Select[Any]:
    """Records of the chosen patterns (bound as `ids`) by band, service and minute of
    first_seen (OUTSIDE for those not in the sparkline's minutes). The minute is worked out
    in a subquery: PostgreSQL would not take a GROUP BY expression with bound parameters as
    the same as the selected one."""
    table = recent_log_entries.c
    in_minutes = (table.first_seen >= first_minute * MINUTE_NS) & (
        table.first_seen < (first_minute + minutes) * MINUTE_NS
    )
    rows = (
        select(
            table.pattern_id,
            table.severity,
            func.substr(table.service, 1, SHORT_TEXT_CHARS).label("service"),
            case((in_minutes, table.first_seen // MINUTE_NS), else_=literal(OUTSIDE)).label(
                "minute"
            ),
            table.count,
        )
        .where(table.expires_at > now, table.pattern_id.in_(bindparam("ids", expanding=True)))
        .subquery()
    )
    keys = (rows.c.pattern_id, rows.c.severity, rows.c.service, rows.c.minute)
    return select(*keys, func.sum(rows.c.count).label("records")).group_by(*keys)


@dataclass
class _Spread:
    bands: set[str] = field(default_factory=set)
    services: Counter[str] = field(default_factory=Counter)
    per_minute: list[int] = field(default_factory=list)


def _window_patterns(
    top: Sequence[Any], spread: Iterable[Any], first_minute: int, minutes: int
) -> list[WindowPattern]:
    found: defaultdict[int, _Spread] = defaultdict(lambda: _Spread(per_minute=[0] * minutes))
    for row in spread:
        into = found[int(row.pattern_id)]
        into.bands.add(str(row.severity))
        into.services[str(row.service)] += int(row.records)
        if row.minute != OUTSIDE:
            into.per_minute[int(row.minute) - first_minute] += int(row.records)
    return [_window_pattern(row, found[int(row.pattern_id)]) for row in top]


def _window_pattern(row: Any, spread: _Spread) -> WindowPattern:
    services = sorted(spread.services.items(), key=lambda item: (-item[1], item[0]))
    return WindowPattern(
        id=int(row.pattern_id),
        template=str(row.template or ""),
        count=int(row.total),
        severities=tuple(sorted(spread.bands, key=lambda band: severity.RANK.get(band, 0))),
        services=tuple(name for name, _ in services[:MAX_PATTERN_SERVICES]),
        service_count=len(services),
        per_minute=tuple(spread.per_minute),
    )
