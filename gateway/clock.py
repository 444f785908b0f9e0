"""Time as an argument: every component takes a Clock so tests never sleep."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ns(self) -> int:
        """Wall-clock time in Unix nanoseconds."""
        ...


class SystemClock:
    def now_ns(self) -> int:
        return time.time_ns()


NS_PER_SECOND = 1_000_000_000
