"""Dedupe: records of a batch with the same key become one Entry with an exact count.

A pure function of the rows and, when records are grouped by pattern, of the miner's state
(gateway/pipeline/grouping.py regroups the entries by their configured key).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from gateway import severity
from gateway.model import ClaimedRow, Entry
from gateway.otlp import Origin, nest_attributes
from gateway.pipeline.grouping import Grouping, Matcher, regroup

DEFAULT_KEYS = ("body", "severity")
# Rows hold 0-24 (the receiver maps anything else through severity_text or to 0); the key uses
# the band's index, the entry its name.
_BAND_OF = tuple((n + 3) // 4 for n in range(25))


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
    rows: Iterable[ClaimedRow],
    origins: Mapping[int, Origin],
    grouping: Grouping | Sequence[str] = DEFAULT_KEYS,
    matcher: Matcher | None = None,
    top_values: int = 5,
) -> list[Entry]:
    """Group rows by their configured keys, in order of first appearance; by `keys` alone
    when every record is keyed by its body, else by body, band and service first, then by
    each record's key (`matcher` finds the patterns)."""
    if not isinstance(grouping, Grouping):
        grouping = Grouping(tuple(grouping))
    if grouping.by_body_only:
        return by_keys(rows, origins, grouping.keys)
    fine = by_keys(rows, origins, ("body", "severity", "service.name"))
    return regroup(fine, origins, grouping, matcher, top_values)


def by_keys(
    rows: Iterable[ClaimedRow], origins: Mapping[int, Origin], keys: Sequence[str]
) -> list[Entry]:
    """Group rows by body, severity band and service, each if in `keys`.

    This loop runs once per queued record, so it stays flat: no decoding, one dict probe.
    Everything else happens once per entry.
    """
    use_body, use_band, use_service = (
        name in keys for name in ("body", "severity", "service.name")
    )
    entries: dict[tuple[str, int, str], Entry] = {}
    for row_id, seen_at, number, body, origin_id in rows:
        band = _BAND_OF[number]
        key = (
            body if use_body else "",
            band if use_band else 0,
            origins[origin_id].service if use_service else "",
        )
        entry = entries.get(key)
        if entry is None:
            entries[key] = _new_entry(row_id, seen_at, number, body, origins[origin_id])
        else:
            entry.count += 1
            if seen_at < entry.first_seen:
                entry.first_seen = seen_at
            elif seen_at > entry.last_seen:
                entry.last_seen = seen_at
    return list(entries.values())


def _new_entry(row_id: int, seen_at: int, number: int, body: str, origin: Origin) -> Entry:
    return Entry(
        body=body,
        severity_number=number,
        severity=severity.band(number, ""),
        service=origin.service,
        count=1,
        first_seen=seen_at,
        last_seen=seen_at,
        scope=origin.scope,
        first_id=row_id,
    )


def add_details(entry: Entry, record: bytes) -> None:
    """Fill attributes, trace and span id from the entry's first record (kept entries only)."""
    decoded = LogRecord.FromString(record)
    entry.attributes = nest_attributes(decoded.attributes)
    entry.trace_id = decoded.trace_id.hex()
    entry.span_id = decoded.span_id.hex()
