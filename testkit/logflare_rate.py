"""Logflare's rate accounting as the fake Logflare (testkit/logflare.py) keeps it: what its
x-rate-limit-* headers report and, when asked, a source rate it enforces with 429s.

Not thread-safe on purpose: the fake calls it under its condition lock, which also guards what
the tests read (events, requests, quota_refusals), so a count and its request agree."""

from __future__ import annotations

from gateway.clock import NS_PER_SECOND

USER_LIMIT, SOURCE_LIMIT = 9_000, 1_500  # 60 x the default ev/s quotas, as Logflare reports
MINUTE_NS = 60 * NS_PER_SECOND  # Logflare's quota bucket


class Quota:
    """Events accepted per clock minute, reported and never enforced (Logflare's default
    quotas are far above what tests send); with `source_rate`, also events per fixed window
    of `window_s` seconds, enforced: at most round(source_rate x window_s) per window."""

    def __init__(self, source_rate: int | None = None, window_s: float = 1.0) -> None:
        if source_rate is not None and source_rate < 0:
            raise ValueError(f"source_rate must be >= 0 events/s, not {source_rate}")
        if window_s <= 0:
            raise ValueError(f"rate_window_s must be > 0 seconds, not {window_s}")
        self._per_minute: dict[int, int] = {}
        self._window_ns = max(1, round(window_s * NS_PER_SECOND))
        self.limit = None if source_rate is None else round(source_rate * window_s)
        self._per_window: dict[int, int] = {}  # enforced windows by index; fixed, not sliding

    def admit(self, at_ns: int, events: int) -> tuple[bool, dict[str, str]]:
        """Whether a request of `events` events at `at_ns` fits the source rate (it is counted
        only if so: a refused request stores nothing), and the headers to answer it with."""
        if self.limit is None:
            return True, rate_headers(self._count(self._per_minute, at_ns // MINUTE_NS, events))
        window = at_ns // self._window_ns
        admitted = self._per_window.get(window, 0) + events <= self.limit
        used = self._count(self._per_window, window, events if admitted else 0)
        minute_used = self._count(self._per_minute, at_ns // MINUTE_NS, events if admitted else 0)
        return admitted, rate_headers(minute_used, source=(self.limit, used))

    @staticmethod
    def _count(counts: dict[int, int], key: int, events: int) -> int:
        counts[key] = used = counts.get(key, 0) + events
        return used


def rate_headers(used: int, source: tuple[int, int] | None = None) -> dict[str, str]:
    """The four x-rate-limit-* headers; `used` counts against both limits unless `source`
    gives the source's own (limit, used)."""
    source_limit, source_used = source or (SOURCE_LIMIT, used)
    return _scope("user", USER_LIMIT, used) | _scope("source", source_limit, source_used)


def _scope(scope: str, limit: int, used: int) -> dict[str, str]:
    return {
        f"x-rate-limit-{scope}_limit": str(limit),
        f"x-rate-limit-{scope}_remaining": str(max(0, limit - used)),
    }


def max_in_window(sent: list[tuple[int, int]], window: int) -> int:
    """The most events in any `window` ns of (time, events) pairs, sorted in place (the
    two-pointer sweep): what a budget of events per window is checked against."""
    sent.sort()
    most = total = start = 0
    for at, count in sent:
        total += count
        while sent[start][0] <= at - window:
            total -= sent[start][1]
            start += 1
        most = max(most, total)
    return most
