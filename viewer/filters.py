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
    service: str = ""
    text: str = ""  # lower-cased

    @classmethod
    def from_subscribe(cls, sub: stream_pb2.Subscribe) -> StreamFilter:
        """Raises ValueError for a severity that is not a band or an oversized search."""
        band = sub.min_severity.upper()
        if band and band not in severity.BANDS:
            raise ValueError(f"unknown severity {sub.min_severity!r}")
        if len(sub.text) > MAX_FILTER_TEXT or len(sub.service) > MAX_FILTER_TEXT:
            raise ValueError("filter too long")
        return cls(severity.RANK[band] if band else 0, sub.service, sub.text.lower())

    def keeps(self, recent: RecentEntry) -> bool:
        entry = recent.entry
        return (
            severity.RANK.get(entry.severity, 0) >= self.min_rank
            and (not self.service or entry.service == self.service)
            and (not self.text or self.text in entry.body.lower())
        )
