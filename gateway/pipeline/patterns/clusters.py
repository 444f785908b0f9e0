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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import contains, eq, ne

WIDEN_AFTER = 3
_BUCKET = 256  # clusters kept per first or last token (ClusterIndex)
_TIE_ROWS = 1000  # rows looked at to tell columns that vary together
_TIE_BODIES = 2
# A cluster's column: the values its rows had at a position, in a tuple while they are few (a
# constant position holds one: most do), past _FEW in a set; _WILD once it is a wildcard.
Column = tuple[str, ...] | set[str] | frozenset[str]
_WILD: frozenset[str] = frozenset()  # holds no value, so score() counts no match there
_FEW = 8


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
    keeps just that row (its pattern's tokens, the same tuple); its columns are made when a
    second row joins. Columns that each hold one value or are wildcards go back to one `row`
    (`compact`), None at a wildcard: the same answers, a tuple instead of a list of tuples.
    Memory per cluster is what bounds a miner of 100,000 patterns, so what it holds is in
    tuples, replaced when they change (rarely), rather than in lists or dicts; the tokens it
    is indexed by (ClusterIndex), one at each end in most clusters, in slots of their own."""

    size: int
    serial: int
    row: tuple[str | None, ...] | None = None  # the only row, or compacted columns (None: wild)
    columns: list[Column] | None = None  # per position (see Column)
    held: Pattern | tuple[Pattern, ...] = ()  # its live patterns, oldest first (one: itself)
    first: str | None = None  # a token it is indexed by at its first position (side 0)
    last: str | None = None  # and at its last (side 1)
    more: tuple[int | str, ...] = ()  # any other (side, token) pairs it is indexed by, flattened

    @classmethod
    def empty(cls, size: int, serial: int) -> Cluster:
        return cls(size, serial)

    @property
    def patterns(self) -> tuple[Pattern, ...]:
        """Its live patterns, oldest first."""
        held = self.held
        return held if isinstance(held, tuple) else (held,)

    @property
    def wild(self) -> tuple[int, ...]:
        if self.columns is None:
            row = self.row
            if row is None or None not in row:
                return ()
            return tuple(i for i, token in enumerate(row) if token is None)
        return tuple(i for i, column in enumerate(self.columns) if column is _WILD)

    def is_wild(self, position: int) -> bool:
        if self.columns is None:
            return self.row is not None and self.row[position] is None
        return self.columns[position] is _WILD

    def holds(self, position: int, token: str) -> bool:
        """Whether a row of this cluster had `token` at `position` (False at a wildcard)."""
        if self.columns is None:
            return self.row is not None and self.row[position] == token
        return token in self.columns[position]

    def make_wild(self, position: int) -> None:
        self._columns()[position] = _WILD

    def score(self, tokens: Sequence[str]) -> int:
        """How many positions hold a value this cluster has seen there (wildcards not counted)."""
        if self.columns is None:
            return sum(map(eq, self.row or (), tokens))
        return sum(map(contains, self.columns, tokens))

    def mismatches(self, tokens: Sequence[str]) -> int:
        """Positions where the row holds a value this cluster has not seen (wildcards match)."""
        if self.columns is None:
            row = self.row or ()
            differ: int = sum(map(ne, row, tokens))
            return differ - row.count(None)  # a None (a wildcard) differs from every token
        return sum(
            1
            for token, column in zip(tokens, self.columns, strict=True)
            if column is not _WILD and token not in column
        )

    def add(self, tokens: Sequence[str], wild: Sequence[int] = ()) -> None:
        """Note a row's values; positions in `wild` (a loaded template's) become wildcards."""
        if self.columns is None and self.row is None and not wild:
            self.row = tuple(tokens)
            return
        columns = self._columns()
        for i, token in enumerate(tokens):
            column = columns[i]
            if column is not _WILD and token not in column:
                columns[i] = _with(column, token)
        for i in wild:
            self.make_wild(i)

    def take(self, pattern: Pattern) -> None:
        held = self.held
        if isinstance(held, tuple):
            self.held = (*held, pattern) if held else pattern
        else:
            self.held = (held, pattern)

    def release(self, pattern: Pattern) -> None:
        """Forget a pattern (retired, or moved to another cluster), if it is one of ours."""
        if pattern in self.patterns:
            rest = tuple(other for other in self.patterns if other is not pattern)
            self.held = rest[0] if len(rest) == 1 else rest

    def widen(self, rows: Sequence[tuple[Sequence[str], int]]) -> list[int]:
        """Turn positions with enough distinct values into wildcards, except positions whose
        values go together with another's (_tied_positions). `rows`: this batch's rows of the
        cluster, each with the distinct bodies behind it. The positions changed."""
        if self.columns is None:
            return []
        changed = [
            i
            for i, column in enumerate(self.columns)
            if column is not _WILD and len(column) >= WIDEN_AFTER
        ]
        if len(changed) > 1:
            tied = _tied_positions(changed, rows)
            changed = [i for i in changed if i not in tied]
        for i in changed:
            self.make_wild(i)
        return changed

    def compact(self) -> None:
        """Columns of one value each, or wildcards, kept as one row (None at a wildcard)."""
        columns = self.columns
        if columns is None:
            return
        row: list[str | None] = []
        for column in columns:
            if column is _WILD:
                row.append(None)
            elif isinstance(column, tuple) and len(column) == 1:
                row.append(column[0])
            else:
                return
        self.row, self.columns = tuple(row), None

    def edges(self) -> list[tuple[int, str]]:
        """The (side, token) pairs it is indexed by."""
        pairs = [(0, self.first)] if self.first is not None else []
        if self.last is not None:
            pairs.append((1, self.last))
        return pairs + list(_pairs(self.more))

    def indexed(self, side: int, token: str) -> bool:
        if (self.first if side == 0 else self.last) == token:
            return True
        return (side, token) in zip(self.more[::2], self.more[1::2], strict=True)

    def note_edge(self, side: int, token: str) -> None:
        if side == 0 and self.first is None:
            self.first = token
        elif side == 1 and self.last is None:
            self.last = token
        else:
            self.more += (side, token)

    def forget_edge(self, side: int, token: str) -> None:
        if side == 0 and self.first == token:
            self.first = None
        elif side == 1 and self.last == token:
            self.last = None
        else:
            pairs = _pairs(self.more)
            self.more = tuple(part for pair in pairs if pair != (side, token) for part in pair)

    def forget_edges(self) -> None:
        self.first = self.last = None
        self.more = ()

    def _columns(self) -> list[Column]:
        if self.columns is None:
            row = self.row
            self.columns = (
                [()] * self.size
                if row is None
                else [_WILD if token is None else (token,) for token in row]
            )
            self.row = None
        return self.columns


def _with(column: Column, token: str) -> Column:
    """The column with one more value (a tuple grown, or a set that takes it in)."""
    if isinstance(column, tuple):
        return (*column, token) if len(column) < _FEW else {*column, token}
    assert isinstance(column, set)  # never _WILD: a wildcard takes no values
    column.add(token)
    return column


class ClusterIndex:
    """Clusters by length and the token at their first (side 0) or last (side 1) position, the
    last used at the end of each list; a list keeps the _BUCKET last used (older ones are left
    to exact fits)."""

    def __init__(self) -> None:
        # a list of clusters, or the only one as itself (most tokens are one cluster's)
        self._by: dict[tuple[int, int], dict[str, Cluster | list[Cluster]]] = {}

    def add(self, cluster: Cluster, side: int, token: str) -> None:
        tokens = self._by.setdefault((cluster.size, side), {})
        bucket = tokens.get(token)
        if bucket is cluster:
            return
        if not isinstance(bucket, list):  # none yet, or another one (so not this one here)
            tokens[token] = cluster if bucket is None else [bucket, cluster]
            cluster.note_edge(side, token)
            return
        if bucket[-1] is cluster:
            return
        if cluster.indexed(side, token):
            bucket.remove(cluster)
        else:
            cluster.note_edge(side, token)
        bucket.append(cluster)
        if len(bucket) > _BUCKET:
            bucket.pop(0).forget_edge(side, token)

    def recent(self, size: int, side: int, token: str, count: int) -> list[Cluster]:
        bucket = self._by.get((size, side), {}).get(token)
        if bucket is None:
            return []
        return bucket[-count:] if isinstance(bucket, list) else [bucket]

    def drop(self, cluster: Cluster) -> None:
        for side, token in cluster.edges():
            tokens = self._by[cluster.size, side]
            bucket = tokens[token]
            if not isinstance(bucket, list):
                del tokens[token]
                continue
            bucket.remove(cluster)
            if len(bucket) == 1:
                tokens[token] = bucket[0]
        cluster.forget_edges()


def _pairs(edges: tuple[int | str, ...]) -> Iterator[tuple[int, str]]:
    """(side, token) pairs from their flattened tuple."""
    for i in range(0, len(edges), 2):
        side, token = edges[i], edges[i + 1]
        assert isinstance(side, int) and isinstance(token, str)
        yield side, token


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
