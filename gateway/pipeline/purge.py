"""Purge: deletes expired recent entries in bounded chunks, so no purge holds a long lock."""

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
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._chunk_rows = chunk_rows
        self._max_chunks = max_chunks
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
        return total
