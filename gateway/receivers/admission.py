"""Admission: what the receiver does when the queue is full.

The queue is bounded by `queue.max_records`. Past it, by `queue.when_full`:
  refuse                UNAVAILABLE with a RetryInfo delay derived from how fast the queue
                        drains, so OTel SDKs back off and retry (nothing is accepted, nothing lost)
  drop_lowest_severity  first delete the oldest queued records below ERROR (counted and logged),
                        then accept; refuse as above when only ERROR and above are left

Depth is estimated from the queue's id extent (two index probes, refreshed at most every
`refresh_s`) plus what this process enqueued since: exact for SQLite's contiguous ids, an
over-estimate by in-flight claims on PostgreSQL, so the bound errs on the safe side.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from gateway import severity
from gateway.clock import NS_PER_SECOND, Clock
from gateway.config.settings import QueueConfig
from gateway.store import Store

log = logging.getLogger("logsieve.admission")
DROP_HEADROOM = 0.05  # a drop frees this share of max_records, so drops come in few big steps
MIN_RETRY_S, MAX_RETRY_S, UNKNOWN_DRAIN_RETRY_S = 1.0, 30.0, 5.0


@dataclass(frozen=True, slots=True)
class Decision:
    accept: bool
    retry_after_s: float = 0.0  # when refused
    dropped: int = 0  # records dropped to make room


class QueueGauge:
    """An estimate of the queue's depth and of how fast the batch stage drains it."""

    def __init__(self, store: Store, clock: Clock, refresh_s: float) -> None:
        self._store, self._clock = store, clock
        self._refresh_ns = int(refresh_s * NS_PER_SECOND)
        self._lock = threading.Lock()
        self._seen_at = -self._refresh_ns
        self._low = self._high = 0
        self._since = 0  # records this process enqueued after the last refresh
        self.drain_per_s = 0.0

    def depth(self) -> int:
        with self._lock:
            now = self._clock.now_ns()
            if now - self._seen_at >= self._refresh_ns:
                self._refresh(now)
            return (self._high - self._low + 1 if self._high else 0) + self._since

    def _refresh(self, now: int) -> None:
        low, high = self._store.queue_extent()
        elapsed_s = (now - self._seen_at) / NS_PER_SECOND
        if self._low and low > self._low and elapsed_s > 0:
            rate = (low - self._low) / elapsed_s  # the head advances as batches finish
            self.drain_per_s = rate if not self.drain_per_s else 0.7 * self.drain_per_s + 0.3 * rate
        self._low, self._high, self._seen_at, self._since = low, high, now, 0

    def added(self, records: int) -> None:
        with self._lock:
            self._since += records

    def forget(self) -> None:
        """Re-read the extent on the next look (after rows were dropped)."""
        with self._lock:
            self._seen_at = -self._refresh_ns


class Admission:
    def __init__(
        self,
        store: Store,
        config: QueueConfig,
        clock: Clock,
        *,
        protect_head: int,
        refresh_s: float = 0.1,
    ) -> None:
        self._store = store
        self._config = config
        self._protect_head = protect_head  # rows at the head that a batch may hold: not dropped
        self.gauge = QueueGauge(store, clock, refresh_s)
        self._drop_lock = threading.Lock()

    def admit(self, records: int) -> Decision:
        """Whether `records` more fit; may drop low-severity records first (by policy)."""
        excess = self.gauge.depth() + records - self._config.max_records
        if excess <= 0:
            return Decision(True)
        if self._config.when_full == "drop_lowest_severity":
            room, dropped = self._make_room(records)
            if room:
                return Decision(True, dropped=dropped)
        return Decision(False, retry_after_s=self._retry_after(excess))

    def _make_room(self, records: int) -> tuple[bool, int]:
        with self._drop_lock:  # one drop at a time; the others re-check the depth after it
            excess = self.gauge.depth() + records - self._config.max_records
            if excess <= 0:
                return True, 0
            wanted = max(excess, int(self._config.max_records * DROP_HEADROOM))
            low, _ = self._store.queue_extent()
            dropped = self._store.drop_lowest_severity(
                wanted, low + self._protect_head, severity.ERROR_NUMBER
            )
            self.gauge.forget()
        total = sum(dropped.values())
        if total:
            by_severity = ", ".join(f"severity {n}: {c}" for n, c in sorted(dropped.items()))
            log.warning(
                "queue full: dropped %d oldest records below ERROR (%s)", total, by_severity
            )
        return total >= excess, total

    def _retry_after(self, excess: int) -> float:
        drain = self.gauge.drain_per_s
        if drain <= 0:
            return UNKNOWN_DRAIN_RETRY_S
        return min(MAX_RETRY_S, max(MIN_RETRY_S, excess / drain))

    def enqueued(self, records: int) -> None:
        self.gauge.added(records)
