"""Clusters: rows (masked bodies as tokens) of one length that share a constant backbone, and
the patterns they project to.

A cluster keeps, per position, the distinct values its rows had there. A position becomes a
wildcard for the whole cluster once it has held WIDEN_AFTER distinct values, never before: two
rows that differ in one constant word (`logged in` / `logged out`) stay two patterns, while a
third value (`Invalid user webmaster|admin|oracle from <IP>`) shows the position is a variable.
Except: positions whose values go together (few pairs, comparable counts, different words,
each pair behind several bodies) are the words of a family of templates (`"GET /a` / `"POST
/b`; `lease.go ... migrated subscription` / `raft.go ... approved coupon`) and stay constant.
Every pattern of a cluster is one of its rows with the cluster's wildcard positions widened.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from operator import contains, eq, ne

WIDEN_AFTER = 3
_BUCKET = 256  # clusters kept per first or last token (ClusterIndex)
_NOTHING: frozenset[str] = frozenset()
_TIE_ROWS = 1000  # rows looked at to tell columns that vary together
_TIE_BODIES = 2


@dataclass(eq=False, slots=True)
class Pattern:
    """A live template, or one merged into a wider one (`merged_into`) or evicted (not alive)."""

    id: int
    template: str
    tokens: tuple[str, ...]
    wild: tuple[int, ...]
    cluster: Cluster
    last_used: int
    merged_into: Pattern | None = None
    alive: bool = True
    span: tuple[int, int] | None = None  # a span pattern's head and tail lengths (spans.py)

    def resolved(self) -> Pattern | None:
        """The live pattern this one stands for now: itself, the one it merged into, or None."""
        pattern = self
        while pattern.merged_into is not None:
            pattern = pattern.merged_into
        return pattern if pattern.alive else None


@dataclass(eq=False, slots=True)
class Cluster:
    """Rows of one length. While it holds one row (most clusters: rare or one-off lines) it
    keeps just that row; its per-position value counts are made when a second row joins."""

    size: int
    serial: int
    row: tuple[str, ...] | None = None  # the only row, until another joins
    # Per position: value -> rows that had it; None once the position is a wildcard.
    columns: list[dict[str, int] | None] | None = None
    # the columns with an empty set for a wildcard: score() counts in one C-level pass
    lookup: list[Container[str]] = field(default_factory=list)
    patterns: dict[str, Pattern] = field(default_factory=dict)
    edges: list[tuple[int, str]] = field(default_factory=list)  # (side, token) it is indexed by

    @classmethod
    def empty(cls, size: int, serial: int) -> Cluster:
        return cls(size, serial)

    @property
    def wild(self) -> tuple[int, ...]:
        if self.columns is None:
            return ()
        return tuple(i for i, column in enumerate(self.columns) if column is None)

    def is_wild(self, position: int) -> bool:
        return self.columns is not None and self.columns[position] is None

    def holds(self, position: int, token: str) -> bool:
        """Whether a row of this cluster had `token` at `position` (False at a wildcard)."""
        if self.columns is None:
            return self.row is not None and self.row[position] == token
        column = self.columns[position]
        return column is not None and token in column

    def make_wild(self, position: int) -> None:
        columns = self._columns()
        columns[position] = None
        self.lookup[position] = _NOTHING

    def score(self, tokens: Sequence[str]) -> int:
        """How many positions hold a value this cluster has seen there (wildcards not counted)."""
        if self.columns is None:
            return sum(map(eq, self.row or (), tokens))
        return sum(map(contains, self.lookup, tokens))

    def mismatches(self, tokens: Sequence[str]) -> int:
        """Positions where the row holds a value this cluster has not seen (wildcards match)."""
        if self.columns is None:
            return sum(map(ne, self.row or (), tokens))
        return sum(
            1
            for token, column in zip(tokens, self.columns, strict=True)
            if column is not None and token not in column
        )

    def add(self, tokens: Sequence[str], wild: Sequence[int] = ()) -> None:
        """Count a row's values; positions in `wild` (a loaded template's) become wildcards."""
        if self.columns is None and self.row is None and not wild:
            self.row = tuple(tokens)
            return
        for token, column in zip(tokens, self._columns(), strict=True):
            if column is not None:
                column[token] = column.get(token, 0) + 1
        for i in wild:
            self.make_wild(i)

    def widen(self, rows: Sequence[tuple[Sequence[str], int]]) -> list[int]:
        """Turn positions with enough distinct values into wildcards, except positions whose
        values go together with another's (_tied_positions). `rows`: this batch's rows of the
        cluster, each with the distinct bodies behind it. The positions changed."""
        if self.columns is None:
            return []
        changed = [
            i
            for i, column in enumerate(self.columns)
            if column is not None and len(column) >= WIDEN_AFTER
        ]
        if len(changed) > 1:
            tied = _tied_positions(changed, rows)
            changed = [i for i in changed if i not in tied]
        for i in changed:
            self.make_wild(i)
        return changed

    def _columns(self) -> list[dict[str, int] | None]:
        if self.columns is None:
            row = self.row
            self.columns = [{} for _ in range(self.size)] if row is None else [{t: 1} for t in row]
            self.lookup = list(self.columns)  # type: ignore[arg-type]
            self.row = None
        return self.columns


class ClusterIndex:
    """Clusters by length and the token at their first (side 0) or last (side 1) position, the
    last used at the end of each list; a list keeps the _BUCKET last used (older ones are left
    to exact fits)."""

    def __init__(self) -> None:
        self._by: dict[tuple[int, int], dict[str, list[Cluster]]] = {}

    def add(self, cluster: Cluster, side: int, token: str) -> None:
        bucket = self._by.setdefault((cluster.size, side), {}).setdefault(token, [])
        if bucket and bucket[-1] is cluster:
            return
        if (side, token) in cluster.edges:
            bucket.remove(cluster)
        else:
            cluster.edges.append((side, token))
        bucket.append(cluster)
        if len(bucket) > _BUCKET:
            dropped = bucket.pop(0)
            dropped.edges.remove((side, token))

    def recent(self, size: int, side: int, token: str, count: int) -> list[Cluster]:
        return self._by.get((size, side), {}).get(token, [])[-count:]

    def drop(self, cluster: Cluster) -> None:
        for side, token in cluster.edges:
            tokens = self._by[cluster.size, side]
            tokens[token].remove(cluster)
            if not tokens[token]:
                del tokens[token]
        cluster.edges.clear()


def _tied_positions(
    positions: Sequence[int], weighted_rows: Sequence[tuple[Sequence[str], int]]
) -> set[int]:
    """Positions whose values go together with another position's: the constant words of
    several templates (`lease.go ... migrated subscription` / `raft.go ... approved coupon`),
    not independent variables. See _linked."""
    rows = weighted_rows[:_TIE_ROWS]
    tied: set[int] = set()
    for n, a in enumerate(positions):
        for b in positions[n + 1 :]:
            if _linked(rows, a, b):
                tied.update((a, b))
    return tied


def _linked(rows: Sequence[tuple[Sequence[str], int]], a: int, b: int) -> bool:
    """Two positions are linked when their values form few pairs (at most half again as many
    as the larger number of values: each value goes with one or two of the other's), the two
    take comparable numbers of values from different words (`from NEW to RUNNING` draws both
    from one set of states: a variable pair), and each pair stands for _TIE_BODIES bodies on
    average (two variables that happen to pair up over a few bodies prove nothing)."""
    bodies = 0
    pairs: set[tuple[str, str]] = set()
    for tokens, count in rows:
        pairs.add((tokens[a], tokens[b]))
        bodies += count
    firsts = {first for first, _ in pairs}
    seconds = {second for _, second in pairs}
    low, high = sorted((len(firsts), len(seconds)))
    return (
        low >= WIDEN_AFTER
        and high <= 2 * low
        and len(pairs) <= 1.5 * high
        and not firsts & seconds
        and bodies >= _TIE_BODIES * len(pairs)
    )
