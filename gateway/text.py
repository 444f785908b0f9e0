"""Text for people: log text with its control characters made visible, durations in words."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# (long name, short name, seconds), largest first
_UNITS = (("day", "d", 86_400), ("hour", "h", 3_600), ("minute", "min", 60), ("second", "s", 1))


def printable(text: str) -> str:
    """`text` with every control character shown as an escape (`\\x1b`, `\\n`): log text is
    attacker text, and a terminal or a log line must not be driven or split by it."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def human_duration(seconds: int, short: bool = False) -> str:
    """45 seconds, 119 minutes, 2 hours, 3 days: the largest unit that fits twice ("90 seconds"
    says more than "1 minute"), in whole units rounded down; `short`: 45 s, 119 min, 2 h, 3 d."""
    seconds = max(0, seconds)
    long, abbreviation, size = next(u for u in _UNITS if seconds >= 2 * u[2] or u[2] == 1)
    count = seconds // size
    if short:
        return f"{count} {abbreviation}"
    return f"{count} {long}" if count == 1 else f"{count} {long}s"
