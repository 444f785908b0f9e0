"""Dormant patterns: known templates the miner keeps as their ids alone, woken by a row that
fits one.

An awake pattern costs about 1 KB (its tokens, its cluster, four indexes); a miner keeps
`active_patterns` of them. The other patterns it knows (up to `max_patterns` in all) sleep
here at about a tenth of that: each one's id (the hash of its template, pattern_id), under
its gate: its length, its shape (wildcard positions) and its token at its first constant
position. A row no awake pattern fits is widened to each sleeping shape of its length whose
gate it passes, in the order the awake index tries them (fewest wildcards first), and
hashed. A known id wakes that pattern: the widened row is its template, the same text, so the
same id. While the miner has room it wakes the pattern; otherwise the row is matched to it
asleep, for the batch. A sleeping pattern takes part in nothing else (clusters, merges).

Span patterns (spans.py) have no length: they never sleep. Forgetting goes least recently
used first: patterns fall asleep least recently used first, and one matched asleep moves to
the end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from sys import intern

from gateway.pipeline.patterns.tokens import project, wild_positions

Shape = tuple[int, ...]  # a template's wildcard positions
Gate = tuple[int, Shape, str]  # length, shape, the token at the shape's first constant position


class Dormant:
    def __init__(self, pattern_id: Callable[[str], int]) -> None:
        self._pattern_id = pattern_id
        self._ids: dict[int, Gate] = {}  # pattern id -> its gate, longest asleep first
        # gate -> how many patterns sleep under it; the ids share one tuple per gate (_canon)
        self._gates: dict[Gate, int] = {}
        self._canon: dict[Gate, Gate] = {}
        self._shapes: dict[int, dict[Shape, int]] = {}  # length -> shape -> its first constant
        self._users: dict[tuple[int, Shape], int] = {}  # (length, shape) -> patterns asleep
        self._order: dict[int, list[Shape]] = {}  # each length's shapes, fewest wildcards first

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, template: str) -> None:
        """Put a pattern to sleep (its template: a pattern's tokens joined by one space)."""
        pattern_id = self._pattern_id(template)
        if pattern_id in self._ids:
            return
        tokens = template.split()
        shape = wild_positions(tokens)
        gate = self._gate_of(tokens, shape, self._first_constant(len(tokens), shape))
        gate = self._canon.setdefault(gate, gate)
        self._ids[pattern_id] = gate
        self._gates[gate] = self._gates.get(gate, 0) + 1
        key = (len(tokens), shape)
        self._users[key] = self._users.get(key, 0) + 1

    def find(self, tokens: Sequence[str]) -> str | None:
        """The template of the most specific sleeping pattern the row fits (it counts as the
        most recently used asleep now), or None."""
        size = len(tokens)
        shapes = self._shapes.get(size)
        if not shapes:
            return None
        for shape in self._ordered(size, shapes):
            gate = self._gate_of(tokens, shape, shapes[shape])
            if gate not in self._gates:
                continue
            template = " ".join(project(tokens, shape))
            pattern_id = self._pattern_id(template)
            if self._ids.get(pattern_id) == gate:
                self._ids[pattern_id] = self._ids.pop(pattern_id)  # to the end: forgotten last
                return template
        return None

    def wake(self, template: str) -> None:
        """Take a pattern out of the tier (the caller makes it an awake pattern)."""
        self._forget(self._pattern_id(template))

    def trim(self, room: int) -> int:
        """Forget the longest asleep beyond `room`; how many were forgotten."""
        excess = len(self._ids) - max(0, room)
        for pattern_id in list(self._ids)[: max(0, excess)]:
            self._forget(pattern_id)
        return max(0, excess)

    def _forget(self, pattern_id: int) -> None:
        gate = self._ids.pop(pattern_id)
        left = self._gates[gate] - 1
        if left:
            self._gates[gate] = left
        else:
            del self._gates[gate], self._canon[gate]
        size, shape, _ = gate
        users = self._users[size, shape] - 1
        if users:
            self._users[size, shape] = users
            return
        del self._users[size, shape], self._shapes[size][shape]
        self._order.pop(size, None)

    def _first_constant(self, size: int, shape: Shape) -> int:
        shapes = self._shapes.setdefault(size, {})
        first = shapes.get(shape)
        if first is None:
            wild = set(shape)
            first = shapes[shape] = next((i for i in range(size) if i not in wild), -1)
            self._order.pop(size, None)
        return first

    def _ordered(self, size: int, shapes: dict[Shape, int]) -> list[Shape]:
        order = self._order.get(size)
        if order is None:
            order = self._order[size] = sorted(shapes, key=lambda shape: (len(shape), shape))
        return order

    @staticmethod
    def _gate_of(tokens: Sequence[str], shape: Shape, first: int) -> Gate:
        return (len(tokens), shape, intern(tokens[first]) if first >= 0 else "")
