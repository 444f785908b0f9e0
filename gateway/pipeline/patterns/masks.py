"""Typed variables: one regex finds numbers, addresses, ids, times, ... in a body and puts a
placeholder such as `<IP>` in their place.

Tokenization, decided here for the whole feature:
- The masks run over the whole body first, so a mask may span a space (`Dec  5 14:25:47`,
  `3012 ms`) and becomes one token. Then the masked text splits on whitespace (`str.split`).
- A token keeps its constant parts: `port=5432` -> `port=<NUM>`, `(10.0.0.7:5432)` -> `(<IP>)`,
  `blk_-6952295868487656571` -> `blk_<ID>`, `I0518 14:25:47.123456` -> `I<TS>`. Masks find
  their own edges (look-arounds on letters, digits and dots), so brackets and trailing
  punctuation need no splitting.
- User masks (`extra`) run first, in a pass of their own over the whole body; then one compiled
  alternation of the built-ins, in BUILTIN_MASKS order (at a position where several match, the
  earlier wins). That regex starts every match at the character before it (so the scan skips
  letters and digits in C) and tries, at a position, only the masks that can start there
  (_STARTS). PCRE2's JIT (`pcre`) runs that regex, 2-3 times as fast as `re` on the same
  syntax; `Masker(masks=list(BUILTIN_MASKS))` runs the same masks with `re` as a plain
  alternation and gives the same result (the tests compare them, on random text too). Bodies
  without a digit, a `<` or an 8-hex-letter id skip the scan: no built-in matches them.
- The built-ins run in one C call per body (scan.py): PCRE2's substitute, each mask marking
  itself, writes text and values at once. A body holding a placeholder takes the finditer path.
- A body's text that already reads like a placeholder (`<NUM>`, `<*>`) is masked as itself, so
  every placeholder in a masked token stands for exactly one value.
- Long bodies: only the first MAX_TOKENS tokens (and at most MAX_HEAD_CHARS characters) form the
  template; the rest becomes one `<TAIL>` token whose value is cut to MAX_VALUE_CHARS.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import pcre  # PCRE2 with its JIT: the built-ins' one regex, the same syntax as `re`

from gateway.pipeline.patterns.scan import (
    SEP,
    TOUCHING,
    Masked,
    Start,
    marked_substitute,
    scan,
    scan_many,
)

WILDCARD = "<*>"
TAIL = "<TAIL>"
MAX_TOKENS = 100
MAX_HEAD_CHARS = 2048
MAX_VALUE_CHARS = 256

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_MAY_MATCH = re.compile(r"[\d<]|[_:#.\-][a-fA-F]{8}")  # what every built-in match holds


@dataclass(frozen=True, slots=True)
class Mask:
    """A typed variable: text matching `regex` becomes `<name>`. The regex may use look-arounds
    and named groups; numbered back-references do not survive joining the masks into one."""

    name: str
    regex: str

    @property
    def placeholder(self) -> str:
        return f"<{self.name}>"


_HEX = "[0-9a-fA-F]"
_MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_WEEKDAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
# Whitespace as `str.split` and `re` see it: PCRE2's `\s` leaves out \x1c-\x1f.
_SPACE = r"\s\x1c-\x1f"
_FRACTION = r"(?:[.,]\d+)?"
_ZONE = rf"(?:Z|[{_SPACE}]?[+-]\d{{2}}:?\d{{2}})?"
_V4 = r"(?:\d{1,3}\.){3}\d{1,3}"
_H6 = f"{_HEX}{{1,4}}+"
_V6 = (
    f"(?:{_H6}:){{7}}{_H6}"
    f"|(?:{_H6}(?::{_H6}){{0,5}})?::(?:{_H6}:){{0,4}}{_V4}"
    f"|(?:{_H6}(?::{_H6}){{0,6}})?::(?:{_H6}(?::{_H6}){{0,6}})?"
)
_NUMBER = r"\d++(?:\.\d++)?+"
_TIME_UNIT = (
    "(?:nanoseconds|microseconds|milliseconds|millis|seconds|second|secs|sec|minutes|minute"
    "|mins|min|hours|hour|hrs|hr|days|day|msec|ns|us|µs|μs|ms)"
)
_SIZE_UNIT = "(?:[KMGTPE]iB|[kKMGTPE]B|[KMGT]b|kb|mb|gb|[Bb]ytes|[Bb]yte|bits|bit)"

UUID = Mask(
    "UUID",
    rf"(?<![0-9A-Za-z]){_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}(?![0-9A-Za-z])",
)
TIMESTAMP = Mask(
    "TS",
    # each form starts with 1-4 digits and a separator, or a capital (a weekday or month): a
    # number that is not one fails at once, not in each form in turn
    r"(?<![\w.:])(?=\d{1,4}[-/:]|[A-Z])(?:"
    rf"\d{{4}}[-/]\d{{2}}[-/]\d{{2}}(?:[T ]\d{{2}}:\d{{2}}(?::\d{{2}})?{_FRACTION}{_ZONE})?"
    rf"|(?:{_WEEKDAY},?[{_SPACE}]+)?{_MONTH}[{_SPACE}]+\d{{1,2}}(?:,?[{_SPACE}]+\d{{4}})?"
    rf"[{_SPACE}]+\d{{1,2}}:\d{{2}}:\d{{2}}"
    rf"{_FRACTION}"
    rf"|\d{{1,2}}/{_MONTH}/\d{{4}}:\d{{2}}:\d{{2}}:\d{{2}}(?:[{_SPACE}][+-]\d{{4}})?"
    rf"|\d{{1,2}}/\d{{1,2}}/\d{{4}}"
    rf"|\d{{1,2}}:\d{{2}}:\d{{2}}{_FRACTION}"
    r")(?!\w|[.:]\d)",
)
MAC = Mask(
    "MAC",
    rf"(?<![\w:-])(?={_HEX}{{2}}:)(?=[\w:-]*\d)(?:{_HEX}{{2}}:){{5}}{_HEX}{{2}}(?![\w:-])"
    rf"|(?<![\w:-])(?={_HEX}{{2}}-)(?=[\w:-]*\d)(?:{_HEX}{{2}}-){{5}}{_HEX}{{2}}(?![\w:-])",
)
IPV4 = Mask("IP", rf"(?<![\w.]){_V4}(?::\d{{1,5}})?(?!\w|\.\w)")
IPV6 = Mask(
    "IP",
    rf"(?<![0-9A-Za-z])(?=\[[0-9a-fA-F:.]*\d)\[(?:{_V6})\](?::\d{{1,5}})?"
    # every form has a colon after at most 4 hex digits: a number without one fails at once
    rf"|(?<![\w:.])(?=[0-9a-fA-F:.]*\d)(?=[0-9a-fA-F]{{0,4}}:)(?:{_V6})(?![\w:]|[+\-]\d)",
)
HEX = Mask("HEX", r"(?<![\w.])0[xX][0-9a-fA-F]+(?!\w)")
# Long hex ids (hashes, request ids): at least 8 hex digits with a digit and a letter a-f, or
# 16 or more digits (a 64-bit id that happens to have no letter still reads as one).
HEX_ID = Mask(
    "HEX",
    r"(?<![\w.])(?=[0-9a-fA-F]{8})(?:(?=[0-9a-fA-F]*[a-fA-F])(?=[0-9a-fA-F]*\d)|(?=\d{16}))"
    r"[0-9a-fA-F]{8,}+(?!\w)",
)
DURATION = Mask(
    "DURATION",
    rf"(?<![\w.])(?:{_NUMBER}(?:ms|us|µs|ns|h|m|s|d)){{2,}}(?!\w)"
    rf"|(?<![\w.]){_NUMBER}(?: ?{_TIME_UNIT}|[smhd])(?!\w)",
)
# `384.0 B` as well as `2.4 KB` (Spark), so one size variable masks one way
SIZE = Mask("SIZE", rf"(?<![\w.]){_NUMBER}(?: ?(?:{_SIZE_UNIT}|B)|[BKMGTbk])(?!\w)")
# After a word and a separator: `blk_-123`, `job_12_3`, `user:42`, `req-8f3a`, `req-aabeacef`
# (letters with a digit, or 8 hex letters), `#12`.
ID = Mask(
    "ID",
    r"(?:(?<=[A-Za-z][_:#.-])(?:-?\d|(?=[0-9A-Za-z]*[0-9])[A-Za-z]|(?=[a-fA-F]{8}))|(?<=#)\d)"
    r"[0-9A-Za-z]*"
    r"(?:[_-](?:[A-Za-z]{1,3}[_-])?[0-9A-Za-z]*\d[0-9A-Za-z]*)*",
)
# klog's header `I0518 14:25:47.123456`: the date after the level letter, with the time.
GLOG = Mask(
    "TS",
    r"(?<=[IWEF])(?<![0-9A-Za-z][IWEF])\d{4} \d{2}:\d{2}:\d{2}(?:\.\d+)?(?!\w|[.:]\d)",
)
# A plain number before a space or a closing mark, not an id's digits nor a duration's or
# size's: what NUM would take after every other mask declined, found before trying them.
PLAIN_NUM = Mask(
    "NUM",
    r"(?<![\w.])(?<![A-Za-z][_:#.-])(?<!#)\d{1,15}+(?!\d)(?:\.\d++)?+"
    rf"(?=[{_SPACE})\]}};%\"']|[,.](?!\w)|$)"
    rf"(?! ?(?:{_TIME_UNIT}|{_SIZE_UNIT}|B)(?!\w))",
)
NUM = Mask(
    "NUM",
    r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})++|\d++)(?:\.\d++)?+(?:[eE][-+]?\d++)?+(?!\w|\.\d)",
)

BUILTIN_MASKS: tuple[Mask, ...] = (
    PLAIN_NUM,
    IPV4,
    UUID,
    MAC,
    TIMESTAMP,
    GLOG,
    IPV6,
    HEX,
    ID,
    HEX_ID,
    DURATION,
    SIZE,
    NUM,
)

# Where each built-in can start, always after a character that is not a letter or digit: the
# one regex tries, at a position, only the masks that can start there (in their order). The
# first group that matches wins; the ones before it hold only masks that cannot start later.
# (lookahead, characters the match keeps before the masked text, masks)
_STARTS: tuple[tuple[str, str, tuple[Mask, ...]], ...] = (
    # after `_` or `.` only these can start (`blk_-123`, `job_12`, `x.<uuid>`)
    (r"(?<=[_.])(?=[+\-]?\d|[A-Za-z])", "", (UUID, MAC, ID)),
    (r"(?<![_.])(?=[+\-]?\d)", "", BUILTIN_MASKS),
    (rf"(?=[JFMASONDTW][a-z]{{2}}[{_SPACE},])", "", (TIMESTAMP,)),  # a month or weekday
    (r"(?<![A-Za-z][_:#.\-])(?=[IWEF]\d{4} \d)", "[IWEF]", (GLOG,)),  # the level letter stays
    (
        r"(?=[a-fA-F][0-9a-fA-F]{0,3}:|[a-fA-F][0-9a-fA-F]-|[a-fA-F][0-9a-fA-F]{7}"
        r"|[:\[][0-9a-fA-F:]|(?<=[A-Za-z][:#-])(?:[A-Za-z][0-9A-Za-z]*[0-9]|[a-fA-F]{8}))",
        "",
        (UUID, MAC, IPV6, ID, HEX_ID),
    ),
)

# Before trying the groups: a character some group can start at, or an id's place.
_MAY_START = r"[\d+\-\[:a-fA-FJMASONDTWI]"
_ANY_START = rf"(?:(?={_MAY_START})|(?<=[A-Za-z][_:#.\-])|(?<=<))"
# In a text masked without values: an IP right before a character a match may start at, where
# the fast regex may have missed one (scan.TOUCHING; nor the `_:#.-` nor the `<` of the other
# starts can end an IP value).
_TOUCHED = re.compile(rf"<IP>{_MAY_START}")


def _may_touch(text: str, body: str) -> bool:
    """Whether a body masked without its values (to `text`) may hold an IP value that ends in
    `]` or `:` right before another (scan.TOUCHING): an IPv6 address ends so only in brackets
    or in `::`, and the next value starts where `_TOUCHED` finds it."""
    return "<IP>" in text and ("]" in body or "::" in body) and _TOUCHED.search(text) is not None


class Found(Protocol):
    """A match, as the masker reads it (`re` and `pcre` both give one)."""

    @property
    def lastgroup(self) -> str | None: ...
    def span(self) -> tuple[int, int]: ...


class Scanner(Protocol):
    """A compiled regex, as the masker uses it: `re.Pattern` or `pcre.Pattern`."""

    def finditer(self, text: str, /) -> Iterator[Found]: ...


class Masker:
    """Masks bodies: user masks (`extra`) first, in a pass of their own over the whole body;
    then the built-ins (`masks`) over what is left."""

    def __init__(self, masks: Iterable[Mask] = BUILTIN_MASKS, extra: Iterable[Mask] = ()) -> None:
        builtins, extras = tuple(masks), tuple(extra)
        self.masks = (*extras, *builtins)
        for mask in self.masks:
            _check(mask)
        # Each name once, so a user mask can reuse a built-in's placeholder (`<ID>`).
        names = [WILDCARD, TAIL, *dict.fromkeys(m.placeholder for m in self.masks)]
        self.placeholders: frozenset[str] = frozenset(names)
        self.placeholder_regex = re.compile("|".join(re.escape(name) for name in names))
        self._placeholder_of: dict[str, str] = {}
        self._lead_of: dict[str, int] = {}
        self._user = self._plain_regex(names, extras, "u") if extras else None
        # The built-ins themselves (not a copy) get the fast regex; a copy gets the plain one,
        # which masks the same (the tests compare them).
        self._lead = 1 if masks is BUILTIN_MASKS else 0
        if self._lead:
            self._builtin = self._builtin_regex(names)
        else:
            self._builtin = self._plain_regex(names, builtins, "b")
        self._marked = marked_substitute(_named(_STARTS), _ANY_START) if self._lead else None
        # A body without a digit, a placeholder or an 8-hex-letter id (`req-aabeacef`) cannot
        # match a built-in: it skips the scan.
        self._needs_scan = _MAY_MATCH.search if self._lead and not extras else _always

    def mask(self, body: str) -> tuple[list[str], list[str]]:
        """The body's tokens, a masked one holding placeholders (`<IP>`, `port=<NUM>`), and the
        masked values in order (one per placeholder)."""
        masked, values = self.masked_with_values(body)
        return masked.split(), values

    def masked_with_values(self, body: str) -> tuple[str, list[str]]:
        """The masked body as text (spacing as in the body) and the masked values in order."""
        head, tail = split_tail(body)
        values: list[str] = []
        masked = self._scan(head, values)
        if self._lead and any(value.endswith(TOUCHING) for value in values):
            return self._plain.masked_with_values(body)  # see TOUCHING
        if tail is None:
            return masked, values
        values.append(cut_value(tail))
        return f"{masked} {TAIL}", values

    def masked_many(self, bodies: Iterable[str], with_values: bool = True) -> list[Masked]:
        """masked_with_values of each body, in order (a batch's distinct bodies); the values
        may be left out ([]) when not `with_values`."""
        if self._marked is None or self._user is not None:
            return [self.masked_with_values(body) for body in bodies]
        search, one = self.placeholder_regex.search, self.masked_with_values
        return scan_many(self._marked, bodies, 2 * MAX_TOKENS, search, one, _may_touch, with_values)

    def masked_text(self, body: str) -> str:
        """The masked body as text (spacing as in the body): what the miner keys rows on."""
        return self.masked_with_values(body)[0]

    def _scan(self, text: str, values: list[str]) -> str:
        if not self._needs_scan(text):
            return text
        found: list[str] | None = None
        if self._user is not None:
            found = []
            text = self._sub(self._user, 0, text, found, None)
        try:
            if self._marked is not None and not found and self._one_call(text):
                return scan(self._marked, text, values)
            if self._lead:
                return self._sub(self._builtin, 1, "\n" + text, values, found)[1:]
        except UnicodeEncodeError:  # a lone surrogate: PCRE2 reads UTF-8 only, `re` masks alike
            return self._plain._sub(self._plain._builtin, 0, text, values, found)
        return self._sub(self._builtin, 0, text, values, found)

    @functools.cached_property
    def _plain(self) -> Masker:
        """The same masks on `re` (the same placeholders, so user masks' read as themselves)."""
        extras = self.masks[: len(self.masks) - len(BUILTIN_MASKS)]
        return Masker(masks=list(BUILTIN_MASKS), extra=extras)

    def _one_call(self, text: str) -> bool:
        """No placeholder in the text (the finditer path masks one as itself) and no SEP."""
        return SEP not in text and ("<" not in text or not self.placeholder_regex.search(text))

    def _sub(
        self,
        regex: Scanner,
        lead: int,
        text: str,
        values: list[str],
        earlier: list[str] | None,
    ) -> str:
        """One pass. A match takes `lead` characters before the masked text (kept). A
        placeholder already in the text stands for itself, its value the one an earlier pass
        found for it (`earlier`, in order) or its own text."""
        placeholder_of, lead_of = self._placeholder_of, self._lead_of
        literal_end = ">" if lead else ""  # a fast match leaves the `>` in the text
        pending = iter(earlier or ())
        pieces: list[str] = []
        done = 0  # the text before this is in `pieces`
        for match in regex.finditer(text):
            start, end = match.span()
            group = match.lastgroup or ""
            if group == "_lit":
                values.append(next(pending, text[start:end] + literal_end))
                continue
            start += lead_of[group]
            pieces += (text[done:start], placeholder_of[group])
            values.append(text[start:end])
            done = end
        pieces.append(text[done:])
        return "".join(pieces)

    def _plain_regex(self, names: list[str], masks: tuple[Mask, ...], tag: str) -> Scanner:
        """The masks as one alternation, in order, with placeholders written in the text."""
        literal = "|".join(re.escape(name) for name in names)
        return re.compile("|".join([f"(?P<_lit>{literal})", *self._groups(masks, tag)]))

    def _builtin_regex(self, names: list[str]) -> Scanner:
        """The built-ins' regex. Each match takes the character before it too (the body gets a
        leading newline for the first): every match then starts with a character set, so the
        scan skips letters and digits in C, and tries masks only where _STARTS says."""
        # A placeholder in the text: the match ends before its `>`, which stays a boundary.
        literal = "|".join(re.escape(name[1:-1]) for name in names)
        starts = []
        for n, (start, kept, masks) in enumerate(_STARTS):
            groups = self._groups(masks, f"s{n}", lead=1 + (1 if kept else 0))
            starts.append(f"{start}{kept}(?:{'|'.join(groups)})")
        compiled: Scanner = pcre.compile(
            f"[^0-9A-Za-z]{_ANY_START}(?:(?<=<)(?P<_lit>{literal})(?=>)|{'|'.join(starts)})"
        )
        return compiled

    def _groups(self, masks: tuple[Mask, ...], tag: str, lead: int = 0) -> list[str]:
        """Named groups for the masks; `lead`: characters each match keeps before its value."""
        groups = []
        for i, mask in enumerate(masks):
            self._placeholder_of[f"_{tag}{i}"] = mask.placeholder
            self._lead_of[f"_{tag}{i}"] = lead
            groups.append(f"(?P<_{tag}{i}>{mask.regex})")
        return groups


def _named(starts: tuple[tuple[str, str, tuple[Mask, ...]], ...]) -> list[Start]:
    return [(start, kept, [(m.name, m.regex) for m in masks]) for start, kept, masks in starts]


def split_tail(body: str) -> tuple[str, str | None]:
    """The part of a body that forms its template, and the rest (None when nothing is cut)."""
    if len(body) <= 2 * MAX_TOKENS or (
        len(body) <= MAX_HEAD_CHARS and _separators(body) < MAX_TOKENS
    ):
        return body, None
    window = body[:MAX_HEAD_CHARS]
    parts = window.split(None, MAX_TOKENS)
    if len(parts) > MAX_TOKENS:
        head = window[: len(window) - len(parts[-1])]
    elif len(body) > MAX_HEAD_CHARS:
        # The window's last token may be cut in the middle: it goes to the tail too.
        head = window[: len(window) - len(parts[-1])] if len(parts) > 1 else window
    else:
        return body, None
    return head, body[len(head) :]


def cut_value(value: str) -> str:
    return value if len(value) <= MAX_VALUE_CHARS else value[:MAX_VALUE_CHARS] + "…"


def _separators(body: str) -> int:
    return body.count(" ") + body.count("\t") + body.count("\n")


def _always(_body: str) -> bool:
    return True


def _check(mask: Mask) -> None:
    if not _NAME.fullmatch(mask.name):
        raise ValueError(f"mask name {mask.name!r}: letters, digits and _, starting with a letter")
    try:
        compiled = re.compile(mask.regex)
    except re.error as exc:
        raise ValueError(f"mask {mask.name}: {exc}") from exc
    if compiled.fullmatch(""):
        raise ValueError(f"mask {mask.name}: its regex matches empty text")
