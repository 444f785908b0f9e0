"""Template tokens: which are wildcards, how a row's token widens, and a template's variables
(read into a Match: a body's pattern and the values of its variables).

A widened position keeps a `key=` prefix when the token has one (`user=alice` -> `user=<*>`),
so `user=<*>` and `state=<*>` stay apart; any other token widens to a bare `<*>`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Protocol

from gateway.pipeline.patterns.masks import WILDCARD, Masker


class Reader(Protocol):
    """What reads a Match's variables when they were left for later (the miner)."""

    def variables_of(self, body: str, source: object) -> tuple[str, ...]: ...


class Match:
    """A body's pattern (its id and template) and the values of its variables. A class of a
    compiled module, not a NamedTuple: made once per distinct body of a batch, it is made in
    C, where a NamedTuple runs its Python __new__.

    A match made without its variables (`unread`) reads them when first asked for: the body
    is masked again, with its values, and read the way its pattern says (`source`). The batch
    stage asks only for the matches whose groups sampling keeps, a quarter of them on the
    realistic stream; masking that keeps no values is under half the work of one that does.
    Read before the miner learns its next batch (the pattern may widen then)."""

    __slots__ = ("_body", "_reader", "_source", "_variables", "id", "template")

    def __init__(self, id: int, template: str, variables: tuple[str, ...]) -> None:
        self.id = id
        self.template = template
        self._variables: tuple[str, ...] | None = variables
        self._reader: Reader | None = None
        self._body = ""
        self._source: object = None

    @property
    def variables(self) -> tuple[str, ...]:
        variables = self._variables
        if variables is None:
            reader = self._reader
            assert reader is not None  # set with _variables None, let go once read
            variables = self._variables = reader.variables_of(self._body, self._source)
            self._reader, self._source = None, None
        return variables

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Match):
            return NotImplemented
        return (self.id, self.template, self.variables) == (
            other.id,
            other.template,
            other.variables,
        )

    def __hash__(self) -> int:
        return hash((self.id, self.template, self.variables))

    def __repr__(self) -> str:
        return f"Match(id={self.id!r}, template={self.template!r}, variables={self.variables!r})"


def unread(id: int, template: str, reader: Reader, body: str, source: object) -> Match:
    """A match whose variables `reader` reads from `body` when asked for, as `source` (the
    reader's own word for the pattern) says."""
    match = Match(id, template, ())
    match._variables, match._reader = None, reader
    match._body, match._source = body, source
    return match


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


# How to read a row's variables for one template: per step, a slice of the masked values and,
# for a wildcard token, the token's text around its placeholders (the values go between) and
# how much of it is the `key=` (0 when the first piece already went without it).
_Step = tuple[tuple[str, ...] | None, int, int, int]
_PLANS_KEPT = 10_000  # rows whose plans are kept; past it the cache starts over (on the
# realistic stream 50,000 made a fifth fewer plans; a batch of 50,000 templates held 8 MiB more)


class Variables:
    """Reads a template's variables from a masked body and its masked values."""

    def __init__(self, masker: Masker) -> None:
        self._placeholder = masker.placeholder_regex
        self._counts: dict[str, int] = {}
        # A plan depends on the masked text and the template only: bodies differing in their
        # typed values share one (the common case in a flood). By text, with its template.
        self._plans: dict[str, tuple[Sequence[str], list[_Step]]] = {}

    def read(
        self, template: Sequence[str], wild: Sequence[int], text: str, values: list[str]
    ) -> tuple[str, ...]:
        """One value per placeholder of the template, in order: a typed placeholder's masked
        value; for a wildcard, the body's text at that position (without its `key=`)."""
        if not wild:
            return tuple(values)
        known = self._plans.get(text)  # a text's plan is mostly for one template, the same tuple
        if known is not None and (known[0] is template or known[0] == template):
            plan = known[1]
        else:
            plan = self._plan(template, wild, text)
        out: list[str] = []
        for pieces, start, stop, cut in plan:
            if pieces is None:
                for taken in range(start, stop):  # no slice made
                    out.append(values[taken])
            elif cut:
                out.append(_joined(pieces, values[start:stop])[cut:])
            elif stop - start == 1:  # the common cases: one value in the token, or none
                out.append(pieces[0] + values[start] + pieces[1])
            elif start == stop:
                out.append(pieces[0])
            else:
                out.append(_joined(pieces, values[start:stop]))
        return tuple(out)

    def _plan(self, template: Sequence[str], wild: Sequence[int], text: str) -> list[_Step]:
        plan: list[_Step] = []
        taken, wild_at = 0, set(wild)
        for i, token in enumerate(text.split()):
            count = self._count(token)
            if i in wild_at:
                pieces, cut = self._pieces(token, len(template[i]) - len(WILDCARD))
                plan.append((pieces, taken, taken + count, cut))
            elif count and plan and plan[-1][0] is None:  # one slice for typed values in a row
                plan[-1] = (None, plan[-1][1], taken + count, 0)
            elif count:
                plan.append((None, taken, taken + count, 0))
            taken += count
        if len(self._plans) >= _PLANS_KEPT:
            self._plans.clear()
        self._plans[text] = (template, plan)
        return plan

    def _pieces(self, token: str, cut: int) -> tuple[tuple[str, ...], int]:
        """A wildcard token's text around its placeholders, the `key=` (`cut`) taken off the
        first piece when it holds it all; and what is left to cut off."""
        pieces = tuple(self._placeholder.split(token))
        if len(pieces[0]) < cut:
            return pieces, cut
        return (pieces[0][cut:], *pieces[1:]), 0

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


def _joined(pieces: tuple[str, ...], values: list[str]) -> str:
    """The pieces with the values between them: a token's placeholders put back."""
    out = [pieces[0]]
    for value, piece in zip(values, pieces[1:], strict=True):
        out += (value, piece)
    return "".join(out)
