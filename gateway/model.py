"""Plain values passed between the pipeline's stages (no behaviour, no I/O)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# What a receiver enqueues for one LogRecord (a log_queue row without its id):
#   (received_at, severity_number, seen_at, body, record without its body, origin id)
IncomingRow = tuple[int, int, int, str, bytes, int]
# What the batch stage reads of a log_queue row. A plain tuple, because a claim holds tens of
# thousands and dedupe unpacks them in its loop:
#   (id, seen_at unix ns, severity_number, body, origin id)
# The record's other fields stay in the database until an entry is kept.
ClaimedRow = tuple[int, int, int, str, int]
# A resource attribute's value as an entry keeps it (lists and maps become JSON text).
ResourceValue = str | int | float | bool
# The services an entry names with their counts, at most (the rest are counted together).
MAX_ENTRY_SERVICES = 20


@dataclass(frozen=True, slots=True)
class Claim:
    """Rows claimed by one batch: only the holder of `token` may finish or release them."""

    token: int
    rows: list[ClaimedRow]
    origins: dict[int, bytes] = field(default_factory=dict)  # origin id -> origin bytes
    # Read from the rows as claimed: the batch stage lets the rows go once it has grouped them
    # (each entry holds what it needs), and still finishes or releases the claim by these.
    first_id: int = field(init=False, default=0)
    last_id: int = field(init=False, default=0)
    size: int = field(init=False, default=0)  # rows claimed

    def __post_init__(self) -> None:
        rows = self.rows
        if rows:
            object.__setattr__(self, "first_id", rows[0][0])
            object.__setattr__(self, "last_id", rows[-1][0])
            object.__setattr__(self, "size", len(rows))


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
    # Records per service.name, most first: the entry's `service` (its first record's) is
    # only one of them when the service is not a dedupe key. Bounded (MAX_ENTRY_SERVICES);
    # the records of the services left out are in services_other, so that
    # sum(services.values()) + services_other == count, always.
    services: dict[str, int] = field(default_factory=dict)
    services_other: int = 0
    # The first record's resource attributes, flat on their dotted keys ("host.name"), values
    # kept as strings, numbers or booleans (see gateway.otlp.flat_attributes).
    resource: dict[str, ResourceValue] = field(default_factory=dict)
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


class OutboxEvent(NamedTuple):
    """One kept entry as one exporter sends it: the exporter's key under `exporters:`, the
    text its encoder wrote, and the entry's severity (the drop policy never parses the text)."""

    exporter: str
    event: str
    severity_number: int


class HoldItem(NamedTuple):
    """An entry an exporter's budget holds back: its merge key, and when it must go."""

    exporter: str
    key: str
    entry: Entry
    deadline_ns: int


@dataclass(frozen=True, slots=True)
class Budgeted:
    """What a batch leaves to the budgets: entries held back, merged into their keys' held
    entries by `merge` (held, later), and the events it put straight in each budgeted
    exporter's outbox (ERROR and above), which spend its bucket."""

    items: Sequence[HoldItem]
    merge: Callable[[Entry, Entry], Entry]
    charged: dict[str, int] = field(default_factory=dict)
    max_held: dict[str, int] = field(default_factory=dict)  # exporter -> most held at once


@dataclass(frozen=True, slots=True)
class Held:
    """A held entry as the budget's release plan sees it (its entry stays in the store)."""

    id: int
    key: str
    severity_number: int
    deadline_ns: int
    sent_in_window: int  # events of this key already sent in its current window
    held_since_ns: int = 0  # when its first record still held arrived


@dataclass(frozen=True, slots=True)
class Release:
    """What the budget sends of the held entries now."""

    send: tuple[int, ...] = ()  # held ids, in the order they go
    rates: dict[int, float] = field(default_factory=dict)  # id -> its budget sample rate
    dropped: tuple[int, ...] = ()  # held ids sampled out by the budget


@dataclass(frozen=True, slots=True)
class Bucket:
    """An exporter's budget state, kept in the store so gateways sharing it spend one."""

    tokens: float
    updated_ns: int
    rate: float  # events/s in use now
    limit: float = 0.0  # the backend's announced events/s limit; 0: none announced


@dataclass(frozen=True, slots=True)
class BudgetState:
    """One budgeted exporter as `status`, the live page and the metrics show it."""

    rate: float  # events/s in use now
    limit: float  # the backend's announced events/s limit; 0: none announced
    held: int  # entries held now
    oldest_held_ns: int  # when the longest-waiting held entry began to wait; 0: none


@dataclass(frozen=True, slots=True)
class ExportHealth:
    """An exporter's last results, for the live page and `status` (unix ns; 0 = never)."""

    last_success: int = 0
    last_error: int = 0
    last_error_text: str = ""


@dataclass(frozen=True, slots=True)
class ViewerStatus:
    """What the live page's header shows of the gateway, read once per viewer process."""

    window_entries: int
    services: tuple[str, ...]
    exports: dict[str, ExportHealth]  # by exporter, those that have sent or tried to
    outbox_depth: int  # every exporter's together
    budgets: dict[str, BudgetState] = field(default_factory=dict)  # by budgeted exporter


@dataclass(frozen=True, slots=True)
class DatabaseGauges:
    """What a metrics scrape reads from the database (shared by every gateway using it)."""

    queue_depth: int
    queue_bytes: int  # estimated from the newest rows' sizes
    queue_oldest_age_s: float
    outbox_depths: dict[str, int]  # by exporter; one with none waiting is absent
    dead_letters: dict[str, int]  # by exporter, the same
    recent_rows: int
    counters: dict[str, int]
    budgets: dict[str, BudgetState] = field(default_factory=dict)  # by budgeted exporter
    # By budgeted exporter: how long its longest-waiting held entry has waited (0: none).
    budget_waits_s: dict[str, float] = field(default_factory=dict)
