"""Dedupe: identical records of a batch become one Entry with a count (a pure function)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from gateway import severity
from gateway.model import Entry, QueuedRow
from gateway.otlp import Origin, body_text, nest_attributes

DEFAULT_KEYS = ("body", "severity")


class OriginCache:
    """Decodes each distinct resource+scope once: a batch holds few, repeated many times."""

    def __init__(self) -> None:
        self._origins: dict[bytes, Origin] = {}

    def get(self, origin: bytes) -> Origin:
        found = self._origins.get(origin)
        if found is None:
            found = self._origins[origin] = Origin(origin)
        return found


def dedupe(
    rows: Iterable[QueuedRow],
    keys: Sequence[str] = DEFAULT_KEYS,
    origins: OriginCache | None = None,
) -> list[Entry]:
    """Group rows by the configured keys, in order of first appearance."""
    origins = origins or OriginCache()
    use_body, use_band, use_service = (
        ("body" in keys),
        ("severity" in keys),
        ("service.name" in keys),
    )
    entries: dict[tuple[str, str, str], Entry] = {}
    for row in rows:
        record = LogRecord.FromString(row.record)
        origin = origins.get(row.origin)
        body = body_text(record.body)
        band = severity.band(record.severity_number, record.severity_text)
        seen = record.time_unix_nano or record.observed_time_unix_nano or row.received_at
        key = (
            body if use_body else "",
            band if use_band else "",
            origin.service if use_service else "",
        )
        entry = entries.get(key)
        if entry is None:
            entries[key] = _new_entry(record, origin, body, band, seen)
        else:
            entry.count += 1
            entry.first_seen = min(entry.first_seen, seen)
            entry.last_seen = max(entry.last_seen, seen)
    return list(entries.values())


def _new_entry(record: LogRecord, origin: Origin, body: str, band: str, seen: int) -> Entry:
    return Entry(
        body=body,
        severity_number=severity.effective_number(record.severity_number, record.severity_text),
        severity=band,
        service=origin.service,
        count=1,
        first_seen=seen,
        last_seen=seen,
        attributes=nest_attributes(record.attributes),
        trace_id=record.trace_id.hex(),
        span_id=record.span_id.hex(),
        scope=origin.scope,
    )
