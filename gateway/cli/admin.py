"""Operator commands' logic: `logsieve dead-letter`, as values and lines, and the pieces every
operator command shares (open_store, aligned, counted); `status`, `explain` and `patterns` have
their own modules.

The CLI parses arguments and prints; everything here takes `now` so tests use fixed times.
Log text and Logflare's answers are attacker text: text output escapes control characters,
JSON output escapes everything outside ASCII. Texts that quote a backend's answers (the last
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

from gateway import redact
from gateway.clock import NS_PER_SECOND
from gateway.config.settings import StorageConfig
from gateway.errors import StorageError
from gateway.store import DeadLetter, Store
from gateway.text import human_duration, printable

NS = NS_PER_SECOND
CHUNK = 500  # dead letters per transaction: far below every driver's bound-parameter limit
EVENT_CHARS, REASON_CHARS = 160, 80  # a dead letter's text line stays about one screen wide


def open_store(storage: StorageConfig) -> Store:
    """A Store for an operator command: a missing SQLite file is an error, not a new database."""
    if storage.url.startswith("sqlite:///"):
        path = storage.url.removeprefix("sqlite:///").split("?", 1)[0]
        if path != ":memory:" and not Path(path).is_file():
            raise StorageError(f"no database file at {path}")
    return Store(
        storage.url,
        pool_size=1,
        sqlite_synchronous=storage.sqlite_synchronous,
        schema=storage.db_schema,
    )


def age_seconds(now: int, then: int) -> float | None:
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
        f"#{letter.id}  {since(now, letter.created_at, '?')}  {letter.exporter}  "
        f"{one_line(redact.text(letter.reason), REASON_CHARS)}  "
        f"{one_line(letter.event, EVENT_CHARS)}"
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
        "exporter": letter.exporter,
        "reason": redact.text(letter.reason),
        "event": event if event is not None else letter.event,  # unparsable: the text as is
    }


def one_line(text: str, limit: int) -> str:
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


def since(now: int, then: int, otherwise: str) -> str:
    if not then:
        return otherwise
    stamp = datetime.fromtimestamp(then / NS, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{human_duration((now - then) // NS, short=True)} ago ({stamp})"
