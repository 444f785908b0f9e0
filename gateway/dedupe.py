"""Dedupe: identical records of a batch become one Entry with a count (a pure function)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from gateway import severity
from gateway.model import Entry, QueuedRow
from gateway.otlp import Origin, body_text, nest_attributes

DEFAULT_KEYS = ("body", "severity")
_BAND_OF = ("", *(severity.band(n, "") for n in range(1, 25)))


class OriginCache:
    """Decodes each resource+scope once: a batch holds few, each repeated many times."""

    def __init__(self) -> None:
        self.by_id: dict[int, Origin] = {}

    def learn(self, origins: Mapping[int, bytes]) -> dict[int, Origin]:
        for origin_id, origin in origins.items():
            if origin_id not in self.by_id:
                self.by_id[origin_id] = Origin(origin)
        return self.by_id


def dedupe(
    rows: Iterable[QueuedRow], origins: Mapping[int, Origin], keys: Sequence[str] = DEFAULT_KEYS
) -> list[Entry]:
    """Group rows by the configured keys, in order of first appearance.

    This loop runs once per queued record, so it stays flat: one decode, table lookups, one
    dict probe. Everything else happens once per entry, in _new_entry.
    """
    use_body, use_band, use_service = (
        ("body" in keys),
        ("severity" in keys),
        ("service.name" in keys),
    )
    entries: dict[tuple[str, str, str], Entry] = {}
    decode = LogRecord.FromString
    for _, received_at, number, record_bytes, origin_id in rows:
        record = decode(record_bytes)
        origin = origins[origin_id]
        body = record.body.string_value or body_text(record.body)
        band = (
            _BAND_OF[number] if 0 < number <= 24 else severity.band_from_text(record.severity_text)
        )
        seen = record.time_unix_nano or record.observed_time_unix_nano or received_at
        key = (
            body if use_body else "",
            band if use_band else "",
            origin.service if use_service else "",
        )
        entry = entries.get(key)
        if entry is None:
            entries[key] = _new_entry(record, origin, body, band, seen, record_bytes)
        else:
            entry.count += 1
            if seen < entry.first_seen:
                entry.first_seen = seen
            elif seen > entry.last_seen:
                entry.last_seen = seen
    return list(entries.values())


def _new_entry(
    record: LogRecord, origin: Origin, body: str, band: str, seen: int, record_bytes: bytes
) -> Entry:
    return Entry(
        body=body,
        severity_number=severity.effective_number(record.severity_number, record.severity_text),
        severity=band,
        service=origin.service,
        count=1,
        first_seen=seen,
        last_seen=seen,
        scope=origin.scope,
        first_record=record_bytes,
    )


def add_details(entry: Entry) -> None:
    """Fill attributes, trace and span id from the entry's first record (kept entries only)."""
    if not entry.first_record:
        return
    record = LogRecord.FromString(entry.first_record)
    entry.attributes = nest_attributes(record.attributes)
    entry.trace_id = record.trace_id.hex()
    entry.span_id = record.span_id.hex()
    entry.first_record = b""
