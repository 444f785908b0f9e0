"""Which cluster a new row of the miner joins (miner.py's learning pass): one of its length
that shares its first token and enough of its constant tokens, or one it differs from at its
first token only; None: the row starts a cluster of its own."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gateway.pipeline.patterns.clusters import Cluster, ClusterIndex
from gateway.pipeline.patterns.masks import WILDCARD

_CANDIDATES = 32  # clusters a new row is compared with, of each kind (see _candidates)


def similar(
    edges: ClusterIndex, empty: dict[int, Cluster], tokens: Sequence[str], similarity: float
) -> Cluster | None:
    """The cluster a new row joins: among clusters whose first position holds the row's
    first token (or is a wildcard), the one whose seen values cover the most positions, if
    at least `similarity` of them; otherwise a cluster the row differs from at one position
    only (a variable first token: `alice logged in`, `bob logged in`)."""
    if not tokens:
        return next(iter(empty.values()), None)
    same_first, others = _candidates(edges, tokens)
    best = _best(same_first, tokens)
    if best is not None and best[1] >= similarity * len(tokens):
        return best[0]
    if len(tokens) < 2:
        return None
    # The row differs from these at its first token already: a sibling matches the rest.
    last = tokens[-1]
    siblings = [
        cluster
        for cluster in others
        if (cluster.is_wild(-1) or cluster.holds(-1, last)) and cluster.mismatches(tokens) <= 1
    ]
    sibling = _best(siblings, tokens)
    return sibling[0] if sibling is not None else None


def _candidates(edges: ClusterIndex, tokens: Sequence[str]) -> tuple[list[Cluster], list[Cluster]]:
    """Clusters of the row's length whose first position holds its first token (or is a
    wildcard), and those whose last position holds its last token (the others): the
    _CANDIDATES last used of each kind, so that a flood of unrelated rows sharing both
    costs a bounded search per row."""
    size = len(tokens)
    first = edges.recent(size, 0, tokens[0], _CANDIDATES)
    first += edges.recent(size, 0, WILDCARD, _CANDIDATES)
    last = edges.recent(size, 1, tokens[-1], _CANDIDATES)
    last += edges.recent(size, 1, WILDCARD, _CANDIDATES)
    firsts = {id(cluster) for cluster in first}
    return list({id(c): c for c in first}.values()), [c for c in last if id(c) not in firsts]


def _best(clusters: Iterable[Cluster], tokens: Sequence[str]) -> tuple[Cluster, int] | None:
    """The cluster with the highest score (the oldest among equals)."""
    best: tuple[Cluster, int] | None = None
    for cluster in clusters:
        score = cluster.score(tokens)
        if (
            best is None
            or score > best[1]
            or (score == best[1] and cluster.serial < best[0].serial)
        ):
            best = (cluster, score)
    return best
