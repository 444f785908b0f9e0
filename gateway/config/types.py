"""Shared pieces of the config models: the base model, durations, endpoints."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_ENDPOINT = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):(\d{1,5})$")


def parse_duration(value: object) -> float:
    """'500ms', '10s', '60m', '1h' -> seconds. Bare numbers are refused: the unit is the point."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(
            f"invalid duration {value!r}: use a number and a unit, as 500ms, 10s, 60m, 1h"
        )
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"duration {value!r} must be greater than zero")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


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
