"""A token bucket per client address: for the untrusted producers (browser pages), and for
wrong viewer tokens. A core module (it needs only the clock), so the viewer may use it."""

from __future__ import annotations

import threading
from collections import OrderedDict

from gateway.clock import NS_PER_SECOND, Clock

MAX_TRACKED = 10_000  # addresses remembered; the least recently seen are forgotten first


class RateLimiter:
    def __init__(
        self, clock: Clock, per_second: float, burst: int, max_tracked: int = MAX_TRACKED
    ) -> None:
        self._clock = clock
        self._rate = per_second
        self._burst = float(burst)
        self._max_tracked = max_tracked
        self._buckets: OrderedDict[str, tuple[float, int]] = OrderedDict()  # tokens, at ns
        self._lock = threading.Lock()

    def wait_s(self, key: str) -> float:
        """0 when `key` may send now (a token is taken), else seconds until it may."""
        now = self._clock.now_ns()
        with self._lock:
            tokens = self._refilled(key, now)
            self._keep(key, tokens - 1.0 if tokens >= 1.0 else tokens, now)
        return self._wait_s(tokens)

    def blocked_s(self, key: str) -> float:
        """0 when `key` has a token left (none is taken), else seconds until it has one.
        Remembers nothing: asking costs no memory, only spend() does."""
        now = self._clock.now_ns()
        with self._lock:
            return self._wait_s(self._refilled(key, now))

    def spend(self, key: str) -> float:
        """Take a token from `key` (for a failure); returns blocked_s() after it."""
        now = self._clock.now_ns()
        with self._lock:
            tokens = max(0.0, self._refilled(key, now) - 1.0)
            self._keep(key, tokens, now)
        return self._wait_s(tokens)

    def tracked(self) -> int:
        """How many addresses are remembered (at most `max_tracked`)."""
        with self._lock:
            return len(self._buckets)

    def _refilled(self, key: str, now: int) -> float:
        tokens, at = self._buckets.get(key, (self._burst, now))
        return min(self._burst, tokens + (now - at) / NS_PER_SECOND * self._rate)

    def _keep(self, key: str, tokens: float, now: int) -> None:
        self._buckets.pop(key, None)  # to the end: the most recently seen
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self._max_tracked:
            self._buckets.popitem(last=False)

    def _wait_s(self, tokens: float) -> float:
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self._rate
