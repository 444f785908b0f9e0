"""Reads of recent_log_entries rows as RecentEntry, whole or shortened in the database (the
live stream's reads: a huge row costs a bounded read)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, case, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from gateway.model import RecentEntry
from gateway.store._rows import entry_of, recent_entry
from gateway.store._schema import RECENT_COLUMNS, recent_log_entries

# Service, scope, trace and span ids are names, not documents: a shortened read cuts them here.
SHORT_TEXT_CHARS = 1024


def recent_select(max_chars: int | None) -> Select[Any]:
    if max_chars is None:
        return select(recent_log_entries)
    return select(*_shortened(max_chars))


def _shortened(max_chars: int) -> list[ColumnElement[Any]]:
    """recent_log_entries' columns with the body and the pattern's template cut to max_chars
    (one more body character is read, to tell a cut from a body of exactly that length), the
    details (attributes and the pattern's variables) left out when their JSON together is
    longer, the resource attributes when theirs alone is (either sets attributes_elided), and
    the names cut to SHORT_TEXT_CHARS (the services' names already are)."""
    table = recent_log_entries.c
    details = func.length(table.attributes) + func.coalesce(func.length(table.pattern_variables), 0)
    fits = details <= max_chars
    # The resource is weighed on its own: a few names a filter looks for, not to be lost
    # because the record's attributes are big.
    resource_fits = func.coalesce(func.length(table.resource), 0) <= max_chars
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
                case((fits & resource_fits, literal(0)), else_=literal(1)).label(
                    "attributes_elided"
                ),
            ]
        elif column.name == "resource":  # NULL stays NULL: an entry stored before version 5
            columns.append(case((resource_fits, column), else_=literal("{}")).label(column.name))
        elif column.name == "pattern_variables":  # NULL stays NULL: an entry without a pattern
            columns.append(case((fits, column), else_=literal("[]")).label(column.name))
        elif column.name == "pattern_template":
            columns.append(func.substr(column, 1, max_chars).label(column.name))
        elif column.name in ("service", "scope", "trace_id", "span_id"):
            columns.append(func.substr(column, 1, SHORT_TEXT_CHARS).label(column.name))
        else:
            columns.append(column)
    return columns


def recent_row(row: Any, max_chars: int | None) -> RecentEntry:
    if max_chars is None:
        return recent_entry(row)
    body = str(row["body"])
    entry = entry_of(row, body=body[:max_chars])
    # SQLite's length() stops at a NUL: never report less than what was read.
    length = max(int(row["body_length"]), len(body)) if len(body) > max_chars else 0
    elided = bool(row["attributes_elided"])
    return RecentEntry(row["id"], entry, row["expires_at"], length, elided)
