"""Template tokens: which are wildcards, how a row's token widens, and a template's variables.

A widened position keeps a `key=` prefix when the token has one (`user=alice` -> `user=<*>`),
so `user=<*>` and `state=<*>` stay apart; any other token widens to a bare `<*>`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from gateway.pipeline.patterns.masks import WILDCARD, Masker

_KEY = re.compile(r"[A-Za-z_][\w.\-]*=")  # an identifier and `=`: `user=`, `db.name=`
_KEYED_WILDCARD = "=" + WILDCARD


def widen(token: str) -> str:
    """The wildcard a token becomes: its `key=` prefix (if any) and `<*>`."""
    key = _KEY.match(token)
    if key is None or key.end() == len(token):
        return WILDCARD
    return key.group() + WILDCARD


def is_wild(token: str) -> bool:
    """Whether a template token is a wildcard (what `widen` makes)."""
    if token == WILDCARD:
        return True
    return token.endswith(_KEYED_WILDCARD) and _KEY.fullmatch(token, 0, len(token) - 3) is not None


def wild_positions(tokens: Sequence[str]) -> tuple[int, ...]:
    return tuple(i for i, token in enumerate(tokens) if is_wild(token))


def project(tokens: Sequence[str], positions: Iterable[int]) -> tuple[str, ...]:
    """The tokens with each of `positions` widened (a tuple given with none: itself)."""
    if not positions and isinstance(tokens, tuple):
        return tokens
    widened = list(tokens)
    for i in positions:
        widened[i] = widen(widened[i])
    return tuple(widened)


class Variables:
    """Reads a template's variables from a masked body and its masked values."""

    def __init__(self, masker: Masker) -> None:
        self._placeholder = masker.placeholder_regex
        self._counts: dict[str, int] = {}

    def read(
        self, template: Sequence[str], wild: Sequence[int], text: str, values: list[str]
    ) -> tuple[str, ...]:
        """One value per placeholder of the template, in order: a typed placeholder's masked
        value; for a wildcard, the body's text at that position (without its `key=`)."""
        if not wild:
            return tuple(values)
        out: list[str] = []
        taken = 0
        wild_at = set(wild)
        for i, token in enumerate(text.split()):
            count = self._count(token)
            if i in wild_at:
                original = self._restore(token, values[taken : taken + count])
                out.append(original[len(template[i]) - len(WILDCARD) :])
            else:
                out.extend(values[taken : taken + count])
            taken += count
        return tuple(out)

    def read_span(self, head: int, tail: int, text: str, values: list[str]) -> tuple[str, ...]:
        """A span pattern's variables: the head's and tail's typed values, and the middle's
        text (its masked values put back, tokens joined by one space) as one value."""
        tokens = text.split()
        counts = [self._count(token) for token in tokens]
        cut = len(tokens) - tail
        start = sum(counts[:head])
        end = start + sum(counts[head:cut])
        middle, taken = [], start
        for token, count in zip(tokens[head:cut], counts[head:cut], strict=True):
            middle.append(self._restore(token, values[taken : taken + count]))
            taken += count
        return (*values[:start], " ".join(middle), *values[end:])

    def _count(self, token: str) -> int:
        if "<" not in token:
            return 0
        count = self._counts.get(token)
        if count is None:
            if len(self._counts) > 100_000:
                self._counts.clear()
            count = self._counts[token] = len(self._placeholder.findall(token))
        return count

    def _restore(self, token: str, values: list[str]) -> str:
        if not values:
            return token
        remaining = iter(values)
        return self._placeholder.sub(lambda _: next(remaining), token)
