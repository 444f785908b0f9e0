"""A clock for tests and bench: it moves only when told."""

from __future__ import annotations

import threading

from gateway.clock import NS_PER_SECOND


class FakeClock:
    """A clock that moves only when told, so time-dependent code is tested without sleeping."""

    def __init__(self, start_ns: int = 1_767_225_600_000_000_000) -> None:
        self._ns, self._lock = start_ns, threading.Lock()

    def now_ns(self) -> int:
        with self._lock:
            return self._ns

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._ns += round(seconds * NS_PER_SECOND)

    def set(self, ns: int) -> None:
        with self._lock:
            self._ns = ns
