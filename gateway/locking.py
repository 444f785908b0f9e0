"""One processing component per SQLite file: an advisory lock beside the database."""

from __future__ import annotations

import fcntl
from typing import IO

from gateway.errors import StorageError


def exclusive_lock(path: str) -> IO[bytes]:
    """Hold an exclusive lock on `path` for as long as the returned file stays open."""
    handle = open(path, "ab")  # noqa: SIM115 - the caller keeps it open as the lock
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise StorageError(
            f"another gateway is processing this SQLite database ({path} is locked); "
            "use PostgreSQL to run several processing components on one queue"
        ) from None
    return handle
