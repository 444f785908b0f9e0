"""GET /logs/patterns: the Patterns view's top patterns of the window, as JSON.

Each page with the view open asks every few seconds; the answer is read once and shared for
FRESH_NS, so however many pages ask, the store sees one read of the window per FRESH_NS. Ids
are 16 hex digits and record counts decimal strings, as on the stream (JavaScript numbers stop
at 2**53); the per-minute counts are plain numbers, for drawing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

from gateway.clock import NS_PER_SECOND, Clock
from gateway.model import pattern_hex
from gateway.store import Store, WindowPattern

MAX_PATTERNS = 50  # the view's list: the top of the window, not a catalogue
MINUTES = 60  # the sparkline's span
MINUTE_NS = 60 * NS_PER_SECOND
FRESH_NS = 2 * NS_PER_SECOND


class TopPatterns:
    """The window's top patterns as JSON, read from `store` at most once per FRESH_NS."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()  # pages asking at once wait for one read
        self._read_at: int | None = None
        self._json = ""

    def json(self) -> str:
        """The answer; raises StorageError when the store cannot be read."""
        with self._lock:
            now = self._clock.now_ns()
            if self._read_at is None or not 0 <= now - self._read_at < FRESH_NS:
                found = self._store.window_patterns(now, MAX_PATTERNS, MINUTES)
                self._json = patterns_json(found, now)
                self._read_at = now
            return self._json


def patterns_json(found: Sequence[WindowPattern], now: int) -> str:
    first_minute_ms = (now // MINUTE_NS - MINUTES + 1) * MINUTE_NS // 1_000_000
    answer = {
        "minutes": MINUTES,
        "firstMinuteUnixMs": first_minute_ms,  # when the sparkline's first minute began
        "patterns": [_pattern(pattern) for pattern in found],
    }
    return json.dumps(answer, separators=(",", ":"))


def _pattern(pattern: WindowPattern) -> dict[str, Any]:
    return {
        "id": pattern_hex(pattern.id),  # the stream filter's id
        "template": pattern.template,
        "count": str(pattern.count),
        "severities": list(pattern.severities),
        "services": list(pattern.services),
        "serviceCount": pattern.service_count,
        "perMinute": list(pattern.per_minute),
    }
