"""The terms of the live page's search, and where each finds its values in an entry.

A term reads an entry through `values(name)`: the message ("body"), the severity band
("level"), or what viewer.fields.field_values gives for any other name (the services, the
pattern id, trace and span ids, scope, resource then record attributes), as text. The page
(viewer/static/js/query-match.js) reads the same values from the entry's JSON, so that both
agree on every entry; numbers are compared as numbers wherever a value reads as one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from gateway import severity
from gateway.model import Entry
from viewer import query_regex
from viewer.fields import field_values

# An entry's values of a field, as text: numbers as their digits, booleans as true or false.
Values = Callable[[str], list[str]]
Test = Callable[[Values], bool]

# The fields an entry has of its own; any other name is an attribute.
BUILTIN = {
    "body": "body",
    "message": "body",
    "msg": "body",
    "level": "level",
    "severity": "level",
    "service": "service",
    "service.name": "service",
    "pattern": "pattern",
    "trace_id": "trace_id",
    "span_id": "span_id",
    "scope": "scope",
}
LEVEL_ALIASES = {"WARNING": "WARN", "ERR": "ERROR", "CRITICAL": "FATAL", "CRIT": "FATAL"}
NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
PATTERN_ID = re.compile(r"[0-9a-fA-F]{16}")
COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


class QueryError(ValueError):
    """A query the server refuses; the message is what the page shows under the search box."""


@dataclass(frozen=True, slots=True)
class Term:
    """A term as written: `field` ("" for the message), `op` ("" or a comparison), `kind`
    (word, phrase or regex), its text, the regex's flags, and where it starts (0-based)."""

    field: str
    op: str
    kind: str
    value: str
    flags: str
    at: int

    def shown(self) -> str:
        prefix = f"{self.field}:{self.op}" if self.field else ""
        if self.kind == "regex":
            return f"{prefix}/{self.value}/{self.flags}"
        return prefix + (f'"{self.value}"' if self.kind == "phrase" else self.value)


def compile_term(term: Term) -> Test:
    """The test of one term; QueryError when it cannot mean anything."""
    name = BUILTIN.get(term.field.lower(), term.field) if term.field else "body"
    if term.kind == "regex":
        return _regex_test(term, name)
    if name == "body":
        if term.op:
            raise _error(term, 'the message takes words, "phrases" or /regexes/, not ' + term.op)
        needle = term.value.lower()
        return lambda values: any(needle in v.lower() for v in values("body"))
    if name == "level":
        return _level_test(term)
    plain = not term.op and "*" not in term.value
    if name == "pattern" and plain and not PATTERN_ID.fullmatch(term.value):
        raise _error(term, "a pattern id is 16 hex digits")
    return _value_test(term, name)


def _error(term: Term, text: str) -> QueryError:
    return QueryError(f"{term.shown()[:60]} (character {term.at + 1}): {text}")


def _regex_test(term: Term, name: str) -> Test:
    if term.op:  # the lexer reads a comparison's value as a word: never reached
        raise _error(term, "a comparison needs a number")
    try:
        regex = query_regex.compile_regex(term.value, "i" in term.flags)
    except query_regex.RegexError as exc:
        raise _error(term, str(exc)) from None
    return lambda values: any(regex.search(v) for v in values(name))


def _level_test(term: Term) -> Test:
    if term.kind == "word" and "*" in term.value:
        if term.op:
            raise _error(term, "a comparison needs a level, as in level:>=warn")
        return _value_test(term, "level")
    band = level_band(term.value)
    if band is None:
        raise _error(term, "not a level: trace, debug, info, warn, error or fatal")
    if not term.op:
        return lambda values: band in values("level")
    compare, rank = COMPARE[term.op], severity.RANK[band]
    return lambda values: any(compare(severity.RANK.get(str(v), 0), rank) for v in values("level"))


def level_band(name: str) -> str | None:
    upper = name.upper()
    band = LEVEL_ALIASES.get(upper, upper)
    return band if band in severity.RANK else None


def _value_test(term: Term, name: str) -> Test:
    value = term.value
    if term.op:
        limit = parse_number(value)
        if limit is None:
            raise _error(term, "a comparison needs a number, as in http.status_code:>=500")
        compare = COMPARE[term.op]
        return lambda values: any(_compared(v, compare, limit) for v in values(name))
    if term.kind == "phrase":
        wanted = value.lower()
        return lambda values: any(v.lower() == wanted for v in values(name))
    if value == "*":
        return lambda values: bool(values(name))
    if "*" in value:
        pattern = value.lower()
        return lambda values: any(glob(pattern, v.lower()) for v in values(name))
    return _equal_test(value, name)


def _equal_test(value: str, name: str) -> Test:
    wanted, number = value.lower(), parse_number(value)

    def equal(v: str) -> bool:
        if number is not None and parse_number(v) == number:
            return True
        return v.lower() == wanted

    return lambda values: any(equal(v) for v in values(name))


def _compared(value: str, compare: Callable[[float, float], bool], limit: float) -> bool:
    number = parse_number(value)
    return number is not None and compare(number, limit)


def glob(pattern: str, value: str) -> bool:
    """Whether `value` is `pattern` with each * standing for any run of characters."""
    p = v = 0
    star, mark = -1, 0
    while v < len(value):
        if p < len(pattern) and pattern[p] != "*" and pattern[p] == value[v]:
            p, v = p + 1, v + 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark, p = p, v, p + 1
        elif star >= 0:
            mark += 1
            p, v = star + 1, mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def parse_number(value: str) -> float | None:
    """A plain decimal number (what JSON writes), else None: no 0x, no _, no inf."""
    return float(value) if NUMBER.fullmatch(value) else None


# -- an entry's values -------------------------------------------------------------------


def entry_values(entry: Entry, name: str) -> list[str]:
    """The values of field `name` (a BUILTIN value or an attribute name) in `entry`: the
    message, the band, or what viewer.fields says every filter reads (an entry without a
    service has none, rather than an empty one)."""
    if name == "body":
        return [entry.body]
    if name == "level":
        return [entry.severity or severity.UNSPECIFIED]
    values = field_values(entry, name)
    return [value for value in values if value] if name == "service" else values
