"""Purge: deletes expired recent entries in bounded chunks, so no purge holds a long lock;
and keeps the store's patterns within `batch.patterns.max_patterns`, the least recently seen
going first (counted in logsieve_evicted_patterns)."""

from __future__ import annotations

from gateway.store import Store
from gateway.telemetry.metrics import Metrics


class PurgeJob:
    def __init__(
        self,
        store: Store,
        *,
        chunk_rows: int = 5000,
        max_chunks: int = 200,
        max_patterns: int | None = None,  # None: records are not grouped by pattern
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._chunk_rows = chunk_rows
        self._max_chunks = max_chunks
        self._max_patterns = max_patterns
        self._metrics = metrics

    def run_once(self, now: int) -> int:
        """Delete expired entries, a chunk per transaction; returns how many were deleted."""
        total = 0
        for _ in range(self._max_chunks):
            deleted = self._store.purge_expired(now, self._chunk_rows)
            total += deleted
            if deleted < self._chunk_rows:
                break
        if self._metrics is not None:
            self._metrics.purged.inc(total)
        self._evict_patterns()
        return total

    def _evict_patterns(self) -> None:
        if self._max_patterns is None:
            return
        evicted = self._store.evict_patterns(self._max_patterns)
        if self._metrics is not None:
            self._metrics.evicted_patterns.inc(evicted)
