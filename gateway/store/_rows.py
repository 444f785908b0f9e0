"""Entries <-> recent_log_entries rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from gateway.model import Entry, PatternRef, RecentEntry, VariableValues
from gateway.store._schema import RECENT_COLUMNS

PATTERN_COLUMNS = ("pattern_id", "pattern_template", "pattern_variables")
ATTRIBUTION_COLUMNS = ("services", "resource")  # JSON text, see _schema.py
# The columns that are Entry fields of the same name, as they are.
ENTRY_COLUMNS = tuple(
    name
    for name in RECENT_COLUMNS
    if name != "expires_at" and name not in PATTERN_COLUMNS + ATTRIBUTION_COLUMNS
)


def recent_rows_of(recent: Sequence[tuple[Entry, int]]) -> list[tuple[Any, ...]]:
    """recent_values of each (entry, expires_at), the entries of one origin sharing one text
    of their resource (and every entry without attributes one `{}`): a batch's 20,000 rows
    are built at once, before the write lock is taken, and held through its insert."""
    resources: dict[int, str] = {}  # by the resource dict's id: the entries hold each one
    rows = []
    for entry, expires_at in recent:
        resource = resources.get(id(entry.resource))
        if resource is None:
            resource = resources[id(entry.resource)] = _json(entry.resource)
        rows.append(recent_values(entry, expires_at, resource))
    return rows


def recent_values(entry: Entry, expires_at: int, resource: str | None = None) -> tuple[Any, ...]:
    """A row for recent_log_entries, in RECENT_COLUMNS order (`resource`: the resource's JSON
    text, when the caller has it)."""
    return (
        expires_at,
        entry.severity_number,
        entry.severity,
        entry.service,
        entry.body,
        entry.count,
        entry.first_seen,
        entry.last_seen,
        entry.sample_rate,
        _json(entry.attributes) if entry.attributes else _EMPTY,
        entry.trace_id,
        entry.span_id,
        entry.scope,
        *pattern_values(entry.pattern),
        services_json(entry),
        _json(entry.resource) if resource is None else resource,
    )


_EMPTY = "{}"


def _json(value: Mapping[str, Any]) -> str:
    return orjson.dumps(value).decode()


def services_json(entry: Entry) -> str:
    """The services column: [name, count] pairs, most first, then [null, services_other]
    when some services were left out."""
    pairs: list[list[Any]] = [[name, count] for name, count in entry.services.items()]
    if entry.services_other:
        pairs.append([None, entry.services_other])
    return orjson.dumps(pairs).decode()


def pattern_values(pattern: PatternRef | None) -> tuple[int | None, str | None, str | None]:
    """pattern_id, pattern_template, pattern_variables: all NULL for an entry without one."""
    if pattern is None:
        return (None, None, None)
    variables = [
        {"top": values.top, "other": values.other, "distinct": values.distinct}
        for values in pattern.variables
    ]
    return (pattern.id, pattern.template, orjson.dumps(variables).decode())


def recent_entry(row: Any) -> RecentEntry:
    return RecentEntry(id=row["id"], entry=entry_of(row), expires_at=row["expires_at"])


def entry_of(row: Mapping[str, Any], **replaced: Any) -> Entry:
    """The Entry a row holds; `replaced` overrides columns (a shortened read's cut values)."""
    values = {name: row[name] for name in ENTRY_COLUMNS} | replaced
    values["attributes"] = orjson.loads(values["attributes"])
    services, other = services_of(row["services"])
    resource = orjson.loads(row["resource"]) if row["resource"] else {}
    return Entry(
        **values,
        pattern=pattern_of(row),
        services=services,
        services_other=other,
        resource=resource,
    )


def services_of(text: str | None) -> tuple[dict[str, int], int]:
    """The services column as Entry.services and services_other ({} and 0 when NULL: the
    row was stored before version 5)."""
    services: dict[str, int] = {}
    other = 0
    for name, count in orjson.loads(text) if text else ():
        if name is None:
            other += int(count)
        else:
            services[str(name)] = int(count)
    return services, other


def pattern_of(row: Mapping[str, Any]) -> PatternRef | None:
    if row["pattern_id"] is None:
        return None
    variables = tuple(
        VariableValues(
            top=tuple((str(value), int(count)) for value, count in found["top"]),
            other=int(found["other"]),
            distinct=int(found["distinct"]),
        )
        for found in orjson.loads(row["pattern_variables"] or "[]")
    )
    return PatternRef(int(row["pattern_id"]), str(row["pattern_template"]), variables)
