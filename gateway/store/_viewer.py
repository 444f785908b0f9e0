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
from sqlalchemy.sql.elements import BindParameter

from gateway import severity
from gateway.clock import NS_PER_SECOND
from gateway.model import ExportHealth, RecentEntry
from gateway.store._context import ContextStatements
from gateway.store._reads import SHORT_TEXT_CHARS, recent_row, recent_select
from gateway.store._rows import recent_entry
from gateway.store._schema import (
    export_health,
    log_pattern,
    pattern_alias,
    recent_log_entries,
)

MAX_ERROR_TEXT = 500  # the header shows a line, not Logflare's whole answer
MINUTE_NS = 60 * NS_PER_SECOND
# A pattern's services in the Patterns view, those with most records first: a list to read.
MAX_PATTERN_SERVICES = 10
OUTSIDE = -1  # the minute of entries first seen outside the sparkline's minutes


@dataclass(frozen=True, slots=True)
class WindowPattern:
    """One pattern's unexpired entries, summed with those of the ids merged into it: the
    Patterns view's row."""

    id: int  # the surviving pattern's, never a merged one's
    template: str  # cut to SHORT_TEXT_CHARS
    count: int  # records, over every unexpired entry of the pattern and its merged ids
    severities: tuple[str, ...]  # bands of its entries, lowest first
    services: tuple[str, ...]  # at most MAX_PATTERN_SERVICES, most records first
    service_count: int  # distinct services in all
    # Records per minute of first_seen, oldest first; the last is the minute of `now`.
    per_minute: tuple[int, ...] = field(default=())


class ViewerStatements(ContextStatements):
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
            recent_select(max_chars)
            .where(recent_log_entries.c.id > cursor, recent_log_entries.c.expires_at > now)
            .order_by(recent_log_entries.c.id)
            .limit(limit)
        )
        with self._reading() as conn:
            rows = conn.execute(statement).mappings()
            return [recent_row(row, max_chars) for row in rows]

    def recent_newest(
        self, now: int, limit: int, before: int | None = None, max_chars: int | None = None
    ) -> list[RecentEntry]:
        """The `limit` newest unexpired entries (with id < before, if given), oldest first;
        `max_chars` as for recent_after."""
        live = recent_log_entries.c.expires_at > now
        if before is not None:
            live = live & (recent_log_entries.c.id < before)
        statement = (
            recent_select(max_chars)
            .where(live)
            .order_by(recent_log_entries.c.id.desc())
            .limit(limit)
        )
        with self._reading() as conn:
            rows = [recent_row(row, max_chars) for row in conn.execute(statement).mappings()]
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

    def window_patterns(self, now: int, limit: int, minutes: int) -> list[WindowPattern]:
        """The `limit` patterns with most records among unexpired entries, most first, each
        counting the entries of the ids merged into it (one row per surviving pattern),
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

    def export_healths(self) -> dict[str, ExportHealth]:
        """Each exporter's last success and last error (zeros: never), by exporter; one that
        has never sent nor tried is absent."""
        statement = select(export_health).order_by(export_health.c.exporter)
        with self._reading() as conn:
            rows = conn.execute(statement).mappings().all()
        return {
            str(row["exporter"]): ExportHealth(
                int(row["last_success"]), int(row["last_error"]), str(row["last_error_text"])
            )
            for row in rows
        }

    def record_export_result(self, exporter: str, now: int, error: str | None) -> None:
        """Note an export request's result: a success (error None) or why it failed."""
        values: dict[str, int | str]
        if error is None:
            values = {"last_success": now}
        else:
            # The export stage masked it whole (Logflare's answer may echo a secret): cut only.
            values = {"last_error": now, "last_error_text": error[:MAX_ERROR_TEXT]}
        dialect_insert = sqlite.insert if self.dialect == "sqlite" else postgresql.insert
        first = {"last_success": 0, "last_error": 0, "last_error_text": ""} | values
        statement = dialect_insert(export_health).values(exporter=exporter, **first)
        statement = statement.on_conflict_do_update(index_elements=["exporter"], set_=values)
        with self._writing() as conn:
            conn.execute(statement)


def _survivor(pattern_id: Any) -> Any:
    """The id a pattern now counts in, read with an outer join of pattern_alias on `narrow`:
    entries written before a merge keep the narrow id, and the view shows the survivor's row.
    One hop is enough: aliases are one hop deep (a merge re-points the ones that led to the id
    it retires), so a chain a -> b -> c already reads a -> c."""
    return func.coalesce(pattern_alias.c.wide, pattern_id)


def _top_patterns(now: int, limit: int) -> Select[Any]:
    """The `limit` survivors with most records, with the survivor's template: its own
    entries' (an id is the hash of its template), else its stored one, else a member's.
    Entries are summed per id first, so only those sums meet pattern_alias."""
    table = recent_log_entries.c
    per_id = (
        select(
            table.pattern_id,
            func.sum(table.count).label("total"),
            func.max(func.substr(table.pattern_template, 1, SHORT_TEXT_CHARS)).label("template"),
        )
        .where(table.expires_at > now, table.pattern_id.is_not(None))
        .group_by(table.pattern_id)
        .subquery()
    )
    survivor = _survivor(per_id.c.pattern_id).label("survivor")
    total = func.sum(per_id.c.total).label("total")
    own = func.max(case((per_id.c.pattern_id == survivor, per_id.c.template))).label("own")
    aliased = per_id.outerjoin(pattern_alias, pattern_alias.c.narrow == per_id.c.pattern_id)
    top = (
        select(survivor, total, own, func.max(per_id.c.template).label("member"))
        .select_from(aliased)
        .group_by(survivor)
        .order_by(total.desc(), survivor)
        .limit(limit)
        .subquery()
    )
    stored = func.substr(log_pattern.c.template, 1, SHORT_TEXT_CHARS)
    template = func.coalesce(top.c.own, stored, top.c.member).label("template")
    return (
        select(top.c.survivor.label("pattern_id"), top.c.total, template)
        .select_from(top.outerjoin(log_pattern, log_pattern.c.id == top.c.survivor))
        .order_by(top.c.total.desc(), top.c.survivor)
    )


def _pattern_spread(now: int, first_minute: int, minutes: int) -> Select[Any]:
    """Records of the chosen survivors (bound as `ids`) and of the ids merged into them, by
    band, service and minute of first_seen (OUTSIDE for those not in the sparkline's minutes),
    each row under its survivor's id (the rows of one survivor are added up by the caller).
    The minute is worked out in a subquery: PostgreSQL would not take a GROUP BY expression
    with bound parameters as the same as the selected one."""
    table = recent_log_entries.c
    ids: BindParameter[list[int]] = bindparam("ids", expanding=True)
    merged = select(pattern_alias.c.narrow).where(pattern_alias.c.wide.in_(ids))
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
        .where(table.expires_at > now, table.pattern_id.in_(ids) | table.pattern_id.in_(merged))
        .subquery()
    )
    keys = (rows.c.pattern_id, rows.c.severity, rows.c.service, rows.c.minute)
    spread = select(*keys, func.sum(rows.c.count).label("records")).group_by(*keys).subquery()
    aliased = spread.outerjoin(pattern_alias, pattern_alias.c.narrow == spread.c.pattern_id)
    return select(
        _survivor(spread.c.pattern_id).label("pattern_id"),
        spread.c.severity,
        spread.c.service,
        spread.c.minute,
        spread.c.records,
    ).select_from(aliased)


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
