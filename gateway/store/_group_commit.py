"""Group commit: concurrent enqueues share one transaction instead of queueing for the lock.

SQLite has one writer. Left to itself, each waiting thread sleeps in SQLite's busy handler
(up to 100 ms a nap) and commits alone. Here waiting threads hand their rows to whichever
thread holds the commit lock: it writes everything pending in one transaction, and each
caller returns only after the transaction holding its rows has committed (or raises its
error), so an acknowledgement still always follows the commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from gateway.store._writer_lock import WriterLock

Rows = Sequence[tuple[Any, ...]]


class _Pending:
    __slots__ = ("done", "error", "rows")

    def __init__(self, rows: Rows) -> None:
        self.rows = rows
        self.done = False
        self.error: BaseException | None = None


class GroupCommit:
    def __init__(
        self, write: Callable[[list[tuple[Any, ...]]], None], commit_lock: WriterLock
    ) -> None:
        self._write = write
        self._commit_lock = commit_lock  # shared with every other writer of the database
        self._queue_lock = threading.Lock()
        self._pending: list[_Pending] = []

    def submit(self, rows: Rows) -> None:
        """Return once `rows` are committed; raise the error of the transaction that failed."""
        mine = _Pending(rows)
        with self._queue_lock:
            self._pending.append(mine)
        with self._commit_lock:
            if not mine.done:  # nobody took our rows while we waited: commit all that waits
                self._commit_pending()
        if mine.error is not None:
            raise mine.error

    def _commit_pending(self) -> None:
        with self._queue_lock:
            batch, self._pending = self._pending, []
        error: BaseException | None = None
        try:
            self._write([row for pending in batch for row in pending.rows])
        except BaseException as exc:  # every caller in the group learns it
            error = exc
        for pending in batch:
            pending.error = error
            pending.done = True
