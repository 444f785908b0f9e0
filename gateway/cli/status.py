"""`logsieve status`: the queue, then every exporter (its outbox, dead letters, budget and
health), as lines and as JSON. Texts that quote a backend's answer (the last export error) are
masked again when shown (gateway/redact.py), as in admin.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway import redact
from gateway.cli.admin import NS, age_seconds, aligned, counted, human_bytes, since
from gateway.config.settings import ExportersConfig
from gateway.model import BudgetState, ExportHealth
from gateway.store import OutboxSummary, QueueSummary, Store
from gateway.text import printable

# Why each exporter is off, as `run` says at start; every exporter logsieve knows is listed.
OFF_REASONS = {
    "logflare": "no source and api_key configured",
    "otlp": "no endpoint configured",
}


@dataclass(frozen=True, slots=True)
class ExporterStatus:
    off_reason: str | None  # None: the config turns it on
    outbox: OutboxSummary
    dead_letters: int
    health: ExportHealth
    budget_on: bool = False  # the config gives it a budget
    # The budget as the store keeps it (the rate in use, what is held); None before the
    # export stage's first release, or with no budget ever.
    budget: BudgetState | None = None

    @property
    def held(self) -> int:
        return self.budget.held if self.budget is not None else 0

    @property
    def idle(self) -> bool:
        """Off, and nothing of it in the database: one line says all."""
        nothing = not (self.outbox.depth or self.dead_letters or self.held)
        health = self.health
        return (
            self.off_reason is not None and nothing and not health.last_success + health.last_error
        )


@dataclass(frozen=True, slots=True)
class Status:
    now: int
    queue: QueueSummary
    recent_entries: int  # live-view entries not yet expired
    counters: dict[str, int]
    exporters: dict[str, ExporterStatus] = field(default_factory=dict)

    @property
    def outbox_depth(self) -> int:
        return sum(exporter.outbox.depth for exporter in self.exporters.values())


def off_reasons(config: ExportersConfig) -> dict[str, str | None]:
    """Each exporter the config names or logsieve knows, with why it is off (None: on)."""
    enabled = config.enabled()
    return {
        name: None if name in enabled else OFF_REASONS.get(name, OFF_REASONS["otlp"])
        for name in config.configured()
    }


def budgeted(config: ExportersConfig) -> frozenset[str]:
    """The exporters the config gives a budget."""
    return frozenset(name for name, c in config.configured().items() if c.budget.enabled)


def read_status(
    store: Store,
    now: int,
    off: dict[str, str | None] | None = None,
    budgets_on: frozenset[str] | None = None,
) -> Status:
    """`off`: off_reasons(config); without it, every exporter found in the database is on.
    `budgets_on`: budgeted(config); without it, every budget found in the database is on."""
    viewer = store.viewer_status(now)  # the header's: window, exporters' health and budgets
    outboxes, dead, budgets = store.outbox_summaries(), store.dead_letter_counts(), viewer.budgets
    on = frozenset(budgets) if budgets_on is None else budgets_on
    known = dict(off or {})
    for name in (*outboxes, *dead, *viewer.exports, *budgets):
        known.setdefault(name, None)
    exporters = {
        name: ExporterStatus(
            off_reason=why,
            outbox=outboxes.get(name, OutboxSummary(0, 0, 0)),
            dead_letters=dead.get(name, 0),
            health=viewer.exports.get(name, ExportHealth()),
            budget_on=name in on,
            budget=budgets.get(name),
        )
        for name, why in sorted(known.items())
    }
    return Status(
        now, store.queue_summary(), viewer.window_entries, store.counter_values(), exporters
    )


def status_lines(status: Status) -> list[str]:
    queue = status.queue
    rows = [
        ("queue depth", counted(queue.depth, "record")),
        ("queue oldest", since(status.now, queue.oldest_received_at, "empty")),
        ("queue bytes", f"{human_bytes(queue.payload_bytes)} (bodies and records)"),
    ]
    for name, exporter in status.exporters.items():
        rows += _exporter_rows(status.now, name, exporter)
    rows += [
        ("recent entries", f"{status.recent_entries} (live view, unexpired)"),
        ("counters", " ".join(f"{printable(k)}={v}" for k, v in status.counters.items()) or "none"),
    ]
    return aligned(rows)


def _exporter_rows(now: int, name: str, exporter: ExporterStatus) -> list[tuple[str, str]]:
    """An exporter's state, then (unless it is off with nothing left) its outbox, dead letters
    and health, indented under it."""
    state = "on" if exporter.off_reason is None else f"off ({exporter.off_reason})"
    if exporter.idle:
        return [(f"exporter {name}", state)]
    outbox, health = exporter.outbox, exporter.health
    return [
        (f"exporter {name}", state),
        ("  outbox depth", f"{counted(outbox.depth, 'event')} ({outbox.claimed} being sent)"),
        ("  outbox oldest", since(now, outbox.oldest_created_at, "empty")),
        ("  dead letters", str(exporter.dead_letters)),
        ("  budget", budget_text(now, exporter)),
        ("  last success", since(now, health.last_success, "never")),
        ("  last error", _last_error(now, health)),
    ]


def budget_text(now: int, exporter: ExporterStatus) -> str:
    """The rate in use, the backend's limit and what waits, as in "45.0 events/s in use (limit
    50 announced), 1,234 entries held, oldest waiting 2m10s"; or "off", with what an exporter
    whose budget was turned off still holds (it waits until the budget is on again)."""
    budget = exporter.budget
    if not exporter.budget_on:
        return f"off ({_held_text(now, budget, 'still held')})" if budget and budget.held else "off"
    if budget is None:
        return "on (no release yet: the export stage has not run)"
    limit = f"limit {_number(budget.limit)} announced" if budget.limit else "no limit announced"
    held = _held_text(now, budget, "held") if budget.held else "nothing held"
    return f"{budget.rate:.1f} events/s in use ({limit}), {held}"


def _held_text(now: int, budget: BudgetState, held: str) -> str:
    entries = "entry" if budget.held == 1 else "entries"
    text = f"{budget.held:,} {entries} {held}"
    if budget.oldest_held_ns:
        return f"{text}, oldest waiting {short_wait(now - budget.oldest_held_ns)}"
    return text


def short_wait(ns: int) -> str:
    """A wait to the second: 45s, 2m10s, 3h05m."""
    seconds = max(0, ns) // NS
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _last_error(now: int, health: ExportHealth) -> str:
    when = since(now, health.last_error, "never")
    if not health.last_error:
        return when
    return f"{when}: {printable(redact.text(health.last_error_text))}"


def status_json(status: Status) -> dict[str, Any]:
    queue, now = status.queue, status.now
    return {
        "now_unix_nano": now,
        "queue": {
            "depth": queue.depth,
            "oldest_received_at_unix_nano": queue.oldest_received_at or None,
            "oldest_age_seconds": age_seconds(now, queue.oldest_received_at),
            "payload_bytes": queue.payload_bytes,
        },
        "exporters": {
            name: _exporter_json(now, exporter) for name, exporter in status.exporters.items()
        },
        "recent_entries": status.recent_entries,
        "counters": status.counters,
    }


def _exporter_json(now: int, exporter: ExporterStatus) -> dict[str, Any]:
    outbox, health = exporter.outbox, exporter.health
    return {
        "state": "on" if exporter.off_reason is None else "off",
        "off_reason": exporter.off_reason,
        "outbox": {
            "depth": outbox.depth,
            "claimed": outbox.claimed,
            "oldest_created_at_unix_nano": outbox.oldest_created_at or None,
            "oldest_age_seconds": age_seconds(now, outbox.oldest_created_at),
        },
        "dead_letters": exporter.dead_letters,
        "budget": _budget_json(now, exporter),
        "last_success_unix_nano": health.last_success or None,
        "last_error_unix_nano": health.last_error or None,
        "last_error_text": redact.text(health.last_error_text),
    }


def _budget_json(now: int, exporter: ExporterStatus) -> dict[str, Any]:
    """Null where unknown: the rate before the first release, the limit none announced."""
    budget = exporter.budget
    oldest = budget.oldest_held_ns if budget is not None else 0
    return {
        "state": "on" if exporter.budget_on else "off",
        "rate_events_per_second": budget.rate if budget is not None else None,
        "limit_events_per_second": (budget.limit or None) if budget is not None else None,
        "held_entries": exporter.held,
        "oldest_held_unix_nano": oldest or None,
        "oldest_wait_seconds": age_seconds(now, oldest),
    }
