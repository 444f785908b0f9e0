"""`logsieve patterns`: the patterns the store has counted, most records first, as values and
lines.

A pattern's count is its total since it was first seen, over every service and every gateway
sharing the database (log_pattern), sampled out or kept. `since` keeps the patterns last seen
since then; `service` those with an entry of that service in the live window
(recent_log_entries not yet expired). Templates and examples are log text: shown masked
(gateway/redact.py); in text, with control characters escaped and cut to a line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gateway import redact
from gateway.cli.admin import NS, age_seconds, counted, one_line
from gateway.model import LearnedPattern, pattern_hex
from gateway.store import Store
from gateway.text import human_duration, printable

DEFAULT_LIMIT = 20
TEXT_CHARS = 160  # of a template or an example in a text line
NOT_GROUPED = (
    "batch.dedupe groups no record by pattern (no `pattern` in its keys or rules): "
    "no new patterns are learned; listing what the store has"
)
_HEADINGS = ("ID", "COUNT", "FIRST SEEN", "LAST SEEN", "TEMPLATE")


@dataclass(frozen=True, slots=True)
class PatternQuery:
    since: str  # as the operator wrote it: 10m, 1h
    since_seconds: float
    service: str | None = None
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True, slots=True)
class PatternList:
    now: int
    query: PatternQuery
    patterns: Sequence[LearnedPattern]
    stored: int  # patterns in the store, seen at any time

    @property
    def since_ns(self) -> int:
        return self.now - int(self.query.since_seconds * NS)


def read_patterns(store: Store, query: PatternQuery, now: int) -> PatternList:
    since = PatternList(now, query, (), 0).since_ns
    if query.service is None:
        found = store.top_patterns(since, query.limit)
    else:
        found = store.top_patterns_of_service(query.service, since, now, query.limit)
    return PatternList(now, query, found, store.pattern_count())


def pattern_lines(listing: PatternList) -> list[str]:
    if not listing.patterns:
        return [_summary(listing)]
    rows = [_HEADINGS, *(_row(listing.now, pattern) for pattern in listing.patterns)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADINGS) - 1)]
    lines = [_summary(listing), _aligned(rows[0], widths)]
    for row, pattern in zip(rows[1:], listing.patterns, strict=True):
        lines.append(_aligned(row, widths))
        example = one_line(redact.text(pattern.example), TEXT_CHARS)
        lines.append(" " * (sum(widths) + 2 * len(widths)) + f"e.g. {example}")
    return lines


def _summary(listing: PatternList) -> str:
    query = listing.query
    shown = len(listing.patterns)
    found = counted(shown, "pattern") if shown else "no patterns"
    found = f"the top {found}" if shown == query.limit else found  # maybe more beyond
    where = ""
    if query.service is not None:
        where = f" with entries of service {printable(repr(query.service))} in the live window"
    return (
        f"{found} seen in the last {printable(query.since)}{where} ({listing.stored} stored);"
        " counts are totals since first seen, all services"
    )


def _row(now: int, pattern: LearnedPattern) -> tuple[str, ...]:
    return (
        pattern_hex(pattern.id),
        f"{pattern.count:,}",
        _ago(now, pattern.first_seen),
        _ago(now, pattern.last_seen),
        one_line(redact.text(pattern.template), TEXT_CHARS),
    )


def _aligned(row: Sequence[str], widths: Sequence[int]) -> str:
    """The columns padded to their widths, the count right-aligned; the template last."""
    cells = [
        cell.rjust(width) if column == 1 else cell.ljust(width)
        for column, (cell, width) in enumerate(zip(row, widths, strict=False))
    ]
    return "  ".join([*cells, row[-1]])


def _ago(now: int, then: int) -> str:
    return f"{human_duration((now - then) // NS, short=True)} ago"


def patterns_json(listing: PatternList, grouped_by_pattern: bool) -> dict[str, Any]:
    query, now = listing.query, listing.now
    return {
        "now_unix_nano": now,
        "since_unix_nano": listing.since_ns,
        "service": query.service,
        "grouped_by_pattern": grouped_by_pattern,
        "stored": listing.stored,
        "patterns": [
            {
                "id": pattern_hex(pattern.id),
                "count": pattern.count,
                "first_seen_unix_nano": pattern.first_seen,
                "last_seen_unix_nano": pattern.last_seen,
                "first_seen_age_seconds": age_seconds(now, pattern.first_seen),
                "last_seen_age_seconds": age_seconds(now, pattern.last_seen),
                "template": redact.text(pattern.template),
                "example": redact.text(pattern.example),
            }
            for pattern in listing.patterns
        ],
    }
