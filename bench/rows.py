"""One row of the bench table, and the verdicts every report module shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Row:
    measurement: str
    result: str
    compared_with: str
    verdict: str
    details: str


def pass_fail(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def failed(measurement: str, value: Any) -> Row | None:
    if isinstance(value, str):  # a skip note or an error message
        return Row(measurement, "—", "—", "SKIP" if value.startswith("skipped") else "ERROR", value)
    return None
