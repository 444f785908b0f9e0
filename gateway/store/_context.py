"""Reads by service, mixed into Store: the window's service names (those an aggregate names
among its services too), and an entry's context: the unexpired entries of its services just
before and just after it in time (the live page's "same service around this entry")."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, cast, false, func, or_, select, union
from sqlalchemy.dialects.postgresql import JSONB

from gateway.model import RecentEntry
from gateway.store._reads import SHORT_TEXT_CHARS, recent_row, recent_select
from gateway.store._rows import services_of
from gateway.store._schema import recent_log_entries


@dataclass(frozen=True, slots=True)
class EntryContext:
    """An entry and its neighbours of the same services, each list oldest first."""

    entry: RecentEntry
    services: tuple[str, ...]  # the names matched: the entry's service and its services
    before: list[RecentEntry]
    after: list[RecentEntry]
    more_before: bool  # more entries of those services lie before the first of `before`
    more_after: bool


class ContextStatements:
    dialect: str

    def _reading(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def recent_services(self, now: int, limit: int) -> list[str]:
        """Distinct service names of unexpired entries, sorted (the page's service list): their
        own and those their services name, each cut to SHORT_TEXT_CHARS as in a shortened
        read. Only rows naming two or more (a "],[" in the JSON) are parsed."""
        table = recent_log_entries.c
        live = table.expires_at > now
        own = select(func.substr(table.service, 1, SHORT_TEXT_CHARS).label("service")).where(live)
        pairs, name = _service_pairs(self.dialect)
        several = _position(self.dialect)(table.services, "],[") > 0
        named = (
            select(func.substr(name, 1, SHORT_TEXT_CHARS).label("service"))
            .select_from(recent_log_entries, pairs)
            .where(live, several, name.is_not(None))
        )
        both = union(own, named).subquery()
        statement = select(both.c.service).order_by(both.c.service).limit(limit)
        with self._reading() as conn:
            return [str(service) for service in conn.execute(statement).scalars()]

    def recent_context(
        self, entry_id: int, now: int, before: int, after: int, max_chars: int | None = None
    ) -> EntryContext | None:
        """The unexpired entry `entry_id` with the `before` entries just before it and the
        `after` just after it (by first_seen, then id) whose service is one of its services
        or who name one of them among theirs; None when it expired or never was. Entries are
        shortened to `max_chars` as Store.recent_after does. The window is not indexed by
        time: each side is one scan of the unexpired rows, bounded by the purge."""
        table = recent_log_entries.c
        with self._reading() as conn:
            target = (
                conn.execute(
                    recent_select(max_chars).where(table.id == entry_id, table.expires_at > now)
                )
                .mappings()
                .first()
            )
            if target is None:
                return None
            names = _names(conn, entry_id)
            same = _any_service(self.dialect, names)
            first_seen = int(target["first_seen"])
            earlier = (table.first_seen < first_seen) | (
                (table.first_seen == first_seen) & (table.id < entry_id)
            )
            later = (table.first_seen > first_seen) | (
                (table.first_seen == first_seen) & (table.id > entry_id)
            )
            live = table.expires_at > now
            newest_first = (table.first_seen.desc(), table.id.desc())
            oldest_first = (table.first_seen, table.id)
            found_before = _side(conn, max_chars, (live, same, earlier), newest_first, before)
            found_after = _side(conn, max_chars, (live, same, later), oldest_first, after)
        return EntryContext(
            entry=recent_row(target, max_chars),
            services=names,
            before=found_before[:before][::-1],
            after=found_after[:after],
            more_before=len(found_before) > before,
            more_after=len(found_after) > after,
        )


def _names(conn: Connection, entry_id: int) -> tuple[str, ...]:
    """The entry's service (whole, and as services cuts names) and its services' names."""
    table = recent_log_entries.c
    row = conn.execute(select(table.service, table.services).where(table.id == entry_id)).one()
    service = str(row.service)
    services, _ = services_of(row.services)
    return tuple(dict.fromkeys([service, service[:SHORT_TEXT_CHARS], *services]))


def _any_service(dialect: str, names: tuple[str, ...]) -> ColumnElement[bool]:
    """An entry whose service is one of `names`, or whose services column names one. In that
    column's JSON a name is always written `["name",` (a quote inside a name is escaped, so
    this cannot match inside another name); both sides are orjson's writing of it. instr and
    strpos compare exactly, where LIKE would ignore case on SQLite and need escapes."""
    table = recent_log_entries.c
    position = _position(dialect)
    named = [
        position(table.services, "[" + orjson.dumps(name).decode() + ",") > 0 for name in names
    ]
    return or_(table.service.in_(names), *named) if names else false()


def _side(
    conn: Connection,
    max_chars: int | None,
    where: tuple[ColumnElement[bool], ...],
    order: tuple[Any, ...],
    limit: int,
) -> list[RecentEntry]:
    """Up to limit + 1 entries (the one more says whether there are more)."""
    statement = recent_select(max_chars).where(*where).order_by(*order).limit(limit + 1)
    return [recent_row(row, max_chars) for row in conn.execute(statement).mappings()]


def _position(dialect: str) -> Any:
    """SQL's 1-based position of a text in another (0 when absent), exact on both databases."""
    return func.instr if dialect == "sqlite" else func.strpos


def _service_pairs(dialect: str) -> tuple[Any, ColumnElement[Any]]:
    """The services column's [name, count] pairs as a table joined to each row (a lateral
    function call on both databases), and a pair's name (NULL for the [null, n] of the rest)."""
    services = recent_log_entries.c.services
    if dialect == "sqlite":
        pairs = func.json_each(services).table_valued("value", joins_implicitly=True)
        return pairs, func.json_extract(pairs.c.value, "$[0]")
    elements = func.jsonb_array_elements(cast(services, JSONB))
    pairs = elements.table_valued("value", joins_implicitly=True)
    return pairs, pairs.c.value.op("->>")(0)
