"""gateway/text.py: log text made printable, durations in words."""

from __future__ import annotations

import pytest

from gateway.text import human_duration, printable


@pytest.mark.parametrize(
    ("seconds", "long", "short"),
    [
        (0, "0 seconds", "0 s"),
        (1, "1 second", "1 s"),
        (119, "119 seconds", "119 s"),
        (120, "2 minutes", "2 min"),
        (3600, "60 minutes", "60 min"),
        (5400, "90 minutes", "90 min"),
        (7199, "119 minutes", "119 min"),
        (7200, "2 hours", "2 h"),
        (3 * 86_400, "3 days", "3 d"),
        (-5, "0 seconds", "0 s"),
    ],
)
def test_a_duration_is_the_largest_unit_that_fits_twice(
    seconds: int, long: str, short: str
) -> None:
    assert human_duration(seconds) == long
    assert human_duration(seconds, short=True) == short


def test_control_characters_become_visible_escapes() -> None:
    assert printable("red \x1b[31mALERT\x1b[0m\r\nnext\x7f\x85") == (
        "red \\x1b[31mALERT\\x1b[0m\\r\\nnext\\x7f\\x85"
    )
    assert printable("plain text, ünïcödé and tabs\t") == "plain text, ünïcödé and tabs\\t"
