"""SQLite's one writer, taken in turn by every thread of every process on the same file.

SQLite makes a second writer nap in its busy handler (1, 2, 5 ... 100 ms at a time) and try
again, so a receiver waiting behind another process's batch commit oversleeps it. Here
writers queue on a lock instead: a thread lock among this process's threads, then an flock
on a file beside the database among processes. Both wake the next writer the moment the
holder lets go. Processes that do not take it (older versions, `sqlite3` by hand) are still
covered by the busy handler.
"""

from __future__ import annotations

import fcntl
import os
import threading
from types import TracebackType


class WriterLock:
    """A context manager and lock: `with lock:` or acquire()/release()."""

    def __init__(self, database_path: str | None) -> None:
        self._threads = threading.Lock()
        self._path = f"{database_path}-writer.lock" if database_path else None
        self._fd = -1
        self._pid = 0

    def acquire(self) -> bool:
        self._threads.acquire()
        if self._path:
            try:
                fcntl.flock(self._file(), fcntl.LOCK_EX)  # releases the GIL while it waits
            except BaseException:
                self._threads.release()
                raise
        return True

    def release(self) -> None:
        if self._path:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()

    def _file(self) -> int:
        """The lock file, opened once per process (a forked child opens its own: flock
        locks belong to an open file, which a fork would share with the parent)."""
        if self._fd < 0 or self._pid != os.getpid():
            assert self._path is not None
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
