"""The batch stage's config: grouping (dedupe keys and rules), the pattern miner's masks and
bounds, and sampling by severity band and service."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator

from gateway import severity
from gateway.config.types import Duration, Model


def _check_severity(name: str | None) -> str | None:
    if name is not None and name not in severity.BANDS:
        raise ValueError(f"unknown severity {name!r}: use one of {', '.join(severity.BANDS)}")
    return name


class RuleMatch(Model):
    severity_at_least: str | None = None
    severity: str | None = None
    service: str | None = None
    body_matches: str | None = None

    _severities = field_validator("severity_at_least", "severity")(_check_severity)

    @field_validator("body_matches")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
        return pattern


Probability = Annotated[float, Field(ge=0.0, le=1.0)]
# `pattern`: the body's template (variables masked or learned); `body`: the exact text.
DedupeKey = Literal["body", "pattern", "severity", "service.name"]


def _check_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    if not keys or len(set(keys)) != len(keys):
        raise ValueError("keys must be a non-empty list without repeats")
    if {"body", "pattern"} <= set(keys):
        raise ValueError("keys may hold body or pattern, not both")
    return keys


class GroupingMatch(Model):
    """Which records a grouping rule is for: by severity band and service, never by body
    (the key must not depend on what it groups)."""

    severity_at_least: str | None = None
    severity: str | None = None
    service: str | None = None

    _severities = field_validator("severity_at_least", "severity")(_check_severity)


class GroupingRule(Model):
    match: GroupingMatch = GroupingMatch()
    keys: tuple[DedupeKey, ...]

    _keys = field_validator("keys")(_check_keys)


class DedupeConfig(Model):
    # The key for records no rule matches; rules choose other keys per severity band and
    # service (first match wins), for example errors by exact body and the rest by pattern.
    keys: tuple[DedupeKey, ...] = ("body", "severity")
    rules: tuple[GroupingRule, ...] = ()

    _keys = field_validator("keys")(_check_keys)

    def uses_patterns(self) -> bool:
        return "pattern" in self.keys or any("pattern" in rule.keys for rule in self.rules)


class MaskConfig(Model):
    name: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,31}$")  # the placeholder: <NAME>
    regex: str

    @field_validator("regex")
    @classmethod
    def _compiles(cls, regex: str) -> str:
        try:
            compiled = re.compile(regex)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {regex!r}: {exc}") from None
        if compiled.match(""):
            raise ValueError(f"{regex!r} matches the empty string: it would mask nothing")
        return regex


class PatternsConfig(Model):
    # Your own variables, masked before the built-in ones (numbers, ids, addresses, times...).
    masks: tuple[MaskConfig, ...] = ()
    # Share of constant tokens two bodies of one length must have in common to be candidates
    # for one template.
    similarity: float = Field(default=0.5, gt=0.0, le=1.0)
    # Patterns kept in the store and known to the miner; past it the least recently seen go.
    max_patterns: int = Field(default=100_000, ge=100, le=10_000_000)
    # Of those, patterns kept awake in memory (about 1 KB each); the others sleep as an id
    # each (about 0.1 KB) and wake when a body fits one.
    active_patterns: int = Field(default=10_000, ge=100, le=10_000_000)
    # per variable of an entry; 0: no variables read at all (the miner's third of the work)
    top_values: int = Field(default=5, ge=0, le=100)


class SamplingRule(Model):
    match: RuleMatch = RuleMatch()
    keep: Probability


class SamplingConfig(Model):
    rules: tuple[SamplingRule, ...] = ()
    default_keep: Probability = 1.0
    # Mixed into every sampling hash; change it to reshuffle which entries are kept.
    seed: int = 0


class BatchConfig(Model):
    interval: Duration = 10.0
    max_batch_records: int = Field(default=50_000, ge=1, le=1_000_000)
    # Grouping holds about 1 KB per distinct body until the batch is written: a claim of more
    # distinct bodies than this is cut short there, its other rows left for the next batch.
    max_batch_bodies: int = Field(default=25_000, ge=1, le=1_000_000)
    # How long a claimed batch stays with its stage (on the database's clock) before another
    # stage may take it over: a crashed or stalled gateway's rows come back after this.
    lease: Duration = 60.0
    # `logsieve run` puts the batch stage, export and purge in a child process, so that
    # they and the receivers each get a core (not for an in-memory SQLite database).
    own_process: bool = True
    dedupe: DedupeConfig = DedupeConfig()
    patterns: PatternsConfig = PatternsConfig()
    sampling: SamplingConfig = SamplingConfig()
