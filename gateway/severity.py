"""OTel severity bands: numbers 1-24 in six bands of four, names from severity_text."""

from __future__ import annotations

UNSPECIFIED = "UNSPECIFIED"
BANDS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
# Rank used by `severity_at_least`: UNSPECIFIED ranks below every band.
RANK = {UNSPECIFIED: 0, **{name: i + 1 for i, name in enumerate(BANDS)}}

# Names producers put in severity_text, beyond the band names themselves.
_TEXT_ALIASES = {
    "WARNING": "WARN",
    "ERR": "ERROR",
    "CRITICAL": "FATAL",
    "CRIT": "FATAL",
    "EMERGENCY": "FATAL",
    "ALERT": "FATAL",
    "NOTICE": "INFO",
    "INFORMATION": "INFO",
}
# First number of each band, used when only a name is known.
BAND_FIRST_NUMBER = {name: 1 + 4 * i for i, name in enumerate(BANDS)}
MAX_NUMBER = 24
# The first number of the ERROR band: drop policies spare ERROR and above.
ERROR_NUMBER = BAND_FIRST_NUMBER["ERROR"]


def is_number(number: int) -> bool:
    """Whether `number` is a valid severity_number (1-24; 0 is UNSPECIFIED)."""
    return 1 <= number <= MAX_NUMBER


def band(number: int, text: str) -> str:
    """The band of a record: from its number when 1-24, else from its text, else UNSPECIFIED."""
    if is_number(number):
        return BANDS[(number - 1) // 4]
    return band_from_text(text)


def band_from_text(text: str) -> str:
    name = text.strip().upper()
    # "INFO2" and "ERROR4" are the spec's short names for numbers inside a band.
    stripped = name.rstrip("1234")
    if stripped in RANK and stripped != UNSPECIFIED:
        return stripped
    return _TEXT_ALIASES.get(name, UNSPECIFIED)


def effective_number(number: int, text: str) -> int:
    """A severity number for a record: its own when valid, else its text's band's first."""
    if is_number(number):
        return number
    return BAND_FIRST_NUMBER.get(band_from_text(text), 0)
