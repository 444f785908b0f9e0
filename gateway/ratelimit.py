"""A token bucket per client address, for the untrusted producers (browser pages)."""

from __future__ import annotations

import threading
from collections import OrderedDict

from gateway.clock import NS_PER_SECOND, Clock

MAX_TRACKED = 10_000  # addresses remembered; the least recently seen are forgotten first


class RateLimiter:
    def __init__(self, clock: Clock, per_second: float, burst: int) -> None:
        self._clock = clock
        self._rate = per_second
        self._burst = float(burst)
        self._buckets: OrderedDict[str, tuple[float, int]] = OrderedDict()  # tokens, at ns
        self._lock = threading.Lock()

    def wait_s(self, key: str) -> float:
        """0 when `key` may send now (a token is taken), else seconds until it may."""
        now = self._clock.now_ns()
        with self._lock:
            tokens, at = self._buckets.pop(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - at) / NS_PER_SECOND * self._rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > MAX_TRACKED:
                self._buckets.popitem(last=False)
        return 0.0 if allowed else (1.0 - tokens) / self._rate
