"""Plain values passed between the pipeline's stages (no behaviour, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# One log_queue row: a LogRecord as received, and where it came from. A plain tuple, because
# the batch stage reads tens of thousands per claim and unpacks them in its loop:
#   (id, received_at unix ns, severity_number, LogRecord bytes, origin id)
# where the origin is a serialized ResourceLogs holding only the resource and one scope.
QueuedRow = tuple[int, int, int, bytes, int]


@dataclass(frozen=True, slots=True)
class Claim:
    """Rows claimed by one batch: only the holder of `token` may finish or release them."""

    token: int
    rows: list[QueuedRow]
    origins: dict[int, bytes] = field(default_factory=dict)  # origin id -> origin bytes

    @property
    def first_id(self) -> int:
        return self.rows[0][0] if self.rows else 0

    @property
    def last_id(self) -> int:
        return self.rows[-1][0] if self.rows else 0


@dataclass(slots=True)
class Entry:
    """A group of identical records of one batch: the unit that is sampled, shown and exported."""

    body: str
    severity_number: int
    severity: str  # band name: TRACE..FATAL or UNSPECIFIED
    service: str
    count: int
    first_seen: int  # unix ns
    last_seen: int  # unix ns
    attributes: dict[str, Any] = field(default_factory=dict)  # nested on dots
    trace_id: str = ""
    span_id: str = ""
    scope: str = ""
    sample_rate: float = 1.0
    # The first record's bytes, until add_details() has filled attributes and ids from it:
    # dedupe defers that work so that entries sampled out never pay for it.
    first_record: bytes = field(default=b"", compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class RecentEntry:
    """A row of recent_log_entries, as the viewer reads it."""

    id: int
    entry: Entry
    expires_at: int  # unix ns
