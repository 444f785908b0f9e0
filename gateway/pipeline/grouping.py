"""Grouping by rule: which dedupe key each record gets, and entries regrouped by pattern.

`dedupe` first collapses records with the same body, band and origin (one dict probe per
record). When every record has the same body-based key, that is the whole story. Otherwise
`regroup` merges those fine entries by the key their rule chooses: the body's template
(`pattern`), or no body at all. It works per distinct body, not per record, and it keeps
counts exact: an entry's count is the sum of the fine entries it took in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from gateway import severity
from gateway.config.settings import DedupeConfig
from gateway.model import Entry, PatternRef, VariableValues
from gateway.otlp import Origin

MAX_VALUE_CHARS = 200  # of one variable's value, in an entry's top values


class Matched(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def template(self) -> str: ...
    @property
    def variables(self) -> tuple[str, ...]: ...


class Matcher(Protocol):
    """The template miner, as grouping uses it (gateway/pipeline/patterns/miner.py)."""

    def learn(self, bodies: Iterable[str]) -> None: ...
    def match(self, body: str) -> Matched: ...


@dataclass(frozen=True, slots=True)
class Rule:
    """Records of these bands and services (None: any) are grouped by `keys`."""

    keys: tuple[str, ...]
    severity_at_least: str | None = None
    severity: str | None = None
    service: str | None = None

    def matches(self, band: str, service: str) -> bool:
        at_least = self.severity_at_least
        return (
            (at_least is None or severity.RANK[band] >= severity.RANK[at_least])
            and (self.severity is None or band == self.severity)
            and (self.service is None or service == self.service)
        )


@dataclass(slots=True)
class Grouping:
    """The dedupe key of each record: the first rule that matches its band and service, else
    `keys`. Decided once per (band, service) pair."""

    keys: tuple[str, ...] = ("body", "severity")
    rules: tuple[Rule, ...] = ()
    _chosen: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: DedupeConfig) -> Grouping:
        rules = tuple(
            Rule(rule.keys, rule.match.severity_at_least, rule.match.severity, rule.match.service)
            for rule in config.rules
        )
        return cls(config.keys, rules)

    @property
    def by_body_only(self) -> bool:
        """Every record keyed by its exact body: nothing to regroup."""
        return not self.rules and "body" in self.keys

    def keys_for(self, band: str, service: str) -> tuple[str, ...]:
        chosen = self._chosen.get((band, service))
        if chosen is None:
            rule = next((r for r in self.rules if r.matches(band, service)), None)
            chosen = self._chosen[(band, service)] = rule.keys if rule else self.keys
        return chosen


@dataclass(slots=True)
class _Group:
    entry: Entry
    match: Matched | None
    values: list[Counter[str]]


def regroup(
    entries: Sequence[Entry],
    origins: Mapping[int, Origin],
    grouping: Grouping,
    matcher: Matcher | None,
    top_values: int = 5,
) -> list[Entry]:
    """Merge fine entries (one per body, band and origin) by each one's configured key."""
    keys = [grouping.keys_for(entry.severity, entry.service) for entry in entries]
    matches = _matches(entries, keys, matcher)
    groups: dict[tuple[object, ...], _Group] = {}
    for entry, chosen, match in zip(entries, keys, matches, strict=True):
        key = _key(entry, chosen, match)
        group = groups.get(key)
        if group is None:
            groups[key] = _Group(entry, match, _counters(match))
        else:
            _absorb(group.entry, entry)
        if match is not None:
            _count_values(groups[key].values, match.variables, entry.count)
    return [_finished(group, top_values) for group in groups.values()]


def _matches(
    entries: Sequence[Entry], keys: Sequence[tuple[str, ...]], matcher: Matcher | None
) -> list[Matched | None]:
    """Each entry's pattern when its key asks for one. All bodies are learned before any is
    matched, so the batch's records land in the templates learned from all of them."""
    pairs = zip(entries, keys, strict=True)
    wanted = [entry.body if "pattern" in chosen else None for entry, chosen in pairs]
    if matcher is None or not any(body is not None for body in wanted):
        return [None] * len(entries)
    matcher.learn(dict.fromkeys(body for body in wanted if body is not None))
    return [matcher.match(body) if body is not None else None for body in wanted]


def _key(entry: Entry, keys: tuple[str, ...], match: Matched | None) -> tuple[object, ...]:
    text: object = match.id if match is not None else (entry.body if "body" in keys else None)
    band = entry.severity if "severity" in keys else None
    service = entry.service if "service.name" in keys else None
    return (keys, text, band, service)


def _absorb(into: Entry, other: Entry) -> None:
    """`other` (later in the batch) joins `into`: exact count and time range; the body, ids
    and severity number stay the first record's."""
    into.count += other.count
    into.first_seen = min(into.first_seen, other.first_seen)
    into.last_seen = max(into.last_seen, other.last_seen)


def _counters(match: Matched | None) -> list[Counter[str]]:
    return [Counter() for _ in match.variables] if match is not None else []


def _count_values(values: list[Counter[str]], seen: tuple[str, ...], count: int) -> None:
    for counter, value in zip(values, seen, strict=False):
        counter[value[:MAX_VALUE_CHARS]] += count


def _finished(group: _Group, top_values: int) -> Entry:
    match, entry = group.match, group.entry
    if match is not None:
        summaries = tuple(_summary(counter, top_values) for counter in group.values)
        entry.pattern = PatternRef(match.id, match.template, summaries)
    return entry


def _summary(counter: Counter[str], top_values: int) -> VariableValues:
    top = tuple(counter.most_common(top_values))
    return VariableValues(top, sum(counter.values()) - sum(n for _, n in top), len(counter))
