"""`logsieve explain`: what the gateway does with one record, as values and lines.

Which sampling rule it meets (the policy's own matching decides), which grouping rule chooses
its dedupe key (the batch stage's own Grouping decides) and, when that key is the body's
pattern, the template and pattern id the body maps to. The pattern is found as the batch stage
finds it: a miner built from the config (miner_for), loaded with the patterns the store knows,
then the body learned and matched. The store is read only then, and only when its database is
there: explain needs none. A body alone teaches the miner its typed variables only (<NUM>,
<IP>, ...); a word becomes <*> through the known templates, learned from many bodies.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from gateway import redact, severity
from gateway.cli.admin import aligned, counted, open_store
from gateway.config.settings import BatchConfig, Config, DedupeConfig
from gateway.errors import StorageError
from gateway.model import Entry, pattern_hex
from gateway.pipeline.grouping import Grouping
from gateway.pipeline.learning import miner_for
from gateway.pipeline.sampling import SamplingPolicy
from gateway.text import printable


@dataclass(frozen=True, slots=True)
class GroupingChoice:
    rule_index: int | None  # into batch.dedupe.rules; None: batch.dedupe.keys
    rule: str  # where the keys are written in the config
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KnownPatterns:
    templates: tuple[str, ...]  # oldest first, as a starting batch stage loads them
    note: str  # where they came from, or why there are none


@dataclass(frozen=True, slots=True)
class BodyPattern:
    id: int
    template: str
    variables: tuple[str, ...]  # the body's values, in the template's order
    mined_from: str  # what the miner knew besides the body

    @property
    def hex_id(self) -> str:
        return pattern_hex(self.id)


@dataclass(frozen=True, slots=True)
class Explanation:
    rule_index: int | None  # into batch.sampling.rules; None: default_keep
    rule: str
    keep: float
    severity: str  # the band the record was taken to be
    dedupe_key: dict[str, str]
    grouping: GroupingChoice
    pattern: BodyPattern | None = None  # when the key holds the pattern
    exporters: tuple[str, ...] = ()  # where a kept entry goes besides the live page

    @property
    def sample_rate(self) -> float | None:
        """What each kept entry stands for (count x sample_rate); None: never kept."""
        return 1.0 / self.keep if self.keep > 0 else None


def parse_band(text: str | None) -> str | None:
    """A severity band from a name or a producer's word (WARNING, err...); None if unknown.
    No text is UNSPECIFIED: a record without severity, which only default_keep applies to."""
    if text is None:
        return severity.UNSPECIFIED
    band = severity.band_from_text(text)
    return None if band == severity.UNSPECIFIED else band


def explain(
    config: Config, band: str, service: str, body: str, known: Callable[[], KnownPatterns]
) -> Explanation:
    """`known` is called only when the record is grouped by pattern."""
    policy = SamplingPolicy.from_config(config.batch.sampling)
    entry = Entry(body, severity.BAND_FIRST_NUMBER.get(band, 0), band, service, 1, 0, 0)
    index = next((i for i, rule in enumerate(policy.rules) if rule.matches(entry)), None)
    rules = config.batch.sampling.rules
    described = describe(rules[index].match) if index is not None else "no rule: default_keep"
    if index is None and band == severity.UNSPECIFIED and rules:
        described += " (a record without severity never meets a rule)"
    grouping = grouping_choice(config.batch.dedupe, band, service)
    pattern = body_pattern(config.batch, body, known()) if "pattern" in grouping.keys else None
    key = _dedupe_key(grouping.keys, band, service, body, pattern)
    exporters = tuple(config.exporters.enabled())
    keep = policy.keep_rate(entry)
    return Explanation(index, described, keep, band, key, grouping, pattern, exporters)


def describe(match: BaseModel) -> str:
    """A rule's match as it is written in the config, e.g. `severity=INFO service=checkout`."""
    words = [f"{name}={value}" for name, value in match.model_dump().items() if value is not None]
    return " ".join(words) or "every record"


def grouping_choice(dedupe: DedupeConfig, band: str, service: str) -> GroupingChoice:
    grouping = Grouping.from_config(dedupe)
    rules = grouping.rules
    index = next((i for i, rule in enumerate(rules) if rule.matches(band, service)), None)
    if index is None:
        unmatched = " (no rule in batch.dedupe.rules matches)" if rules else ""
        return GroupingChoice(None, "batch.dedupe.keys" + unmatched, grouping.keys)
    described = f"batch.dedupe.rules[{index}]: {describe(dedupe.rules[index].match)}"
    return GroupingChoice(index, described, rules[index].keys)


def known_patterns(config: Config) -> KnownPatterns:
    """The store's patterns as a starting batch stage loads them; none without a database."""
    try:
        store = open_store(config.storage)
        try:
            known = store.known_patterns(config.batch.patterns.max_patterns)
        finally:
            store.dispose()
    except StorageError as exc:
        return KnownPatterns((), f"this body alone: the store was not read ({exc})")
    templates = tuple(pattern.template for pattern in reversed(known))
    loaded = counted(len(known), "known pattern")
    return KnownPatterns(templates, f"this body and {loaded} from the store")


def body_pattern(config: BatchConfig, body: str, known: KnownPatterns) -> BodyPattern | None:
    """The pattern the batch stage's miner gives `body` after loading the known patterns."""
    miner = miner_for(config)
    if miner is None:  # no record of this config is grouped by pattern
        return None
    miner.load(known.templates)
    miner.learn([body])
    found = miner.match(body)
    return BodyPattern(found.id, found.template, found.variables, known.note)


def _dedupe_key(
    keys: Sequence[str], band: str, service: str, body: str, pattern: BodyPattern | None
) -> dict[str, str]:
    values = {"body": body, "severity": band, "service.name": service}
    if pattern is not None:
        values["pattern"] = pattern.hex_id
    return {key: values[key] for key in keys}


def explanation_lines(found: Explanation) -> list[str]:
    where = f"batch.sampling.rules[{found.rule_index}]: " if found.rule_index is not None else ""
    rate = found.sample_rate
    key = " ".join(f"{name}={json.dumps(value)}" for name, value in found.dedupe_key.items())
    rows = [
        ("severity", found.severity),
        ("rule", printable(where + found.rule)),
        ("keep", f"{found.keep:g} ({found.keep:.0%} of entries)"),
        ("sample rate", f"{rate:g} (a kept entry stands for {rate:g})" if rate else "never kept"),
        ("grouping", printable(found.grouping.rule)),
        ("dedupe key", printable(key)),
        ("sent to", _destinations(found.exporters)),
    ]
    return aligned(rows + _pattern_rows(found.pattern))


def _destinations(exporters: Sequence[str]) -> str:
    listed = ", ".join(f"exporters.{name}" for name in exporters)
    return f"{listed} and the live page" if exporters else "the live page only (no exporter is on)"


def _pattern_rows(pattern: BodyPattern | None) -> list[tuple[str, str]]:
    if pattern is None:
        return []
    return [
        ("pattern id", pattern.hex_id),
        ("template", printable(pattern.template)),
        ("variables", printable(" ".join(json.dumps(v) for v in pattern.variables)) or "none"),
        ("mined from", printable(redact.text(pattern.mined_from))),
    ]


def explanation_json(found: Explanation) -> dict[str, Any]:
    grouping, pattern = found.grouping, found.pattern
    return {
        "rule_index": found.rule_index,
        "rule": found.rule,
        "keep": found.keep,
        "sample_rate": found.sample_rate,
        "severity": found.severity,
        "dedupe_key": found.dedupe_key,
        "grouping": {
            "rule_index": grouping.rule_index,
            "rule": grouping.rule,
            "keys": list(grouping.keys),
        },
        "pattern": None if pattern is None else _pattern_json(pattern),
        "exporters": list(found.exporters),
    }


def _pattern_json(pattern: BodyPattern) -> dict[str, Any]:
    return {
        "id": pattern.hex_id,
        "template": pattern.template,
        "variables": list(pattern.variables),
        "mined_from": redact.text(pattern.mined_from),
    }
