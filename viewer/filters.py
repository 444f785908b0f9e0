"""Server-side stream filters: what a subscription asked to see."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass

from logsieve.v1 import stream_pb2

from gateway import severity
from gateway.model import Entry, RecentEntry, pattern_hex
from viewer.query import Query, QueryError, parse

MAX_FILTER_TEXT = 200  # a search term, not a document
PATTERN_ID = re.compile(r"[0-9a-f]{16}")  # PatternRef.hex_id: what the page has to offer


@dataclass(frozen=True, slots=True)
class StreamFilter:
    min_rank: int = 0
    bands: frozenset[str] = frozenset()  # empty: every band
    service: str = ""
    text: str = ""  # lower-cased
    pattern: str = ""  # a pattern's hex id (16 lower-case digits); "" for every entry
    # The ids the pattern's entries may carry once patterns merged (Store.pattern_family).
    family: frozenset[str] = frozenset()
    query: Query | None = None  # the search query (Subscribe.query), when there is one
    # Why Subscribe.query was refused ("" when it was not): such a filter keeps nothing.
    refused: str = ""

    @classmethod
    def from_subscribe(cls, sub: stream_pb2.Subscribe) -> StreamFilter:
        """Raises ValueError for a severity that is not a band, an oversized search or a
        pattern that is not a pattern id. A query that does not parse is no such error: the
        filter says why in `refused`, for the page to show under its search box."""
        band = _band(sub.min_severity) if sub.min_severity else ""
        bands = frozenset(_band(name) for name in sub.severities)
        if len(sub.text) > MAX_FILTER_TEXT or len(sub.service) > MAX_FILTER_TEXT:
            raise ValueError("filter too long")
        rank = severity.RANK[band] if band else 0
        chosen = cls(rank, bands, sub.service, sub.text.lower(), _pattern(sub.pattern))
        if not sub.query.strip():
            return chosen
        try:
            return dataclasses.replace(chosen, query=parse(sub.query))
        except QueryError as exc:
            return dataclasses.replace(chosen, refused=str(exc))

    @property
    def active(self) -> bool:
        chosen = self.service or self.text or self.pattern or self.query or self.refused
        return bool(self.min_rank or self.bands or chosen)

    def keeps(self, recent: RecentEntry) -> bool:
        entry = recent.entry
        return (
            not self.refused
            and severity.RANK.get(entry.severity, 0) >= self.min_rank
            and (not self.bands or entry.severity in self.bands)
            and (not self.service or _has_service(entry, self.service))
            and (not self.text or self.text in entry.body.lower())
            and (not self.pattern or self._same_pattern(recent))
            and (self.query is None or self.query.keeps(entry))
        )

    def _same_pattern(self, recent: RecentEntry) -> bool:
        pattern = recent.entry.pattern
        return pattern is not None and (
            pattern.hex_id == self.pattern or pattern.hex_id in self.family
        )

    def with_family(self, ids: Iterable[int]) -> StreamFilter:
        """This filter also keeping the entries of every id in `ids`."""
        return dataclasses.replace(self, family=frozenset(pattern_hex(i) for i in ids))


def _has_service(entry: Entry, service: str) -> bool:
    """The entry's own service or any of its services (an aggregate of several services is
    found by each of them)."""
    return entry.service == service or service in entry.services


def _band(name: str) -> str:
    band = name.upper()
    if band not in severity.RANK:
        raise ValueError(f"unknown severity {name!r}")
    return band


def _pattern(hex_id: str) -> str:
    """The pattern id as PatternRef.hex_id spells it (any case accepted); "" stays ""."""
    lowered = hex_id.lower()
    if lowered and not PATTERN_ID.fullmatch(lowered):
        raise ValueError(f"a pattern id is 16 hex digits, not {hex_id[:40]!r}")
    return lowered
