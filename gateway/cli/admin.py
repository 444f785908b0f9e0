"""Operator commands' logic: `logsieve explain`, `status` and `dead-letter`, as values and lines.

The CLI parses arguments and prints; everything here takes `now` so tests use fixed times.
Log text and Logflare's answers are attacker text: text output escapes control characters,
JSON output escapes everything outside ASCII. Texts that quote Logflare's answers (the last
export error, dead-letter reasons) are masked again when shown (gateway/redact.py): they were
masked when stored, but a database written before that, or by an older version, may not be.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway import redact, severity
from gateway.clock import NS_PER_SECOND
from gateway.config.settings import Config, SamplingRule, StorageConfig
from gateway.errors import StorageError
from gateway.model import Entry, ExportHealth
from gateway.pipeline.sampling import SamplingPolicy
from gateway.store import DeadLetter, OutboxSummary, QueueSummary, Store
from gateway.text import human_duration, printable

NS = NS_PER_SECOND
CHUNK = 500  # dead letters per transaction: far below every driver's bound-parameter limit
EVENT_CHARS, REASON_CHARS = 160, 80  # a dead letter's text line stays about one screen wide


# -- explain ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Explanation:
    rule_index: int | None  # into batch.sampling.rules; None: default_keep
    rule: str
    keep: float
    severity: str  # the band the record was taken to be
    dedupe_key: dict[str, str]

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


def explain(config: Config, band: str, service: str, body: str) -> Explanation:
    """Which rule the policy applies to such a record: the policy's own matching decides."""
    policy = SamplingPolicy.from_config(config.batch.sampling)
    entry = Entry(body, severity.BAND_FIRST_NUMBER.get(band, 0), band, service, 1, 0, 0)
    index = next((i for i, rule in enumerate(policy.rules) if rule.matches(entry)), None)
    rules = config.batch.sampling.rules
    described = describe_rule(rules[index]) if index is not None else "no rule: default_keep"
    if index is None and band == severity.UNSPECIFIED and rules:
        described += " (a record without severity never meets a rule)"
    key = _dedupe_key(config.batch.dedupe.keys, band, service, body)
    return Explanation(index, described, policy.keep_rate(entry), band, key)


def describe_rule(rule: SamplingRule) -> str:
    """A rule as it is written in the config, e.g. `severity=INFO service=checkout`."""
    words = [
        f"{name}={value}" for name, value in rule.match.model_dump().items() if value is not None
    ]
    return " ".join(words) or "every record"


def _dedupe_key(keys: Sequence[str], band: str, service: str, body: str) -> dict[str, str]:
    values = {"body": body, "severity": band, "service.name": service}
    return {key: values[key] for key in keys}


def explanation_lines(found: Explanation) -> list[str]:
    where = f"batch.sampling.rules[{found.rule_index}]: " if found.rule_index is not None else ""
    rate = found.sample_rate
    key = " ".join(f"{name}={json.dumps(value)}" for name, value in found.dedupe_key.items())
    return aligned(
        [
            ("severity", found.severity),
            ("rule", printable(where + found.rule)),
            ("keep", f"{found.keep:g} ({found.keep:.0%} of entries)"),
            (
                "sample rate",
                f"{rate:g} (a kept entry stands for {rate:g})" if rate else "never kept",
            ),
            ("dedupe key", printable(key)),
        ]
    )


def explanation_json(found: Explanation) -> dict[str, Any]:
    return {
        "rule_index": found.rule_index,
        "rule": found.rule,
        "keep": found.keep,
        "sample_rate": found.sample_rate,
        "severity": found.severity,
        "dedupe_key": found.dedupe_key,
    }


# -- status ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Status:
    now: int
    queue: QueueSummary
    outbox: OutboxSummary
    dead_letters: int
    export: ExportHealth
    recent_entries: int  # live-view entries not yet expired
    counters: dict[str, int]


def open_store(storage: StorageConfig) -> Store:
    """A Store for an operator command: a missing SQLite file is an error, not a new database."""
    if storage.url.startswith("sqlite:///"):
        path = storage.url.removeprefix("sqlite:///").split("?", 1)[0]
        if path != ":memory:" and not Path(path).is_file():
            raise StorageError(f"no database file at {path}")
    return Store(storage.url, pool_size=1, sqlite_synchronous=storage.sqlite_synchronous)


def read_status(store: Store, now: int) -> Status:
    viewer = store.viewer_status(now)  # the live page's header: window and exporter health
    return Status(
        now=now,
        queue=store.queue_summary(),
        outbox=store.outbox_summary(),
        dead_letters=store.dead_letter_count(),
        export=viewer.export,
        recent_entries=viewer.window_entries,
        counters=store.counter_values(),
    )


def status_lines(status: Status) -> list[str]:
    queue, outbox, export = status.queue, status.outbox, status.export
    rows = [
        ("queue depth", counted(queue.depth, "record")),
        ("queue oldest", _since(status.now, queue.oldest_received_at, "empty")),
        ("queue bytes", f"{human_bytes(queue.payload_bytes)} (bodies and records)"),
        ("outbox depth", f"{counted(outbox.depth, 'event')} ({outbox.claimed} being sent)"),
        ("outbox oldest", _since(status.now, outbox.oldest_created_at, "empty")),
        ("dead letters", str(status.dead_letters)),
        ("last export success", _since(status.now, export.last_success, "never")),
        ("last export error", _last_error(status.now, export)),
        ("recent entries", f"{status.recent_entries} (live view, unexpired)"),
        ("counters", " ".join(f"{printable(k)}={v}" for k, v in status.counters.items()) or "none"),
    ]
    return aligned(rows)


def _last_error(now: int, export: ExportHealth) -> str:
    when = _since(now, export.last_error, "never")
    return (
        f"{when}: {printable(redact.text(export.last_error_text))}" if export.last_error else when
    )


def status_json(status: Status) -> dict[str, Any]:
    queue, outbox, export, now = status.queue, status.outbox, status.export, status.now
    return {
        "now_unix_nano": now,
        "queue": {
            "depth": queue.depth,
            "oldest_received_at_unix_nano": queue.oldest_received_at or None,
            "oldest_age_seconds": _age_seconds(now, queue.oldest_received_at),
            "payload_bytes": queue.payload_bytes,
        },
        "outbox": {
            "depth": outbox.depth,
            "claimed": outbox.claimed,
            "oldest_created_at_unix_nano": outbox.oldest_created_at or None,
            "oldest_age_seconds": _age_seconds(now, outbox.oldest_created_at),
        },
        "dead_letters": status.dead_letters,
        "export": {
            "last_success_unix_nano": export.last_success or None,
            "last_error_unix_nano": export.last_error or None,
            "last_error_text": redact.text(export.last_error_text),
        },
        "recent_entries": status.recent_entries,
        "counters": status.counters,
    }


def _age_seconds(now: int, then: int) -> float | None:
    return (now - then) / NS if then else None


# -- dead letters ----------------------------------------------------------------------------


def _parsed(event: str) -> Any:
    try:
        return json.loads(event)
    except (ValueError, RecursionError):
        return None


def chosen_chunks(
    store: Store, ids: Sequence[int] | None, size: int = CHUNK
) -> Iterator[list[int]]:
    """The chosen dead-letter ids (None: all), `size` (one transaction's worth) at a time.

    "All" means those present now: a retried event Logflare refuses again while this runs
    comes back with a higher id, and must not be retried in a loop.
    """
    if ids is not None:
        unique = sorted(set(ids))
        yield from (unique[i : i + size] for i in range(0, len(unique), size))
        return
    ceiling, after = store.last_dead_letter_id(), 0
    while chunk := store.dead_letter_ids(after, ceiling, size):
        yield chunk
        after = chunk[-1]


def retry(store: Store, ids: Sequence[int] | None, now: int, size: int = CHUNK) -> int:
    """Move the chosen dead letters back into the outbox; returns how many moved.

    Each chunk moves in one transaction (insert and delete together), so none is lost; each
    event keeps the severity it was refused with.
    """
    chunks = chosen_chunks(store, ids, size)
    return sum(store.retry_dead_letters(chunk, now) for chunk in chunks)


def drop(store: Store, ids: Sequence[int] | None, size: int = CHUNK) -> int:
    """Delete the chosen dead letters; returns how many there were."""
    return sum(store.drop_dead_letters(chunk) for chunk in chosen_chunks(store, ids, size))


@dataclass(frozen=True, slots=True)
class DeadLetterPage:
    letters: Sequence[DeadLetter]
    total: int  # dead letters in the table
    more: bool  # some come after this page

    @property
    def next_after(self) -> int | None:
        return self.letters[-1].id if self.more and self.letters else None


def page_lines(page: DeadLetterPage, now: int) -> list[str]:
    lines = [
        f"#{letter.id}  {_since(now, letter.created_at, '?')}  "
        f"{_line(redact.text(letter.reason), REASON_CHARS)}  {_line(letter.event, EVENT_CHARS)}"
        for letter in page.letters
    ]
    more = f"; next page: --after {page.next_after}" if page.next_after is not None else ""
    return [*lines, f"{counted(page.total, 'dead letter')} in all{more}"]


def page_json(page: DeadLetterPage) -> dict[str, Any]:
    letters = [dead_letter_json(letter) for letter in page.letters]
    return {"dead_letters": letters, "total": page.total, "next_after": page.next_after}


def dead_letter_json(letter: DeadLetter) -> dict[str, Any]:
    event = _parsed(letter.event)
    return {
        "id": letter.id,
        "created_at_unix_nano": letter.created_at,
        "reason": redact.text(letter.reason),
        "event": event if event is not None else letter.event,  # unparsable: the text as is
    }


def _line(text: str, limit: int) -> str:
    flat = printable(text)  # escapes newlines too: one letter, one line
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# -- formatting ------------------------------------------------------------------------------


def aligned(rows: Sequence[tuple[str, str]]) -> list[str]:
    """`key: value` lines with the values in one column."""
    width = max((len(key) for key, _ in rows), default=0) + 2
    return [f"{key + ':':<{width}}{value}" for key, value in rows]


def counted(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def human_bytes(count: int) -> str:
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} B"


def _since(now: int, then: int, otherwise: str) -> str:
    if not then:
        return otherwise
    stamp = datetime.fromtimestamp(then / NS, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{human_duration((now - then) // NS, short=True)} ago ({stamp})"
