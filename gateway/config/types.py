"""Shared pieces of the config models: the base model, durations, endpoints."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

# Go's time.ParseDuration (as the Collector's durations), plus d = 24h: one or more
# number-and-unit parts, as 1h30m, 2m30s, 1.5h, 500ms, 250us; spaces between parts allowed.
_DURATION_PART = re.compile(
    r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(ns|us|µs|μs|ms|s|m|h|d)", re.ASCII
)
MAX_DURATION_CHARS = 64  # far past any real one; bounds the arithmetic on pasted garbage
_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 MICRO SIGN, as Go spells it
    "μs": 1_000,  # U+03BC GREEK SMALL LETTER MU, which Go accepts too
    "ms": 1_000_000,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
    "d": 86400 * 10**9,
}
# Go's limit (2^63 - 1 ns, about 292 years), which is also Python's longest wait
# (threading.TIMEOUT_MAX): a longer one cannot be waited for.
MAX_DURATION_NS = 2**63 - 1
_DURATION_HINT = "use a number and a unit, as 500ms, 10s, 1h30m, 1.5h, 7d"


def parse_duration(value: object) -> float:
    """'500ms', '1h30m', '1.5h', '7d' -> seconds. Bare numbers are refused: the unit is the
    point (10 could be seconds or milliseconds). Summed exactly in nanoseconds (as
    fractions), so 1h30m is 5400.0, not 5399.999..."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}: give its unit, as {value}s or {value}ms")
    text = value.strip() if isinstance(value, str) and len(value) <= MAX_DURATION_CHARS else ""
    nanoseconds = _duration_ns(text) if text else None
    if nanoseconds is None:
        raise ValueError(f"invalid duration {value!r}: {_DURATION_HINT}")
    if nanoseconds <= 0:
        raise ValueError(f"duration {value!r} must be greater than zero")
    if nanoseconds > MAX_DURATION_NS:
        raise ValueError(f"duration {value!r} is longer than 292 years: it cannot be waited for")
    return float(nanoseconds / 10**9)


def _duration_ns(text: str) -> Fraction | None:
    """The sum of the (non-empty) text's number-and-unit parts; None unless it is made of
    them alone."""
    total, position = Fraction(0), 0
    while position < len(text):
        part = _DURATION_PART.match(text, position)
        if part is None:
            return None
        total += Fraction(part.group(1)) * _UNIT_NS[part.group(2)]
        position = part.end()
    return total


Duration = Annotated[float, BeforeValidator(parse_duration)]

_ENDPOINT = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):(\d{1,5})$")


def _check_endpoint(value: str) -> str:
    match = _ENDPOINT.match(value)
    if match is None or not 0 <= int(match.group(2)) <= 65535:
        raise ValueError(f"invalid endpoint {value!r}: use host:port, as 127.0.0.1:4317")
    return value


Endpoint = Annotated[str, AfterValidator(_check_endpoint)]


_CONTROL_NAMES = {0x00: "NUL", 0x09: "TAB", 0x0A: "LF", 0x0D: "CR", 0x1B: "ESC", 0x7F: "DEL"}


def refuse_control_characters(value: str, *, ascii_only: bool = False) -> str:
    """A value sent in an HTTP header or URL (a key, a token, a source name): a control
    character there (a newline pasted with it) fails every request, so it is refused here.
    The message names the character, never the value: the value may be a secret.
    `ascii_only`: header values must be ASCII too."""
    for char in value:
        code = ord(char)
        if code < 0x20 or code == 0x7F:
            name = _CONTROL_NAMES.get(code, f"U+{code:04X}")
            raise ValueError(f"contains a control character ({name})")
        if ascii_only and code > 0x7E:
            raise ValueError("contains a non-ASCII character: HTTP headers carry ASCII only")
    return value


class Model(BaseModel):
    """Every config section: unknown keys are errors, and a loaded config never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
