"""Is the database the store opened still there, and can it be written? And storage failures
said once a minute with counts, not once a request.

A SQLite file deleted under a running gateway keeps working through the descriptors already
open: commits land in an unlinked inode and vanish with the process. A file made immutable
(`chattr +i`) or put on a read-only filesystem fails its writes, and its memory-mapped -shm
file kills the process with SIGBUS on the next write into the mapping. So the store remembers
which files (device and inode) it opened and looks at them by path, without opening them
(closing any descriptor of a SQLite file drops the process's POSIX locks on it), before every
transaction and after every enqueue commit: a record committed into a file that is gone is
refused, never acknowledged. The checks are a stat and an access() per file, a few
microseconds.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading

from gateway.clock import NS_PER_SECOND, Clock
from gateway.errors import StorageCorrupt, StorageError, StorageUnavailable
from gateway.store import _engine
from gateway.store._engine import file_uri

log = logging.getLogger("logsieve.store")
FILE_SUFFIXES = ("", "-wal", "-shm")  # the database, its write-ahead log, its shared memory
MARKER_SUFFIX = "-writer.lock"  # left beside the database by every run that wrote to it
SQLITE_FULL, SQLITE_READONLY = 13, 8
PG_DISK_FULL, PG_READ_ONLY = "53100", "25006"
GONE = "refusing records: what it held since the gateway started is gone with it; restart"
UNWRITABLE = "refusing records until it can be written again"


class StorageRefused(StorageUnavailable):
    """The store will not touch its database: the file is gone, replaced or not writable.
    Said once, in one log line, when it was first seen; `logged` tells the callers not to
    repeat it."""

    logged = True


_Identity = tuple[int, int]  # (device, inode): which file a path names


class StorageHealth:
    """The SQLite files a store opened and what became of them (no files: PostgreSQL or an
    in-memory SQLite, where only the failures of writes are noted).

    `follower`: the store of a child process of `logsieve run`, or a second store in one
    process. The leading store created the file and reports what happens to it, so a follower
    neither creates a missing database nor logs the trouble again.
    """

    def __init__(self, path: str | None, follower: bool = False) -> None:
        self._path = path
        self._follower = follower
        self._identities: dict[str, _Identity] = {}
        self._anchor: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._reported: str | None = None
        self.write_failure: str | None = None  # "disk full" or "read-only" until a write works

    def adopt(self) -> None:
        """On first use: open (or create) the file, keep one connection open for the store's
        life, so that SQLite never deletes the -wal and -shm files it would remove on the last
        close, and remember the three files' identities."""
        if self._identities or self._path is None:
            return
        with self._lock:
            if not self._identities:
                self._identities = self._adopt(self._path)

    def _adopt(self, path: str) -> dict[str, _Identity]:
        try:
            anchor = self._open_anchor(path, _engine.BUSY_TIMEOUT_MS / 1000)
        except sqlite3.OperationalError as exc:  # locked, missing, no permission
            raise StorageUnavailable(f"cannot open the database {path}: {exc}") from exc
        except sqlite3.DatabaseError as exc:  # not a database at all
            raise StorageCorrupt(f"cannot open the database {path}: {exc}") from exc
        try:
            identities = {name: _identity(name) for name in (path + s for s in FILE_SUFFIXES)}
        except OSError as exc:
            anchor.close()
            raise StorageUnavailable(f"cannot open the database {path}: {exc}") from exc
        self._anchor = anchor
        return identities

    def _open_anchor(self, path: str, busy_timeout_s: float) -> sqlite3.Connection:
        missing = not os.path.exists(path)
        if missing and os.path.exists(path + MARKER_SUFFIX):
            if self._follower:  # the leader runs on a file that was deleted: never a new one
                raise StorageRefused(f"storage: {path} was deleted")
            log.warning(
                "storage: %s does not exist, but an earlier run used it (%s is there): "
                "what it held is gone; starting with an empty database",
                path,
                path + MARKER_SUFFIX,
            )
        mode = "rwc" if missing and not self._follower else "rw"
        uri = file_uri(path, mode)
        anchor = sqlite3.connect(uri, uri=True, timeout=busy_timeout_s, check_same_thread=False)
        try:
            anchor.execute("PRAGMA journal_mode=WAL")  # a new file becomes WAL; makes -wal, -shm
            anchor.execute("SELECT count(*) FROM sqlite_master").fetchall()
        except BaseException:
            anchor.close()
            raise
        return anchor

    def check(self) -> None:
        """Raise StorageRefused if the files are gone, replaced or unwritable (logged once)."""
        problem = self.file_problem()
        if problem is not None:
            raise StorageRefused(problem)

    def file_problem(self) -> str | None:
        """What happened to the files, or None; logs one line each time the answer changes."""
        if not self._identities:
            return None
        problem = next(filter(None, map(_problem, self._identities.items())), None)
        if problem != self._reported:
            self._report(problem)
        return problem

    def _report(self, problem: str | None) -> None:
        with self._lock:
            if problem == self._reported:
                return
            self._reported = problem
        if self._follower:
            return
        if problem is not None:
            log.error("%s; %s", problem, UNWRITABLE if "cannot be written" in problem else GONE)
        else:
            log.warning("storage: %s can be written again; taking records", self._path)

    def problem(self) -> str | None:
        """What /readyz shows: the files' trouble, else the last write's, else None."""
        return self.file_problem() or self.write_failure

    def wrote(self) -> None:
        self.write_failure = None

    def failed(self, error: StorageError) -> None:
        """Note a write refused for want of space or permission (not a busy lock)."""
        kind = write_refusal(error)
        if kind is not None:
            self.write_failure = f"storage: {kind}"

    def close(self) -> None:
        """Close the kept connection, unless the files are in trouble: the last close
        checkpoints into the file (SIGBUS on an immutable -shm) and unlinks -wal and -shm by
        name (perhaps another database's by now). The process's exit lets them go instead."""
        anchor, self._anchor = self._anchor, None
        if anchor is not None and self.file_problem() is None:
            anchor.close()


def _identity(name: str) -> _Identity:
    found = os.stat(name)
    return (found.st_dev, found.st_ino)


def _problem(item: tuple[str, _Identity]) -> str | None:
    # Each look at the file may find it gone: it can be deleted between two of them.
    name, opened = item
    try:
        now = os.stat(name)
        if (now.st_dev, now.st_ino) != opened:
            return f"storage: {name} was replaced by another file while the gateway ran"
        if not os.access(name, os.W_OK):
            return f"storage: {name} cannot be written: {_why_unwritable(name)}"
    except FileNotFoundError:
        return f"storage: {name} was deleted while the gateway ran"
    except OSError as exc:
        return f"storage: {name} cannot be reached: {exc.strerror}"
    return None


def _why_unwritable(name: str) -> str:
    if os.statvfs(name).f_flag & os.ST_RDONLY:
        return "its filesystem is read-only"
    if os.geteuid() == 0:  # root passes permission bits: only an attribute stops it
        return "it is immutable or append-only (chattr)"
    return "its permissions no longer let this user write it"


def write_refusal(error: BaseException) -> str | None:
    """ "disk full" or "read-only" when a driver error says so (SQLite's result code,
    PostgreSQL's SQLSTATE), else None."""
    cause = error.__cause__
    driver = getattr(cause, "orig", cause)
    code = getattr(driver, "sqlite_errorcode", None)
    state = getattr(driver, "sqlstate", None)
    if state == PG_DISK_FULL or (code is not None and code & 0xFF == SQLITE_FULL):
        return "disk full"
    if state == PG_READ_ONLY or (code is not None and code & 0xFF == SQLITE_READONLY):
        return "read-only"
    return None


class FailureLog:
    """One line at the first failure, then at most one a minute with how many failed since,
    and one when it works again: never a line (or a traceback) a request or a second.
    Failures the store already said (StorageRefused) are only counted."""

    def __init__(
        self, what: str, clock: Clock, logger: logging.Logger, interval_s: float = 60.0
    ) -> None:
        self._what = what
        self._clock = clock
        self._log = logger
        self._interval_ns = int(interval_s * NS_PER_SECOND)
        self._lock = threading.Lock()
        self._failing = False
        self._unsaid = 0  # failures since the last line
        self._total = 0  # failures since it last worked
        self._next_line_ns = 0

    def failed(self, error: BaseException) -> None:
        now = self._clock.now_ns()
        with self._lock:
            self._unsaid += 1
            self._total += 1
            first, self._failing = not self._failing, True
            if not first and now < self._next_line_ns:
                return
            count, self._unsaid = self._unsaid, 0
            self._next_line_ns = now + self._interval_ns
        if first and not getattr(error, "logged", False):
            self._log.warning(
                "%s failed: %s (next: one line a minute while it fails)", self._what, error
            )
        elif not first:
            self._log.warning(
                "%s failed %d times in the last minute (%d since it last worked): %s",
                self._what,
                count,
                self._total,
                error,
            )

    def succeeded(self) -> None:
        if not self._failing:  # the common case: one attribute read
            return
        with self._lock:
            total, self._failing, self._unsaid, self._total = self._total, False, 0, 0
        self._log.warning("%s works again after %d failures", self._what, total)
