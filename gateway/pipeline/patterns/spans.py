"""Spans: a variable that takes a varying number of tokens (an error text, a user agent).

Rows of different lengths never share a cluster, so `unable to notify user:<ID>: i/o timeout
for tenant <NUM>` and `... dial tcp: lookup db: no such host for tenant <NUM>` start as two
patterns. Once WIDEN_AFTER patterns share a head and a tail (at least MIN_ANCHOR tokens in all,
and `similarity` of the longer one's) around middles that differ, of two lengths or more, and
each middle a text of its own (after a colon behind two words or more of the message, or in
quotes), they merge into one pattern,
`head <*> tail`, whose `<*>` takes one token or more. Its template reads like any other: a
store that reloads it sees a one-token wildcard until its rows widen it again (same text, so
the same id).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gateway.pipeline.patterns.clusters import WIDEN_AFTER, Pattern
from gateway.pipeline.patterns.masks import WILDCARD
from gateway.pipeline.patterns.tokens import is_wild, widen

MIN_ANCHOR = 3  # head and tail tokens a span's pattern keeps at least
_SCAN = 64  # patterns of a head looked at for each new one
_HEAD_WORDS = 2  # plain lower-case words before a colon that opens a text


def fits(span: Pattern, tokens: Sequence[str]) -> bool:
    """Whether the row fits the span pattern: its head, then one token or more, then its tail."""
    head, tail = span.span or (0, 0)
    if len(tokens) <= head + tail:
        return False
    rows = (*tokens[:head], *tokens[len(tokens) - tail :])
    anchors = (*span.tokens[:head], *span.tokens[head + 1 :])
    return all(
        row == anchor or (is_wild(anchor) and widen(row) == anchor)
        for row, anchor in zip(rows, anchors, strict=True)
    )


def family(
    pattern: Pattern, others: Iterable[Pattern], similarity: float
) -> tuple[tuple[str, ...], tuple[str, ...], list[Pattern]] | None:
    """(head, tail, members) of the largest family of patterns around varying middles that this
    one belongs to, if it has WIDEN_AFTER members; else None."""
    if not may_open(pattern.tokens):
        return None
    candidates = [other for other in others if other is not pattern and other.span is None]
    best: tuple[int, int, tuple[str, ...], tuple[str, ...], list[Pattern]] | None = None
    for other in candidates[-_SCAN:]:
        anchors = _anchors(pattern.tokens, other.tokens, similarity)
        if anchors is None:
            continue
        head, tail = anchors
        members = [pattern] + [c for c in candidates if _around(c.tokens, head, tail)]
        middles = {c.tokens[len(head) : len(c.tokens) - len(tail)] for c in members}
        # middles of one length are a cluster's business (its words may be constants)
        if len(middles) < WIDEN_AFTER or len({len(middle) for middle in middles}) < 2:
            continue
        rank = (len(members), len(head) + len(tail))
        if best is None or rank > best[:2]:
            best = (*rank, head, tail, members)
    return None if best is None else best[2:]


def _anchors(
    a: tuple[str, ...], b: tuple[str, ...], similarity: float
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The common head and tail of two rows around middles of one token or more, if long
    enough."""
    room = min(len(a), len(b)) - 1
    head = 0
    while head < room and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < room - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
        tail += 1
    if head + tail < max(MIN_ANCHOR, similarity * max(len(a), len(b))):
        return None
    middle_a, middle_b = a[head : len(a) - tail], b[head : len(b) - tail]
    if middle_a == middle_b:
        return None
    if not (_after_colon(a[:head]) or (_quoted(middle_a) and _quoted(middle_b))):
        return None
    return a[:head], a[len(a) - tail :]


def _after_colon(head: Sequence[str]) -> bool:
    """A text after a colon, behind the message's own words (`unable to notify user:<ID>:`),
    not behind a line's prefix alone (`<TS> INFO Main:`, `sshd[<NUM>]:`)."""
    return bool(head) and head[-1].endswith(":") and sum(map(_is_word, head)) >= _HEAD_WORDS


def may_open(tokens: Sequence[str]) -> bool:
    """Whether a text could start in this row: a token ending in a colon after two words, or
    one opening a quote (a quick test before comparing it with others)."""
    words = 0
    for token in tokens:
        if token.startswith('"') or (words >= _HEAD_WORDS and token.endswith(":")):
            return True
        words += _is_word(token)
    return False


def _quoted(middle: Sequence[str]) -> bool:
    return middle[0].startswith('"') and middle[-1].endswith('"')


def _is_word(token: str) -> bool:
    return token.isalpha() and token.islower()


def _around(tokens: tuple[str, ...], head: tuple[str, ...], tail: tuple[str, ...]) -> bool:
    return (
        len(tokens) > len(head) + len(tail)
        and tokens[: len(head)] == head
        and tokens[len(tokens) - len(tail) :] == tail
    )


__all__ = ["MIN_ANCHOR", "WILDCARD", "family", "fits", "may_open"]
