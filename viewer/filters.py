"""Server-side stream filters: what a subscription asked to see."""

from __future__ import annotations

from dataclasses import dataclass

from logsieve.v1 import stream_pb2

from gateway import severity
from gateway.model import RecentEntry

MAX_FILTER_TEXT = 200  # a search term, not a document


@dataclass(frozen=True, slots=True)
class StreamFilter:
    min_rank: int = 0
    bands: frozenset[str] = frozenset()  # empty: every band
    service: str = ""
    text: str = ""  # lower-cased

    @classmethod
    def from_subscribe(cls, sub: stream_pb2.Subscribe) -> StreamFilter:
        """Raises ValueError for a severity that is not a band or an oversized search."""
        band = _band(sub.min_severity) if sub.min_severity else ""
        bands = frozenset(_band(name) for name in sub.severities)
        if len(sub.text) > MAX_FILTER_TEXT or len(sub.service) > MAX_FILTER_TEXT:
            raise ValueError("filter too long")
        return cls(severity.RANK[band] if band else 0, bands, sub.service, sub.text.lower())

    @property
    def active(self) -> bool:
        return bool(self.min_rank or self.bands or self.service or self.text)

    def keeps(self, recent: RecentEntry) -> bool:
        entry = recent.entry
        return (
            severity.RANK.get(entry.severity, 0) >= self.min_rank
            and (not self.bands or entry.severity in self.bands)
            and (not self.service or entry.service == self.service)
            and (not self.text or self.text in entry.body.lower())
        )


def _band(name: str) -> str:
    band = name.upper()
    if band not in severity.RANK:
        raise ValueError(f"unknown severity {name!r}")
    return band
