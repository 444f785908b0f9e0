"""Plain values passed between the pipeline's stages (no behaviour, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# What a receiver enqueues for one LogRecord (a log_queue row without its id):
#   (received_at, severity_number, seen_at, body, record without its body, origin id)
IncomingRow = tuple[int, int, int, str, bytes, int]
# What the batch stage reads of a log_queue row. A plain tuple, because a claim holds tens of
# thousands and dedupe unpacks them in its loop:
#   (id, seen_at unix ns, severity_number, body, origin id)
# The record's other fields stay in the database until an entry is kept.
ClaimedRow = tuple[int, int, int, str, int]


@dataclass(frozen=True, slots=True)
class Claim:
    """Rows claimed by one batch: only the holder of `token` may finish or release them."""

    token: int
    rows: list[ClaimedRow]
    origins: dict[int, bytes] = field(default_factory=dict)  # origin id -> origin bytes

    @property
    def first_id(self) -> int:
        return self.rows[0][0] if self.rows else 0

    @property
    def last_id(self) -> int:
        return self.rows[-1][0] if self.rows else 0


@dataclass(frozen=True, slots=True)
class VariableValues:
    """One variable of an entry's pattern: its most frequent values with their counts (most
    first), how many of the entry's records had another value, how many distinct values."""

    top: tuple[tuple[str, int], ...]
    other: int
    distinct: int


def pattern_hex(pattern_id: int) -> str:
    """A pattern id as people, JSON and URLs see it: 16 hex digits (JavaScript numbers stop at
    2**53, and ids are 63 bits)."""
    return f"{pattern_id:016x}"


@dataclass(frozen=True, slots=True)
class PatternRef:
    """The pattern an entry's records share: a stable id (the same in every batch, after a
    restart and on every gateway sharing the database), its template (`<*>` and typed
    placeholders such as `<IP>` where the records differ) and what each variable held."""

    id: int
    template: str
    variables: tuple[VariableValues, ...] = ()

    @property
    def hex_id(self) -> str:
        return pattern_hex(self.id)


@dataclass(frozen=True, slots=True)
class LearnedPattern:
    """A pattern as the store keeps it between batches: totals over every batch."""

    id: int
    template: str
    first_seen: int  # unix ns
    last_seen: int  # unix ns
    count: int
    example: str  # one real body


@dataclass(slots=True)
class Entry:
    """A group of records of one batch with the same dedupe key (the same body, or the same
    pattern): the unit that is sampled, shown and exported."""

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
    pattern: PatternRef | None = None  # when grouped by pattern; `body` stays a real line
    # The queue row of the first record: add_details() reads attributes and ids from it later,
    # so that entries sampled out never pay for decoding.
    first_id: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class RecentEntry:
    """A row of recent_log_entries, as the viewer reads it."""

    id: int
    entry: Entry
    expires_at: int  # unix ns
    # Set when the viewer read a shortened row (see Store.recent_after's max_chars): the
    # whole body's length when its body was cut, and whether its attributes were left out.
    body_length: int = 0
    attributes_elided: bool = False

    @property
    def shortened(self) -> bool:
        return bool(self.body_length) or self.attributes_elided


@dataclass(frozen=True, slots=True)
class ExportHealth:
    """The exporter's last results, for the live page (unix ns; 0 = never)."""

    last_success: int = 0
    last_error: int = 0
    last_error_text: str = ""


@dataclass(frozen=True, slots=True)
class ViewerStatus:
    """What the live page's header shows of the gateway, read once per viewer process."""

    window_entries: int
    services: tuple[str, ...]
    export: ExportHealth
    outbox_depth: int


@dataclass(frozen=True, slots=True)
class DatabaseGauges:
    """What a metrics scrape reads from the database (shared by every gateway using it)."""

    queue_depth: int
    queue_bytes: int  # estimated from the newest rows' sizes
    queue_oldest_age_s: float
    outbox_depth: int
    dead_letters: int
    recent_rows: int
    counters: dict[str, int]
