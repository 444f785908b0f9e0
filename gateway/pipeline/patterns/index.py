"""The live patterns, looked up three ways: by template; by shape, to find the pattern a row
fits (the shapes are counted, the row widened to each is looked up by template); by everything
but the first token, to find patterns that differ only there.

The lookups by head and by tail are keyed by the hash of the tokens they stand for (an int,
not a tuple of them) and hold one pattern as itself, several in a tuple (Few): most heads and
tails are one pattern's, and a miner of 100,000 patterns pays for each container it keeps.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

from gateway.pipeline.patterns.clusters import Pattern
from gateway.pipeline.patterns.masks import WILDCARD
from gateway.pipeline.patterns.spans import fits, may_open
from gateway.pipeline.patterns.tokens import project, widen

_K = TypeVar("_K", bound=Hashable)

Tail = tuple[str, ...]  # a pattern's first token widened, then the rest of its tokens
Few = Pattern | tuple[Pattern, ...]  # one pattern, or several in the order they came


class PatternIndex:
    def __init__(self) -> None:
        self.by_template: dict[str, Pattern] = {}
        # length -> wildcard positions -> how many patterns have that shape: a row fits a
        # pattern when the row, widened at the pattern's wildcard positions, reads as its
        # template (by_template finds it: no second table of 100,000 token tuples).
        self._shapes: dict[int, dict[tuple[int, ...], int]] = {}
        self._order: dict[int, list[tuple[int, ...]]] = {}  # each length's shapes, fewest first
        # shape -> (its first constant position, how many patterns hold each value there): a row
        # whose token there no pattern of the shape holds skips that shape without projecting
        self._gates: dict[tuple[int, tuple[int, ...]], tuple[int, dict[str, int]]] = {}
        self._tails: dict[int, Few] = {}  # hash of the tail -> patterns
        self._heads: dict[int, Few] = {}  # hash of the first 2 tokens -> patterns
        self._spans: dict[str, dict[str, Pattern]] = {}  # span patterns by first token

    def __len__(self) -> int:
        return len(self.by_template)

    def add(self, pattern: Pattern) -> None:
        self.by_template[pattern.template] = pattern
        if pattern.span is not None:
            self._spans.setdefault(pattern.tokens[0], {})[pattern.template] = pattern
            return
        if len(pattern.tokens) >= 2 and may_open(pattern.tokens):  # spans' candidates only
            _put(self._heads, hash(pattern.tokens[:2]), pattern)
        shapes = self._shapes.setdefault(len(pattern.tokens), {})
        if pattern.wild not in shapes:
            shapes[pattern.wild] = 0
            self._order.pop(len(pattern.tokens), None)
        shapes[pattern.wild] += 1
        at, held = self._gate(pattern)
        if at >= 0:
            held[pattern.tokens[at]] = held.get(pattern.tokens[at], 0) + 1
        if pattern.tokens:
            _put(self._tails, hash(tail_of(pattern.tokens)), pattern)

    def remove(self, pattern: Pattern) -> None:
        del self.by_template[pattern.template]
        if pattern.span is not None:
            _discard(self._spans, pattern.tokens[0], pattern.template)
            return
        if len(pattern.tokens) >= 2:
            _take_out(self._heads, hash(pattern.tokens[:2]), pattern)
        shapes = self._shapes[len(pattern.tokens)]
        shapes[pattern.wild] -= 1
        at, held = self._gate(pattern)
        if at >= 0:
            held[pattern.tokens[at]] -= 1
            if not held[pattern.tokens[at]]:
                del held[pattern.tokens[at]]
        if not shapes[pattern.wild]:  # its last pattern
            del shapes[pattern.wild]
            self._order.pop(len(pattern.tokens), None)
        if pattern.tokens:
            _take_out(self._tails, hash(tail_of(pattern.tokens)), pattern)

    def fit(self, tokens: Sequence[str]) -> Pattern | None:
        """The most specific pattern the row fits (fewest wildcards), if any."""
        shapes = self._shapes.get(len(tokens))
        if not shapes:
            return None
        order = self._order.get(len(tokens))
        if order is None:
            order = self._order[len(tokens)] = sorted(shapes, key=lambda wild: (len(wild), wild))
        gates, by_template = self._gates, self.by_template
        size = len(tokens)
        for wild in order:
            at, held = gates[size, wild]
            if at >= 0 and tokens[at] not in held:
                continue
            pattern = by_template.get(" ".join(project(tokens, wild) if wild else tokens))
            # of this shape: a span pattern, or one with more wildcards, may read the same
            if pattern is not None and pattern.wild == wild and pattern.span is None:
                return pattern
        return None

    def _gate(self, pattern: Pattern) -> tuple[int, dict[str, int]]:
        key = (len(pattern.tokens), pattern.wild)
        gate = self._gates.get(key)
        if gate is None:
            constant = (i for i in range(len(pattern.tokens)) if i not in pattern.wild)
            gate = self._gates[key] = (next(constant, -1), {})
        return gate

    def fit_span(self, tokens: Sequence[str]) -> Pattern | None:
        """The span pattern the row fits, the one with the longest head and tail, if any."""
        if not self._spans or not tokens:
            return None
        found = [
            span
            for key in {tokens[0], widen(tokens[0]), WILDCARD}
            for span in self._spans.get(key, {}).values()
            if fits(span, tokens)
        ]
        return max(found, key=lambda span: sum(span.span or (0, 0)), default=None)

    def same_head(self, pattern: Pattern) -> list[Pattern]:
        """Patterns (of any length) that start with this one's first two tokens."""
        head = pattern.tokens[:2]
        return [other for other in _each(self._heads.get(hash(head))) if other.tokens[:2] == head]

    def siblings(self, pattern: Pattern) -> dict[str, Pattern]:
        """The patterns equal to this one but for their first token, by first token (itself
        included)."""
        if not pattern.tokens:
            return {}
        tail = tail_of(pattern.tokens)
        same = _each(self._tails.get(hash(tail)))
        return {other.tokens[0]: other for other in same if tail_of(other.tokens) == tail}


def _discard(index: dict[_K, dict[str, Pattern]], key: _K, template: str) -> None:
    patterns = index.get(key)
    if patterns is not None:
        patterns.pop(template, None)
        if not patterns:
            del index[key]


def _put(index: dict[_K, Few], key: _K, pattern: Pattern) -> None:
    held = index.get(key)
    index[key] = pattern if held is None else (*_each(held), pattern)


def _take_out(index: dict[_K, Few], key: _K, pattern: Pattern) -> None:
    rest = tuple(other for other in _each(index.get(key)) if other is not pattern)
    if not rest:
        index.pop(key, None)
    else:
        index[key] = rest[0] if len(rest) == 1 else rest


def _each(held: Few | None) -> tuple[Pattern, ...]:
    if held is None:
        return ()
    return held if isinstance(held, tuple) else (held,)


def tail_of(tokens: Sequence[str]) -> Tail:
    return (widen(tokens[0]), *tokens[1:])
