"""The batch stage's side of pattern learning: what the store keeps between batches.

Before its first batch the miner loads the patterns the store knows (learned by this gateway
before a restart, or by others sharing the database), so later batches match known patterns
first and mine only the rest. Each batch's pattern totals and merges are written in the
transaction that finishes the batch, so they are as exact as the batch's own counts; merges
of a batch that did not commit are kept for the next one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from gateway.config.settings import BatchConfig, PatternsConfig
from gateway.model import Entry, LearnedPattern
from gateway.pipeline.grouping import Matcher
from gateway.pipeline.patterns import masks, miner
from gateway.store import Store


class Miner(Matcher, Protocol):
    """The template miner as the batch stage drives it (gateway/pipeline/patterns/miner.py)."""

    def load(self, templates: Sequence[str]) -> None: ...
    def take_merges(self) -> dict[int, int]: ...


def miner_for(config: BatchConfig) -> miner.Miner | None:
    """A miner for the configured grouping; None when no record is grouped by pattern."""
    return patterns_miner(config.patterns) if config.dedupe.uses_patterns() else None


def patterns_miner(settings: PatternsConfig) -> miner.Miner:
    """A miner with `batch.patterns`' masks and bounds."""
    extra = tuple(masks.Mask(mask.name, mask.regex) for mask in settings.masks)
    return miner.Miner(
        masks.Masker(extra=extra),
        settings.similarity,
        settings.max_patterns,
        settings.active_patterns,
    )


@dataclass(frozen=True, slots=True)
class Learned:
    """One batch's pattern totals (all its records, sampled out or kept) and merges."""

    patterns: tuple[LearnedPattern, ...] = ()
    merges: dict[int, int] = field(default_factory=dict)  # narrow id -> the id it joined


class PatternBook:
    def __init__(self, store: Store, miner: Miner, max_patterns: int) -> None:
        self._store = store
        self._miner = miner
        self._max_patterns = max_patterns
        self._loaded = False
        self._unsaved: dict[int, int] = {}  # merges not yet committed

    def miner(self) -> Miner:
        """The miner, with the store's known patterns loaded before its first batch."""
        if not self._loaded:
            self._miner.load(self._store.known_templates(self._max_patterns))
            self._loaded = True
        return self._miner

    def learned(self, entries: Sequence[Entry]) -> Learned:
        self._unsaved.update(self._miner.take_merges())
        return Learned(totals(entries), dict(self._unsaved))

    def committed(self) -> None:
        self._unsaved.clear()


def totals(entries: Sequence[Entry]) -> tuple[LearnedPattern, ...]:
    """Per pattern: its records in these entries, first and last seen, the first example."""
    by_id: dict[int, LearnedPattern] = {}
    for entry in entries:
        pattern = entry.pattern
        if pattern is None:
            continue
        known = by_id.get(pattern.id)
        if known is None:
            by_id[pattern.id] = LearnedPattern(
                pattern.id, pattern.template, entry.first_seen, entry.last_seen, entry.count,
                entry.body,
            )  # fmt: skip
        else:
            by_id[pattern.id] = _joined(known, entry)
    return tuple(by_id.values())


def _joined(known: LearnedPattern, entry: Entry) -> LearnedPattern:
    return LearnedPattern(
        known.id,
        known.template,
        min(known.first_seen, entry.first_seen),
        max(known.last_seen, entry.last_seen),
        known.count + entry.count,
        known.example,
    )
