"""What the budget rows count: each key's records against count x sample_rate at the fake
Logflare, and the most events sent in any window.

A key is (pattern, severity band). Pattern ids are resolved to the pattern they count in at
the end of the run: a template that widened during the flood merged its narrower pattern
into the wider one, and entries held or recorded before the merge still carry the old id.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from gateway import severity
from gateway.model import pattern_hex
from gateway.store import Store

ESTIMATE_TARGET = 0.05
Key = tuple[str, str]  # (pattern id, or the body when no pattern; severity band)
Survivor = Callable[[str], str]  # a pattern's hex id -> the hex id it counts in now


@dataclass(frozen=True, slots=True)
class Counts:
    """Per key: the records sent against count x sample_rate that reached Logflare."""

    keys: int
    exact_keys: int  # keys never sampled
    exact_wrong: int  # ... whose count at Logflare is not exactly the records sent
    sampled_by_rules: int  # keys of a band the severity rules sample
    sampled_by_budget: int  # keys with an event the budget sampled (a higher rate)
    worst: float  # the worst relative error of a sampled key
    over_target: int  # sampled keys off by more than ESTIMATE_TARGET
    sampled_total: float  # |sum of the sampled keys' estimates - their records| / records
    error: float  # sum over keys of |estimate - records|, over the records sent
    unreached: int  # records of keys no event of which reached Logflare


def survivors(store: Store, hex_ids: Iterable[str]) -> Survivor:
    """The store's merges of these patterns, as a lookup (ids it does not know map to
    themselves)."""
    ids = {int(hex_id, 16) for hex_id in hex_ids}
    resolved = store.resolve_pattern_ids(ids)
    table = {pattern_hex(i): pattern_hex(resolved.get(i, i)) for i in ids}
    return lambda hex_id: table.get(hex_id, hex_id)


def event_pattern(event: dict[str, Any]) -> str | None:
    pattern = event["metadata"].get("pattern")
    return str(pattern["id"]) if pattern else None


def event_key(event: dict[str, Any], survivor: Survivor) -> Key:
    metadata = event["metadata"]
    pattern = event_pattern(event)
    name = survivor(pattern) if pattern else f"body:{event['event_message']}"
    return name, severity.band(int(metadata["severity_number"]), "")


def count_keys(
    truth: Counter[Key],
    events: list[dict[str, Any]],
    band_rate: Callable[[str], float],
    survivor: Survivor,
) -> Counts:
    estimate: dict[Key, float] = defaultdict(float)
    budget_rated: set[Key] = set()
    for event in events:
        key, rate = event_key(event, survivor), float(event["metadata"].get("sample_rate", 1.0))
        estimate[key] += int(event["metadata"]["count"]) * rate
        if rate > band_rate(key[1]) * 1.0001:
            budget_rated.add(key)
    arrived = set(estimate)  # before reading it: a defaultdict grows on every read
    every = truth.keys() | arrived
    by_rules = {key for key in every if band_rate(key[1]) > 1.0}
    sampled = by_rules | budget_rated
    exact = every - sampled
    errors = [abs(estimate[k] - truth[k]) / truth[k] if truth[k] else math.inf for k in sampled]
    sent, records = sum(truth.values()), sum(truth[k] for k in sampled)
    return Counts(
        keys=len(every),
        exact_keys=len(exact),
        exact_wrong=sum(1 for k in exact if round(estimate[k]) != truth[k]),
        sampled_by_rules=len(by_rules),
        sampled_by_budget=len(budget_rated),
        worst=max(errors, default=0.0),
        over_target=sum(1 for e in errors if e > ESTIMATE_TARGET),
        sampled_total=abs(sum(estimate[k] for k in sampled) - records) / max(1, records),
        error=sum(abs(estimate[k] - truth[k]) for k in every) / max(1, sent),
        unreached=sum(n for k, n in truth.items() if k not in arrived),
    )


def p99(values: list[float]) -> float:
    return values[max(0, math.ceil(0.99 * len(values)) - 1)] if values else math.nan
