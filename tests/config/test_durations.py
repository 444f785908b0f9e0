"""Durations as Go (and so the Collector) writes them, plus `d`: 1h30m, 2m30s, 1.5h, 500ms,
250us, 7d; anything else refused with a message naming the setting."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.config.settings import parse_config
from gateway.config.types import MAX_DURATION_NS, parse_duration
from gateway.errors import ConfigError

UNIT_NS = {
    "ns": 1,
    "us": 10**3,
    "µs": 10**3,
    "μs": 10**3,
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
    "d": 24 * 3600 * 10**9,
}
# The grammar written out once more, independently of the parser's loop: parts that are a
# decimal number and a unit, and nothing else.
DURATION = re.compile(
    r"(?:\s*(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?:ns|us|µs|μs|ms|s|m|h|d))+", re.ASCII
)

# From Go's own table (time_test.go, parseDurationTests), the positive ones: Go and the
# Collector read these the same way.
GO_DURATIONS = [
    ("5s", 5.0),
    ("30s", 30.0),
    ("1478s", 1478.0),
    ("5.0s", 5.0),
    ("5.6s", 5.6),
    ("5.s", 5.0),
    (".5s", 0.5),
    ("1.004s", 1.004),
    ("100.00100s", 100.001),
    ("10ns", 10e-9),
    ("11us", 11e-6),
    ("12µs", 12e-6),
    ("12μs", 12e-6),
    ("13ms", 0.013),
    ("15m", 900.0),
    ("16h", 57_600.0),
    ("3h30m", 12_600.0),
    ("10.5s4m", 250.5),
    ("1h2m3s4ms5us6ns", 3723.004005006),
    ("39h9m14.425s", 140_954.425),
    ("52763797000ns", 52.763797),
    ("9223372036854775807ns", 9_223_372_036.854775807),
]


@pytest.mark.parametrize(("text", "seconds"), GO_DURATIONS)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds, rel=1e-15)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1h30m", 5400.0),
        ("2m30s", 150.0),
        ("1.5h", 5400.0),
        ("500ms", 0.5),
        ("1d", 86_400.0),
        ("7d", 604_800.0),
        ("1d12h", 129_600.0),
        ("10 s", 10.0),  # a space before the unit and between parts: as before, accepted
        ("1h 30m", 5400.0),
    ],
)
def test_compound_durations_and_days(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


GARBAGE = ["", "s", "10", "ten s", "1h30", "1H", "1x", "-1s", "+1s", "1e3s", "1_000s", "1 h h"]
ARABIC_INDIC_ONE = "\u0661"  # a digit to str.isdigit, not to a duration


@pytest.mark.parametrize("text", [*GARBAGE, f"{ARABIC_INDIC_ONE}s"])
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid duration .*: use a number and a unit"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["0s", "0h0m", ".0s"])
def test_zero_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="must be greater than zero"):
        parse_duration(text)


def test_longer_than_go_can_hold_is_refused() -> None:
    assert parse_duration(f"{MAX_DURATION_NS}ns") == MAX_DURATION_NS / 10**9
    with pytest.raises(ValueError, match="longer than 292 years"):
        parse_duration(f"{MAX_DURATION_NS + 1}ns")
    with pytest.raises(ValueError, match="longer than 292 years"):
        parse_duration("106752d")


def test_a_bare_number_is_told_to_give_its_unit() -> None:
    with pytest.raises(ValueError, match=r"invalid duration 10: give its unit, as 10s or 10ms"):
        parse_duration(10)


def test_the_refusal_names_the_setting() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config({"batch": {"interval": "1h30"}, "recent": {"ttl": 3600}}, env={})
    assert raised.value.problems == [
        "batch.interval: invalid duration '1h30': use a number and a unit, "
        "as 500ms, 10s, 1h30m, 1.5h, 7d",
        "recent.ttl: invalid duration 3600: give its unit, as 3600s or 3600ms",
    ]


def test_every_duration_setting_takes_the_go_forms() -> None:
    config = parse_config({"recent": {"ttl": "7d", "purge_interval": "1m30s"}}, env={})
    assert (config.recent.ttl, config.recent.purge_interval) == (604_800.0, 90.0)


numbers = st.one_of(
    st.integers(0, 10**6).map(str),
    st.tuples(st.integers(0, 10**6), st.integers(0, 10**9)).map(lambda p: f"{p[0]}.{p[1]}"),
    st.integers(0, 10**6).map(lambda n: f".{n}"),
)
parts = st.lists(st.tuples(numbers, st.sampled_from(sorted(UNIT_NS))), min_size=1, max_size=4)


@given(parts)
def test_a_sum_of_parts_is_their_exact_sum(chosen: list[tuple[str, str]]) -> None:
    text = "".join(number + unit for number, unit in chosen)
    total = sum(Fraction(number) * UNIT_NS[unit] for number, unit in chosen)
    if len(text) > 64 or not 0 < total <= MAX_DURATION_NS:
        with pytest.raises(ValueError):
            parse_duration(text)
    else:
        assert parse_duration(text) == float(total / 10**9)


@given(st.text(alphabet=st.sampled_from("0123456789.nsuµμmhd -+eH_x\t"), max_size=20))
def test_any_text_is_read_or_refused_with_a_message(text: str) -> None:
    if DURATION.fullmatch(text.strip()):
        try:
            assert parse_duration(text) > 0
        except ValueError as exc:  # the grammar's, but zero
            assert "must be greater than zero" in str(exc)
    else:
        with pytest.raises(ValueError, match="invalid duration"):
            parse_duration(text)


@given(st.text(max_size=30))
def test_arbitrary_text_never_crashes(text: str) -> None:
    try:
        parse_duration(text)
    except ValueError as exc:
        assert str(exc).startswith(("invalid duration", "duration"))
