"""gateway/severity.py: the six OTel bands, from a number or from a producer's severity_text."""

from __future__ import annotations

import pytest

from gateway import severity
from gateway.severity import (
    BANDS,
    ERROR_NUMBER,
    MAX_NUMBER,
    RANK,
    UNSPECIFIED,
    band,
    band_from_text,
    effective_number,
    is_number,
)


def test_the_constants_are_the_specifications_numbers() -> None:
    assert ERROR_NUMBER == 17
    assert MAX_NUMBER == 24
    assert BANDS == ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
    assert severity.BAND_FIRST_NUMBER == {
        "TRACE": 1,
        "DEBUG": 5,
        "INFO": 9,
        "WARN": 13,
        "ERROR": 17,
        "FATAL": 21,
    }


def test_rank_puts_unspecified_below_every_band_and_the_bands_in_order() -> None:
    assert sorted(RANK, key=RANK.__getitem__) == [UNSPECIFIED, *BANDS]
    assert RANK[UNSPECIFIED] == 0
    assert [RANK[name] for name in BANDS] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("number", "valid"), [(-1, False), (0, False), (1, True), (17, True), (24, True), (25, False)]
)
def test_is_number_takes_1_to_24_only(number: int, valid: bool) -> None:
    assert is_number(number) is valid


def test_every_number_falls_in_its_band_of_four() -> None:
    bands = [band(number, "") for number in range(1, MAX_NUMBER + 1)]
    assert bands == [name for name in BANDS for _ in range(4)]


def test_a_valid_number_wins_over_the_text() -> None:
    assert band(9, "ERROR") == "INFO"
    assert band(21, "debug") == "FATAL"


@pytest.mark.parametrize(("number", "text"), [(0, "warning"), (25, "WARN"), (-3, "Warn")])
def test_without_a_valid_number_the_text_decides(number: int, text: str) -> None:
    assert band(number, text) == "WARN"


def test_no_number_and_no_text_is_unspecified() -> None:
    assert band(0, "") == UNSPECIFIED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TRACE", "TRACE"),
        ("debug", "DEBUG"),
        ("  Info  ", "INFO"),  # case and surrounding blanks do not matter
        ("fatal", "FATAL"),
        # The specification's short names for numbers inside a band.
        ("INFO2", "INFO"),
        ("ERROR4", "ERROR"),
        ("trace3", "TRACE"),
        ("WARN1", "WARN"),
        # What producers write beyond the band names.
        ("WARNING", "WARN"),
        ("err", "ERROR"),
        ("CRITICAL", "FATAL"),
        ("crit", "FATAL"),
        ("Emergency", "FATAL"),
        ("ALERT", "FATAL"),
        ("notice", "INFO"),
        ("Information", "INFO"),
    ],
)
def test_band_from_text_knows_band_names_short_names_and_aliases(text: str, expected: str) -> None:
    assert band_from_text(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "verbose", "INFO5", "UNSPECIFIED", "unspecified2"])
def test_band_from_text_of_an_unknown_name_is_unspecified(text: str) -> None:
    assert band_from_text(text) == UNSPECIFIED


@pytest.mark.parametrize(
    ("number", "text", "expected"),
    [
        (5, "ERROR", 5),  # its own number, when valid
        (24, "", 24),
        (0, "ERROR", 17),  # else the first number of its text's band
        (0, "warning", 13),
        (0, "INFO3", 9),
        (30, "fatal", 21),
        (0, "", 0),  # else unspecified
        (-1, "whatever", 0),
    ],
)
def test_effective_number(number: int, text: str, expected: int) -> None:
    assert effective_number(number, text) == expected
