"""Periodic: runs `job(now)` every interval on its own thread until shut down.

A job that fails on the database (a full disk, a file gone) is said in one line, then in one
line a minute with how many runs failed: it retries every interval, and a traceback each
time would bury everything else. Any other exception is a bug: logged with its traceback.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from gateway.clock import Clock
from gateway.errors import StorageError
from gateway.store import FailureLog

log = logging.getLogger("logsieve.scheduler")


class Periodic:
    def __init__(
        self, name: str, interval: float, job: Callable[[int], object], clock: Clock
    ) -> None:
        self.name = name
        self._interval = interval
        self._job = job
        self._clock = clock
        self._failures = FailureLog(name, clock, log)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"logsieve-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def trigger(self) -> None:
        """Run the job now rather than at the end of the current interval."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._wake.wait(self._interval)
            self._wake.clear()

    def run_once(self) -> None:
        """One run of the job; a failure is logged, and the next interval tries again."""
        try:
            self._job(self._clock.now_ns())
        except StorageError as exc:
            self._failures.failed(exc)
            return
        except Exception:
            log.exception("%s failed; retrying in %.1f s", self.name, self._interval)
            return
        self._failures.succeeded()

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop after the run in progress, if any; idempotent."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
