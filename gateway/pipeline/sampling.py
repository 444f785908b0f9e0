"""Sampling: which entries to keep, by severity rules (a pure function of input and seed).

Dedupe runs first, so a kept entry keeps its exact count; `sample_rate` = 1/keep lets readers
estimate totals as count x sample_rate. The decision is a hash of the seed, the batch and the
entry's key: deterministic in tests, and a message dropped in one batch gets a fresh draw in
the next, so none is hidden forever.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from gateway import severity
from gateway.config.settings import SamplingConfig, SamplingRule
from gateway.model import Entry


class Sampled(Protocol):
    """What a decision reads of an entry: an Entry, or a batch's fine entry before it is one
    (the batch stage asks which groups sampling keeps before it counts their top values)."""

    @property
    def severity(self) -> str: ...
    @property
    def service(self) -> str: ...
    @property
    def body(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Rule:
    keep: float
    at_least: int | None = None  # severity rank
    band: str | None = None
    service: str | None = None
    body: re.Pattern[str] | None = None

    def matches(self, entry: Sampled) -> bool:
        if entry.severity == severity.UNSPECIFIED:
            return False  # unspecified severity only ever meets default_keep
        return (
            (self.at_least is None or severity.RANK[entry.severity] >= self.at_least)
            and (self.band is None or entry.severity == self.band)
            and (self.service is None or entry.service == self.service)
            and (self.body is None or self.body.search(entry.body) is not None)
        )


@dataclass(frozen=True, slots=True)
class SamplingPolicy:
    rules: tuple[Rule, ...] = ()
    default_keep: float = 1.0
    seed: int = 0
    # Without body rules the rate depends only on (band, service): remember it (bounded by
    # the number of services seen; body rules would make the key the whole message).
    _by_band_and_service: dict[tuple[str, str], float] | None = field(
        default=None, init=False, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        if all(rule.body is None for rule in self.rules):
            object.__setattr__(self, "_by_band_and_service", {})

    @classmethod
    def from_config(cls, config: SamplingConfig) -> SamplingPolicy:
        rules = tuple(_compile(rule) for rule in config.rules)
        return cls(rules, config.default_keep, config.seed)

    def keep_rate(self, entry: Sampled) -> float:
        """The keep probability of the first matching rule, else default_keep."""
        if self._by_band_and_service is not None:
            key = (entry.severity, entry.service)
            rate = self._by_band_and_service.get(key)
            if rate is None:
                rate = self._by_band_and_service[key] = self._first_match(entry)
            return rate
        return self._first_match(entry)

    def _first_match(self, entry: Sampled) -> float:
        for rule in self.rules:
            if rule.matches(entry):
                return rule.keep
        return self.default_keep

    def keeps(self, entry: Sampled, batch_key: int) -> bool:
        """Whether sample() keeps the entry in the batch of this key."""
        return _kept(self.keep_rate(entry), self.seed, batch_key, entry)

    def describe(self) -> str:
        """One line for people: what is kept; "" when every record is (no sampling at all,
        whatever rules say so)."""
        if all(rule.keep >= 1.0 for rule in self.rules) and self.default_keep >= 1.0:
            return ""
        parts = [f"{_describe_rule(rule)} keep {rule.keep:.0%}" for rule in self.rules]
        parts.append(f"otherwise keep {self.default_keep:.0%}")
        return "; ".join(parts)


@dataclass(slots=True)
class SampleResult:
    kept: list[Entry] = field(default_factory=list)
    # Entries and records sampled out, by severity band.
    dropped_entries: Counter[str] = field(default_factory=Counter)
    dropped_records: Counter[str] = field(default_factory=Counter)


def sample(entries: Sequence[Entry], policy: SamplingPolicy, batch_key: int) -> SampleResult:
    """Keep each entry with its rule's probability; a kept entry's sample_rate is 1/keep."""
    result = SampleResult()
    for entry in entries:
        keep = policy.keep_rate(entry)
        if _kept(keep, policy.seed, batch_key, entry):
            entry.sample_rate = 1.0 / keep
            result.kept.append(entry)
        else:
            result.dropped_entries[entry.severity] += 1
            result.dropped_records[entry.severity] += entry.count
    return result


def _kept(keep: float, seed: int, batch_key: int, entry: Sampled) -> bool:
    return keep >= 1.0 or (keep > 0.0 and _draw(seed, batch_key, entry) < keep)


def _draw(seed: int, batch_key: int, entry: Sampled) -> float:
    """A uniform number in [0, 1) from the seed, the batch and the entry's key."""
    material = f"{seed}\x1f{batch_key}\x1f{entry.severity}\x1f{entry.service}\x1f{entry.body}"
    digest = hashlib.blake2b(material.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _compile(rule: SamplingRule) -> Rule:
    match = rule.match
    return Rule(
        keep=rule.keep,
        at_least=severity.RANK[match.severity_at_least] if match.severity_at_least else None,
        band=match.severity,
        service=match.service,
        body=re.compile(match.body_matches) if match.body_matches is not None else None,
    )


def _describe_rule(rule: Rule) -> str:
    words = []
    if rule.at_least is not None:
        words.append(f"{severity.BANDS[rule.at_least - 1]}+")
    if rule.band:
        words.append(rule.band)
    if rule.service:
        words.append(f"service={rule.service}")
    if rule.body:
        words.append(f"body~/{rule.body.pattern}/")
    return " ".join(words) or "all"
