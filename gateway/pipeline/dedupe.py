"""Dedupe: records of a batch with the same key become one Entry with an exact count.

A pure function of the rows and, when records are grouped by pattern, of the miner's state
(gateway/pipeline/grouping.py regroups the entries by their configured key).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter

from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from gateway import severity
from gateway.model import MAX_ENTRY_SERVICES, ClaimedRow, Entry
from gateway.otlp import Origin, nest_attributes
from gateway.pipeline.collector import collector_paused
from gateway.pipeline.fine import Fine
from gateway.pipeline.grouping import Grouping, Matcher, made_in_order, regroup

DEFAULT_KEYS = ("body", "severity")
# Rows hold 0-24 (the receiver maps anything else through severity_text or to 0); the key uses
# the band's index, the entry its name.
_BAND_OF = tuple((n + 3) // 4 for n in range(25))
# A service's name in an entry's services, at most: a name, not a document (the stored
# entry's own `service` is whole). A filter's text is at most as long (viewer.filters), so no
# filter can tell a longer name from its cut; 20 of them keep a stream frame's entry small.
MAX_SERVICE_CHARS = 200
_COUNT = itemgetter(1)


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
    """Group rows by their configured keys, in order of first appearance: fine_entries, then
    entries_of (the batch stage calls the two itself, letting the claim's rows go between)."""
    if not isinstance(grouping, Grouping):
        grouping = Grouping(tuple(grouping))
    with collector_paused():
        return entries_of(
            fine_entries(rows, origins, grouping), origins, grouping, matcher, top_values
        )


def fine_entries(
    rows: Iterable[ClaimedRow], origins: Mapping[int, Origin], grouping: Grouping
) -> list[Fine]:
    """Dedupe's first pass, once per record: the rows counted by body and band (and service,
    when it matters); by `keys` alone when every record is keyed by its body. A batch has a
    fine entry for each distinct body at least."""
    listed = rows if isinstance(rows, list) else list(rows)  # compiled: a list's quick loop
    if grouping.by_body_only:
        return by_keys(listed, origins, grouping.keys)
    keys = ("body", "severity", "service.name") if grouping.by_service else DEFAULT_KEYS
    return by_keys(listed, origins, keys)


def entries_of(
    fine: list[Fine],
    origins: Mapping[int, Origin],
    grouping: Grouping,
    matcher: Matcher | None = None,
    top_values: int = 5,
    valued: Callable[[Fine], bool] | None = None,
) -> list[Entry]:
    """Dedupe's second pass, once per fine entry (the list is emptied): the entries, as they
    are when every record is keyed by its body, else regrouped by each record's key
    (`matcher` finds the patterns; `valued`: see regroup). Each entry names its services
    with their counts and carries its first record's resource. Its callers (dedupe, the
    batch stage) have the cycle collector paused (collector.py)."""
    if grouping.by_body_only:
        entries = made_in_order(fine, Fine.entry)
    else:
        entries = regroup(fine, origins, grouping, matcher, top_values, valued)
        fine.clear()
    for entry in entries:
        bound_services(entry)
    return entries


def by_keys(
    rows: list[ClaimedRow], origins: Mapping[int, Origin], keys: Sequence[str]
) -> list[Fine]:
    """Group rows by body, severity band and service, each if in `keys`.

    This loop runs once per queued record, so it stays flat: no decoding, one dict probe, on
    the body itself (its hash is cached) in a table per band, not on a tuple built for each
    record. Records per service are counted by runs of one origin (the records of a request
    share theirs): a record only compares its origin with its entry's run, and the run's
    count goes to the entry's services when the origin changes. Everything else happens once
    per entry.
    """
    use_body, use_band, use_service = (
        name in keys for name in ("body", "severity", "service.name")
    )
    tables: list[dict[object, Fine]] = [{} for _ in range(len(severity.BANDS) + 1)]
    by_number = [tables[_BAND_OF[n] if use_band else 0] for n in range(len(_BAND_OF))]
    found: list[Fine] = []  # in order of first appearance
    for row_id, seen_at, number, body, origin_id in rows:
        table = by_number[number]
        key: object = body if use_body else ""
        if use_service:
            key = (key, origins[origin_id].service)
        entry = table.get(key)
        if entry is None:
            entry = Fine(row_id, seen_at, number, body, origin_id, origins[origin_id])
            table[key] = entry
            found.append(entry)
        else:
            if entry.run_origin != origin_id:  # a new run: the last one is counted
                entry.end_run()
                entry.run_origin, entry.run_service = origin_id, origins[origin_id].service
            entry.count += 1
            if seen_at < entry.first_seen:
                entry.first_seen = seen_at
            elif seen_at > entry.last_seen:
                entry.last_seen = seen_at
    return found  # each entry's last run is counted when it is made an Entry or absorbed


def bound_services(entry: Entry) -> None:
    """At most MAX_ENTRY_SERVICES services, most records first, each name cut
    to MAX_SERVICE_CHARS; the records of the rest go to services_other. Counts stay exact:
    their sum with services_other is the entry's count. Once per entry, sorted in C."""
    services = entry.services
    one = len(services) < 2  # the common case: one service, nothing to sort
    if one and (not services or len(next(iter(services))) <= MAX_SERVICE_CHARS):
        return
    if max(map(len, services)) > MAX_SERVICE_CHARS:
        services = _cut_names(services)
    # Most first; a stable sort keeps ties in the order they were first counted.
    ranked = sorted(services.items(), key=_COUNT, reverse=True)
    if len(ranked) > MAX_ENTRY_SERVICES:
        entry.services_other += sum(count for _, count in ranked[MAX_ENTRY_SERVICES:])
        del ranked[MAX_ENTRY_SERVICES:]
    entry.services = dict(ranked)


def _cut_names(services: Mapping[str, int]) -> dict[str, int]:
    cut: dict[str, int] = {}
    for name, count in services.items():
        short = name[:MAX_SERVICE_CHARS]
        cut[short] = cut.get(short, 0) + count
    return cut


def add_details(entry: Entry, record: bytes) -> None:
    """Fill attributes, trace and span id from the entry's first record (kept entries only)."""
    decoded = LogRecord.FromString(record)
    entry.attributes = nest_attributes(decoded.attributes)
    entry.trace_id = decoded.trace_id.hex()
    entry.span_id = decoded.span_id.hex()
