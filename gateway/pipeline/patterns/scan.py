"""The built-in masks in one PCRE2 call per body (masks.py holds the masks and the regex).

PCRE2's substitute runs the built-ins' regex, each mask marking its name (`(*MARK:NUM)`), and
writes each match as the character before it (and klog's level letter), the placeholder, and
the value between two SEP. One split of the output gives the masked text (the even parts) and
the values (the odd ones): a match object per value, read in Python, costs twice as much. A body
holding SEP or a placeholder's text (masked as itself, which only the finditer path does) takes
the finditer path; so does every body when user masks run first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import pcre

SEP = "\x00"
# The fast regex takes the character before each match: a match right after one that ended in
# a character other than a letter or digit (only an IPv6 address does: `[::1]`, `fe80::`)
# cannot start there, where the masks alone (`re`, the reference) would start one
# (`[0::][0::]`). A body with such a value is masked by the reference instead: rare, and
# the same result either way.
TOUCHING = ("]", ":")
_TOUCHING_OUT = tuple(end + SEP for end in TOUCHING)  # such a value's end in WITH_VALUES' output
# Per match: groups 1-2 (the character before, the level letter), the placeholder and (with
# values) group 3, the value.
WITH_VALUES = f"$1$2<${{*MARK}}>{SEP}$3{SEP}"
TEXT_ONLY = "$1$2<${*MARK}>"
Substitute = Callable[[str, str, int], tuple[str, int]]
Masked = tuple[str, list[str]]  # a body's masked text and values
# Where masks can start (a lookahead), what the match keeps before the value (a character set
# or ""), and the masks tried there as (name, regex): masks.py's _STARTS.
Start = tuple[str, str, Sequence[tuple[str, str]]]


def marked_substitute(starts: Sequence[Start], any_start: str) -> Substitute | None:
    """The built-ins' regex, each mask marking its name, as PCRE2's substitute (pcre's C
    pattern's: the Python wrapper's `sub` reads `re`'s templates); None if this pcre has none
    or it masks otherwise (the finditer path then does all)."""
    branches = []
    for start, kept, masks in starts:
        marked = "|".join(f"(?:{regex})(*MARK:{name})" for name, regex in masks)
        branches.append(f"{start}({kept})({marked})")  # the same groups in every branch
    compiled = pcre.compile(f"([^0-9A-Za-z]){any_start}(?|{'|'.join(branches)})")
    try:  # an AttributeError or TypeError if this pcre has no such method
        # its entry without keyword parsing, where it has one (6 % quicker a body)
        pattern = compiled._pattern
        substitute: Substitute = getattr(pattern, "_substitute_fast", None) or pattern.substitute
        found = substitute("\nat I0518 14:25:47 port 80", WITH_VALUES, 0)
    except (AttributeError, TypeError, ValueError):
        return None
    works = found == (f"\nat I<TS>{SEP}0518 14:25:47{SEP} port <NUM>{SEP}80{SEP}", 2)
    return substitute if works else None


def scan(substitute: Substitute, text: str, values: list[str]) -> str:
    """The masked text, its values added to `values`."""
    parts = substitute("\n" + text, WITH_VALUES, 0)[0].split(SEP)
    values += parts[1::2]
    return "".join(parts[::2])[1:]


def scan_many(
    substitute: Substitute,
    bodies: Iterable[str],
    short: int,
    placeholder: Callable[[str], object],
    one: Callable[[str], Masked],
    touches: Callable[[str, str], bool],
    with_values: bool = True,
) -> list[Masked]:
    """Each body masked, in one loop: a body of at most `short` characters (never cut to a
    head and tail) without SEP or a placeholder (`placeholder` finds one) in one call, the
    rest by `one`, and so is one with a value that may touch the next (TOUCHING). No body
    skips the call: without a digit it finds nothing, as quickly as a test for one would (and
    nearly every body has one). Without values, the one call writes the text alone (nothing
    to split or join: under half the work a body) and its values are []; `touches(text,
    body)` then tells a body that may hold such a value."""
    found: list[Masked] = []
    for body in bodies:
        if len(body) > short or SEP in body or ("<" in body and placeholder(body)):
            found.append(one(body))
            continue
        try:
            if not with_values:
                text = substitute("\n" + body, TEXT_ONLY, 0)[0][1:]
                found.append(one(body) if touches(text, body) else (text, []))
                continue
            out = substitute("\n" + body, WITH_VALUES, 0)[0]
        except UnicodeEncodeError:  # a lone surrogate (PCRE2 reads UTF-8 only): `one` copes
            found.append(one(body))
            continue
        if any(end in out for end in _TOUCHING_OUT):  # a value that may touch the next
            found.append(one(body))
            continue
        parts = out.split(SEP)
        found.append(("".join(parts[::2])[1:], parts[1::2]))
    return found
