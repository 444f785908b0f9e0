"""Entries <-> recent_log_entries rows."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.model import Entry, RecentEntry
from gateway.store._schema import RECENT_COLUMNS


def recent_values(entry: Entry, expires_at: int) -> tuple[Any, ...]:
    """A row for recent_log_entries, in RECENT_COLUMNS order."""
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
        orjson.dumps(entry.attributes).decode(),
        entry.trace_id,
        entry.span_id,
        entry.scope,
    )


def recent_entry(row: Any) -> RecentEntry:
    values = {name: row[name] for name in RECENT_COLUMNS if name != "expires_at"}
    values["attributes"] = orjson.loads(values["attributes"])
    return RecentEntry(id=row["id"], entry=Entry(**values), expires_at=row["expires_at"])
