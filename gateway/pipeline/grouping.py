"""Grouping by rule: which dedupe key each record gets, and entries regrouped by pattern.

`dedupe` first collapses records with the same body, band and origin (one dict probe per
record). When every record has the same body-based key, that is the whole story. Otherwise
`regroup` merges those fine entries by the key their rule chooses: the body's template
(`pattern`), or no body at all. It works per distinct body, not per record, and it keeps
counts exact: an entry's count is the sum of the fine entries it took in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from gateway import severity
from gateway.config.settings import DedupeConfig
from gateway.model import Entry, PatternRef, VariableValues
from gateway.otlp import Origin
from gateway.pipeline.fine import Fine

MAX_VALUE_CHARS = 200  # of one variable's value, in an entry's top values
_Item = TypeVar("_Item")


class Matched(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def template(self) -> str: ...
    @property
    def variables(self) -> tuple[str, ...]: ...


class Matcher(Protocol):
    """The template miner, as grouping uses it (gateway/pipeline/patterns/miner.py)."""

    def mine(self, bodies: list[str], with_values: bool = True) -> Iterable[Matched]:
        """Learn the batch's distinct bodies, then each one's pattern, in order; its variables
        read with it, or (not `with_values`) when first asked for."""
        ...


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

    @property
    def by_service(self) -> bool:
        """Whether a record's service decides its key or is part of it: if not, the fine
        entries need not be split by service (fewer entries to regroup)."""
        return any(
            "service.name" in keys for keys in (self.keys, *(r.keys for r in self.rules))
        ) or any(rule.service is not None for rule in self.rules)

    def keys_for(self, band: str, service: str) -> tuple[str, ...]:
        if not self.rules:  # one key for every record (the shipped config): nothing to look up
            return self.keys
        chosen = self._chosen.get((band, service))
        if chosen is None:
            rule = next((r for r in self.rules if r.matches(band, service)), None)
            chosen = self._chosen[(band, service)] = rule.keys if rule else self.keys
        return chosen


class _Group:
    """Entries merged under one key, and their variables' values counted as each entry joins
    (just made, they are still in the processor's cache): per variable of the first entry's
    match, each value (cut to MAX_VALUE_CHARS) with its records, in order of first appearance.
    Of variables of varying numbers (never: one template, one number of variables), each
    entry's as far as the first's go."""

    def __init__(self, entry: Fine, match: Matched | None, counted: bool) -> None:
        self.entry = entry
        self.match = match
        width = len(match.variables) if match is not None and counted else 0
        self.counters: list[dict[str, int]] = [{} for _ in range(width)]

    def count(self, variables: tuple[str, ...], count: int) -> None:
        counters = self.counters
        width = len(counters)
        for i, value in enumerate(variables):  # compiled: quicker than indexing the tuple
            if i == width:
                break
            if len(value) > MAX_VALUE_CHARS:
                value = value[:MAX_VALUE_CHARS]
            counter = counters[i]
            if value in counter:
                counter[value] += count
            else:
                counter[value] = count


def regroup(
    entries: Sequence[Fine],
    origins: Mapping[int, Origin],
    grouping: Grouping,
    matcher: Matcher | None,
    top_values: int = 5,
    valued: Callable[[Fine], bool] | None = None,
) -> list[Entry]:
    """Merge fine entries (one per body and band, and service when it matters) by each one's
    configured key, adding up their counts and their records per service. `valued`: whether
    a group (by its first entry) needs the top values of its variables (the batch stage: the
    ones sampling keeps); None: all do. The others' patterns carry no variables."""
    keys = [grouping.keys_for(entry.severity, entry.service) for entry in entries]
    groups: dict[tuple[object, ...], _Group] = {}
    # Each match is let go once its entry joined its group: a batch's matches are never held.
    # With `valued`, a match's variables are read only for the groups it says: when asked.
    matches = _matches(entries, keys, matcher, with_values=top_values > 0 and valued is None)
    for entry, chosen, match in zip(entries, keys, matches, strict=True):
        key = _key(entry, chosen, match)
        group = groups.get(key)
        if group is None:
            counted = top_values > 0 and (valued is None or valued(entry))
            group = groups[key] = _Group(entry, match, counted)
        else:
            group.entry.absorb(entry)
        if match is not None and group.counters:  # only then are its variables read
            group.count(match.variables, entry.count)
    # Each group goes as its entry is finished, and with it its values.
    pending = list(groups.values())
    groups.clear()
    return made_in_order(pending, lambda group: _finished(group, top_values))


def made_in_order(items: list[_Item], make: Callable[[_Item], Entry]) -> list[Entry]:
    """make(item) for each item, in order, each item let go once made: `items` (emptied) and
    what is made are never both held whole."""
    items.reverse()  # popped from the end: in order
    made: list[Entry] = []
    while items:
        made.append(make(items.pop()))
    return made


def _matches(
    entries: Sequence[Fine],
    keys: Sequence[tuple[str, ...]],
    matcher: Matcher | None,
    with_values: bool,
) -> Iterable[Matched | None]:
    """Each entry's pattern when its key asks for one, in order. All bodies are learned
    before any is matched, so the batch's records land in the templates learned from all of
    them. Not `with_values`: a match's variables are read only when asked for."""
    pairs = zip(entries, keys, strict=True)
    wanted = [entry.body if "pattern" in chosen else None for entry, chosen in pairs]
    if matcher is None or not any(body is not None for body in wanted):
        return [None] * len(entries)
    distinct = list(dict.fromkeys(body for body in wanted if body is not None))
    found = matcher.mine(distinct, with_values)
    if len(distinct) == len(wanted):  # each entry a body of its own: the usual case
        return found  # made one at a time, as the entries take them
    # A body comes once per band (and service): each distinct body is matched once.
    matched = dict(zip(distinct, found, strict=True))
    return [matched[body] if body is not None else None for body in wanted]


def _key(entry: Fine, keys: tuple[str, ...], match: Matched | None) -> tuple[object, ...]:
    text: object = match.id if match is not None else (entry.body if "body" in keys else None)
    band = entry.severity if "severity" in keys else None
    service = entry.service if "service.name" in keys else None
    return (keys, text, band, service)


def _finished(group: _Group, top_values: int) -> Entry:
    match = group.match
    if match is None:
        return group.entry.entry()
    summaries = tuple(_summary(counter, top_values) for counter in group.counters)
    return group.entry.entry(PatternRef(match.id, match.template, summaries))


def _summary(counter: dict[str, int], top_values: int) -> VariableValues:
    top = _top(counter, top_values)
    other = sum(counter.values())
    for _, count in top:
        other -= count
    return VariableValues(tuple(top), other, len(counter))


def _top(counter: dict[str, int], size: int) -> list[tuple[str, int]]:
    """The `size` values of the most records, most first, ties in order of first appearance:
    a stable sort by count, most first, cut to `size` (Counter.most_common's order), in one
    compiled pass that compares most values with the last kept only."""
    top: list[tuple[str, int]] = []
    kept: list[int] = []  # the counts of `top`
    if size <= 0:
        return top
    for value, count in counter.items():
        if len(kept) == size and count <= kept[-1]:
            continue
        at = len(kept)
        while at > 0 and kept[at - 1] < count:
            at -= 1
        top.insert(at, (value, count))
        kept.insert(at, count)
        if len(kept) > size:
            top.pop()
            kept.pop()
    return top
