"""The batch stage's side of a budget: which kept entries wait, under which key, until when,
and how a held entry takes in a later one of its key.

An entry of a band whose longest wait is 0 (ERROR and above) goes to the outbox at once, as
without a budget. Every other entry is held: the export stage sends it when the bucket has
room or its wait runs out (gateway/export/budget.py). Until then a later batch's entry with
the same key merges into it, so one event carries a longer window's exact count with its
first and last seen.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from collections.abc import Sequence

import orjson

from gateway.clock import NS_PER_SECOND
from gateway.model import MAX_ENTRY_SERVICES, Entry, HoldItem, PatternRef, VariableValues
from gateway.pipeline.grouping import Grouping

NS = NS_PER_SECOND


@dataclasses.dataclass(frozen=True, slots=True)
class Holding:
    """One budgeted exporter's waits, in seconds by band, and the most entries it holds at
    once (gateway/config/budget.py)."""

    waits: dict[str, float]
    max_held: int = 100_000

    def deadline(self, entry: Entry, now: int) -> int | None:
        """When the entry must go, or None: it goes now (a band that never waits)."""
        wait = self.waits.get(entry.severity, 0.0)
        return now + int(wait * NS) if wait > 0 else None


def hold_key(grouping: Grouping, entry: Entry) -> str:
    """The entry's dedupe key as text (hashed: bodies may be long), with its sample rate:
    entries of different rates cannot share one count."""
    keys = grouping.keys_for(entry.severity, entry.service)
    if entry.pattern is not None and "pattern" in keys:
        text = f"p{entry.pattern.id}"
    else:
        text = f"b{entry.body}" if "body" in keys else ""
    band = entry.severity if "severity" in keys else ""
    service = entry.service if "service.name" in keys else ""
    parts = orjson.dumps([list(keys), text, band, service, entry.sample_rate])
    return hashlib.blake2b(parts, digest_size=16).hexdigest()


def split_for_budget(
    exporter: str, holding: Holding, grouping: Grouping, kept: Sequence[Entry], now: int
) -> tuple[list[Entry], list[HoldItem]]:
    """(entries that go now, entries held back) for one budgeted exporter."""
    now_going: list[Entry] = []
    held: dict[str, HoldItem] = {}
    for entry in kept:
        deadline = holding.deadline(entry, now)
        if deadline is None:
            now_going.append(entry)
            continue
        key = hold_key(grouping, entry)
        before = held.get(key)  # two entries of one key in a batch: rules kept them apart
        if before is not None:
            entry, deadline = merged(before.entry, entry), min(deadline, before.deadline_ns)
        held[key] = HoldItem(exporter, key, entry, deadline)
    return now_going, list(held.values())


def merged(held: Entry, later: Entry) -> Entry:
    """One entry for both: exact count, the whole time range and records per service; the
    body, attributes and ids stay the held entry's (the first record's)."""
    services = Counter(held.services)
    services.update(later.services)
    ranked = services.most_common()
    return dataclasses.replace(
        held,
        count=held.count + later.count,
        first_seen=min(held.first_seen, later.first_seen),
        last_seen=max(held.last_seen, later.last_seen),
        services=dict(ranked[:MAX_ENTRY_SERVICES]),
        services_other=held.services_other
        + later.services_other
        + sum(n for _, n in ranked[MAX_ENTRY_SERVICES:]),
        pattern=_merged_pattern(held.pattern, later.pattern),
    )


def _merged_pattern(held: PatternRef | None, later: PatternRef | None) -> PatternRef | None:
    if held is None or later is None or len(held.variables) != len(later.variables):
        return held
    summaries = tuple(
        _merged_values(a, b) for a, b in zip(held.variables, later.variables, strict=True)
    )
    return PatternRef(held.id, held.template, summaries)


def _merged_values(a: VariableValues, b: VariableValues) -> VariableValues:
    """Top values added up, the same number kept; the rest joins `other`, so the counts still
    sum to the records. `distinct` is at least the larger of the two (values may overlap)."""
    counts = Counter(dict(a.top))
    counts.update(dict(b.top))
    keep = max(len(a.top), len(b.top))
    top = tuple(counts.most_common(keep))
    rest = sum(counts.values()) - sum(n for _, n in top)
    return VariableValues(top, a.other + b.other + rest, max(a.distinct, b.distinct, len(counts)))
