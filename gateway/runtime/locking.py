"""One processing component per SQLite file: an advisory lock beside the database."""

from __future__ import annotations

import fcntl
import os
from typing import IO

from gateway.errors import StorageError

INHERITED_LOCK_VARIABLE = "LOGSIEVE_PROCESSING_LOCK_FD"


def exclusive_lock(path: str) -> IO[bytes]:
    """Hold an exclusive lock on `path` for as long as the returned file stays open.

    A batch child is handed its parent's lock (the same open file, so it already
    holds it): the parent keeps it while children come and go.
    """
    inherited = os.environ.get(INHERITED_LOCK_VARIABLE)
    # The caller keeps the file open as the lock.
    handle = os.fdopen(int(inherited), "ab") if inherited else open(path, "ab")  # noqa: SIM115
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise StorageError(
            f"another gateway is processing this SQLite database ({path} is locked); "
            "use PostgreSQL to run several processing components on one queue"
        ) from None
    return handle
