"""The template miner: typed variables masked, untyped ones learned from structure.

Two passes per batch. `learn` runs over the batch's distinct bodies: each masked body (a row)
lands in the pattern it fits, or joins a cluster of rows of its length (joining.py), or starts
a cluster. Only at the end of the pass do clusters widen positions that have held WIDEN_AFTER
distinct values (clusters.py), so the decision sees the whole batch. Then patterns equal but
for a first token that took WIDEN_AFTER values merge, and so do patterns around a text of
varying length (spans.py). A pattern that widens merges into the wider one (`take_merges`).
`match` then gives each body its final pattern, reading the learned state only: a body's row
(its masked text) maps to one live pattern; a retired one points to the one it merged into.

Fallbacks: a body `learn` never saw maps to the most specific pattern it fits (awake, else
asleep), else to its own masked form as a template not learned (never raises). Bodies past the
masker's caps template on their head and a `<TAIL>` token (masks.py). Memory: at most
`active_patterns` awake between batches; the least recently used beyond fall asleep (an id
each, dormant.py); beyond `max_patterns` in all the longest asleep go (`evictions`). An empty
miner is falsy (`len` 0): test it with `is None`.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable, Iterator, Sequence
from sys import intern

from gateway.pipeline.patterns.clusters import WIDEN_AFTER, Cluster, ClusterIndex, Pattern
from gateway.pipeline.patterns.dormant import Dormant
from gateway.pipeline.patterns.index import PatternIndex
from gateway.pipeline.patterns.joining import similar
from gateway.pipeline.patterns.masks import WILDCARD, Masker
from gateway.pipeline.patterns.scan import Masked
from gateway.pipeline.patterns.spans import MIN_ANCHOR, family, fits
from gateway.pipeline.patterns.tokens import Match, Variables, project, unread, wild_positions

__all__ = ["WILDCARD", "Match", "Miner", "pattern_id"]

Row = tuple[str, ...]  # a masked body's tokens, interned
_EVICT_SLACK = 0.05  # evict down to 95 % of max_patterns, so eviction runs once in a while


def pattern_id(template: str) -> int:
    """The stable 63-bit id of a template: the same on every gateway, in every run."""
    digest = hashlib.blake2b(template.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


class Miner:
    def __init__(
        self,
        masker: Masker | None = None,
        similarity: float = 0.5,
        max_patterns: int = 100_000,
        active_patterns: int | None = None,  # None: all of max_patterns
    ) -> None:
        self._masker = masker or Masker()
        self._similarity = similarity
        self._max_patterns = max(1, max_patterns)
        self._active = min(self._max_patterns, max(1, active_patterns or self._max_patterns))
        self._variables = Variables(self._masker)
        self._index = PatternIndex()
        self._dormant = Dormant(pattern_id)
        self._rows: dict[str, Pattern] = {}  # masked text -> the pattern it landed in
        self._matched_asleep: dict[str, str] = {}  # this batch: row -> sleeping template
        self._row_limit = max(10_000, self._active)
        self._empty: dict[int, Cluster] = {}  # serial -> cluster, of rows of no tokens
        self._edges = ClusterIndex()
        self._merges: dict[int, int] = {}
        self._waiting: dict[str, Masked] = {}  # learn()'s maskings of bodies match() has not read
        self._serial = 0
        self._tick = 0
        self.evictions = 0

    def __len__(self) -> int:  # the patterns awake
        return len(self._index)

    @property
    def asleep(self) -> int:
        return len(self._dormant)

    def templates(self) -> list[str]:  # the awake patterns'
        return list(self._index.by_template)

    def take_merges(self) -> dict[int, int]:
        """Narrow pattern id -> the id of the wider pattern it merged into, since the last call."""
        merges, self._merges = self._merges, {}
        return {narrow: _final(merges, wide) for narrow, wide in merges.items()}

    def load(self, templates: Sequence[str]) -> None:
        """Known templates (from the store), oldest first: the newest `active_patterns` as
        rows whose wildcards are wildcards from the start, the others asleep."""
        self._tick += 1
        sleeping = max(0, len(templates) - self._active)
        for template in templates[:sleeping]:
            self._dormant.add(" ".join(template.split()))
        pending: dict[str, Row] = {}
        for template in templates[sleeping:]:
            tokens = template.split()
            if " ".join(tokens) not in self._index.by_template and template not in pending:
                pending[template] = tuple(map(intern, tokens))  # the split copies go now
        self._place(pending, {}, loaded=True)
        self._settle()

    def learn(self, bodies: Iterable[str]) -> None:
        """Pass 1 over a batch's distinct bodies; match() then gives each its pattern."""
        self._learn(list(bodies), waiting=True)

    def mine(self, bodies: Iterable[str], with_values: bool = True) -> Iterator[Match]:
        """learn(bodies), then each body's match() in order: the batch stage's two passes,
        each body read from the masking learning made by its position (no lookup by body),
        its masking let go once matched. Learning is done at the first match asked for; each
        match is made when asked for, so the caller may let it go before the next. Without
        values, bodies are masked without them and a match reads its variables when asked."""
        listed = list(bodies)
        found = self._learn(listed, waiting=False, with_values=with_values)
        found.reverse()  # popped from the end: in order
        listed.reverse()
        while found:
            text, values = found.pop()
            yield self._matched(listed.pop(), text, values, with_values)

    def _learn(self, bodies: list[str], waiting: bool, with_values: bool = True) -> list[Masked]:
        """Pass 1; each body's masking, in order (`waiting`: kept by body for match(); without
        values, the values may be left out)."""
        self._settle()  # before the batch: match() reads what learning leaves
        self._matched_asleep = {}
        self._tick += 1
        if len(self._rows) > self._row_limit:  # cleared between batches past the awake bound
            self._rows.clear()
        misses: list[str] = []  # rows no awake pattern fits (tokens split again: less held)
        bodies_of: dict[str, int] = {}  # distinct bodies behind each of those rows
        # Pass 2 reuses each body's masking: mine() by position, match() by body. None is kept
        # for the next batch: on the realistic stream a batch has a sixth of its bodies from
        # the last one, and finding them cost more than masking them again.
        found_all = self._masker.masked_many(bodies, with_values)
        self._waiting = dict(zip(bodies, found_all, strict=True)) if waiting else {}
        rows, tick = self._rows, self._tick
        for text, _ in found_all:
            known = rows.get(text)
            if known is not None and known.alive:  # the common case, kept short
                known.last_used = tick
            elif text in bodies_of:
                bodies_of[text] += 1
            elif not self._touch(text):
                tokens = text.split()
                fitted = self._index.fit(tokens) or self._index.fit_span(tokens)
                if fitted is None:
                    misses.append(text)
                    bodies_of[text] = 1
                else:
                    self._fitted(text, fitted)
        self._place(self._wake(misses), bodies_of)
        self._settle(self._tick)  # of those this batch did not use: match() reads the rest
        return found_all

    def _fitted(self, text: str, pattern: Pattern) -> None:
        # keyed by the template's string when the row reads the same (no copy)
        self._rows[pattern.template if pattern.template == text else text] = pattern
        pattern.last_used = self._tick

    def _wake(self, misses: list[str]) -> dict[str, Row]:
        """Fit the missed rows to sleeping patterns, woken while there is room, else matched
        asleep for this batch; the rest are new rows, their tokens interned."""
        woken: dict[str, Row] = {}
        room = self._active - len(self._index)
        for text in misses if self._dormant else ():
            template = self._dormant.find(text.split())
            if template is None or template in woken:
                continue
            if len(woken) < room:
                self._dormant.wake(template)
                woken[template] = tuple(map(intern, template.split()))
            else:
                self._matched_asleep[text] = template
        self._place(woken, {}, loaded=True)
        pending: dict[str, Row] = {}
        for text in misses:
            tokens = text.split()
            fitted = (self._index.fit(tokens) or self._index.fit_span(tokens)) if woken else None
            if fitted is not None:
                self._fitted(text, fitted)
            elif text not in self._matched_asleep:
                pending[text] = tuple(map(intern, tokens))
        return pending

    def match(self, body: str, with_values: bool = True) -> Match:
        """Pass 2: the body's pattern after learning, with the values of its variables (not
        `with_values`: read when first asked for)."""
        masked = self._waiting.pop(body, None)  # learn()'s masking, if it has one
        text, values = masked if masked is not None else self._masker.masked_with_values(body)
        return self._matched(body, text, values, with_values)

    def _matched(self, body: str, text: str, values: list[str], with_values: bool) -> Match:
        pattern = self._rows.get(text)
        if pattern is not None:
            pattern = pattern.resolved()
        elif (asleep := self._matched_asleep.pop(text, None)) is not None:  # let go once matched
            # No pattern is kept for a row matched asleep: a batch may match tens of thousands.
            return self._made(pattern_id(asleep), asleep, asleep, body, text, values, with_values)
        if pattern is None:
            tokens = text.split()
            pattern = self._index.fit(tokens) or self._index.fit_span(tokens)
            if pattern is None:
                asleep = self._dormant.find(tokens) if self._dormant else None
                if asleep is not None:  # a row matched asleep before, in this batch
                    found = pattern_id(asleep)
                    return self._made(found, asleep, asleep, body, text, values, with_values)
                template = " ".join(tokens)  # not learned: its own masked form, values its own
                found = pattern_id(template)
                return self._made(found, template, None, body, text, values, with_values)
        pattern.last_used = self._tick
        return self._made(pattern.id, pattern.template, pattern, body, text, values, with_values)

    def _made(
        self,
        id: int,
        template: str,
        source: Pattern | str | None,  # a live pattern, a sleeping template, or none
        body: str,
        text: str,
        values: list[str],
        read: bool,
    ) -> Match:
        if read:
            return Match(id, template, self._read(source, text, values))
        return unread(id, template, self, body, source)

    def variables_of(self, body: str, source: object) -> tuple[str, ...]:
        """An unread match's variables: the body masked again, with its values."""
        text, values = self._masker.masked_with_values(body)
        return self._read(source, text, values)

    def _read(self, source: object, text: str, values: list[str]) -> tuple[str, ...]:
        """The variables of the masked text in `source`'s template (see _made)."""
        if isinstance(source, Pattern):
            if source.span is None:
                return self._variables.read(source.tokens, source.wild, text, values)
            return self._variables.read_span(*source.span, text, values)
        if isinstance(source, str):
            tokens = tuple(map(intern, source.split()))  # a plan read keeps them: words shared
            return self._variables.read(tokens, wild_positions(tokens), text, values)
        return tuple(values)

    def _touch(self, text: str) -> bool:
        pattern = self._rows.get(text)
        if pattern is None:
            return False
        live = pattern.resolved()
        if live is None:
            del self._rows[text]
            return False
        if live is not pattern:
            self._rows[text] = live
        live.last_used = self._tick
        return True

    def _place(
        self, pending: dict[str, Row], bodies_of: dict[str, int], loaded: bool = False
    ) -> None:
        """Put new rows in clusters, widen the clusters they touched, then make the patterns.
        A row's tokens are interned (patterns and clusters share their words' strings)."""
        touched: dict[Cluster, list[tuple[str, Row]]] = {}
        for text, tokens in pending.items():
            cluster = similar(self._edges, self._empty, tokens, self._similarity)
            cluster = cluster or self._new_cluster(len(tokens))
            self._add_row(cluster, tokens, wild_positions(tokens) if loaded else ())
            touched.setdefault(cluster, []).append((text, tokens))
        made: dict[int, Pattern] = {}  # each pattern once, in order
        for cluster, rows in touched.items():
            cluster.widen([(tokens, bodies_of.get(text, 1)) for text, tokens in rows])
            self._reproject(cluster)
            cluster.compact()
            wild = cluster.wild
            for text, tokens in rows:
                pattern = self._pattern(cluster, project(tokens, wild), text)
                pattern.last_used = self._tick
                made[pattern.id] = pattern
                if not loaded:
                    self._rows[text] = pattern
        for pattern in made.values():
            if pattern.alive:
                self._merge_siblings(pattern)
        for pattern in made.values():
            if pattern.alive:
                self._merge_span(pattern)

    def _merge_span(self, pattern: Pattern) -> None:
        """Patterns around a middle of varying length become one span pattern (spans.py)."""
        if pattern.span is not None or len(pattern.tokens) <= MIN_ANCHOR:
            return
        found = family(pattern, self._index.same_head(pattern), self._similarity)
        if found is None:
            return
        head, tail, members = found
        span = self._span(head, tail)
        # and the patterns the span takes in (`to /favicon.ico failed` under `to <*> failed`)
        members += [other for other in self._index.same_head(pattern) if fits(span, other.tokens)]
        for member in members:
            if member is not span and member.alive:
                self._retire(member, merged_into=span)
                self._merges[member.id] = span.id

    def _span(self, head: tuple[str, ...], tail: tuple[str, ...]) -> Pattern:
        tokens = (*head, WILDCARD, *tail)
        template = " ".join(tokens)
        pattern = self._index.by_template.get(template)
        if pattern is not None:
            if pattern.span is None:  # the same text read as a one-token wildcard: widen it
                self._index.remove(pattern)
                pattern.span = (len(head), len(tail))
                self._index.add(pattern)
            return pattern
        self._serial += 1
        holder = Cluster.empty(len(tokens), self._serial)  # in no index: spans are not rows
        pattern = Pattern(
            pattern_id(template),
            template,
            tokens,
            wild_positions(tokens),
            holder,
            self._tick,
            span=(len(head), len(tail)),
        )
        holder.take(pattern)
        self._index.add(pattern)
        return pattern

    def _merge_siblings(self, pattern: Pattern) -> None:
        """Patterns equal but for a first token that has taken WIDEN_AFTER values (`GET /a`,
        `PUT /a`, `HEAD /a`; or `alice logged in`...) become one: they may sit in different
        clusters (rows join clusters by their first token), so they move to a new one."""
        siblings = self._index.siblings(pattern)
        if len(siblings) < WIDEN_AFTER or pattern.wild[:1] == (0,):
            return
        # as for a row joining a cluster: enough constant tokens shared (`Started <*>` and
        # `Stopped <*>` share none)
        if len(pattern.tokens) - len(pattern.wild) - 1 < self._similarity * len(pattern.tokens):
            return
        family = self._new_cluster(len(pattern.tokens))
        for sibling in list(siblings.values()):
            family.add(sibling.tokens, sibling.wild)
            old = sibling.cluster
            old.release(sibling)
            if not old.patterns:
                self._drop_cluster(old)
            sibling.cluster = family
            family.take(sibling)
        family.make_wild(0)
        self._index_edges(family, pattern.tokens)
        self._reproject(family)
        family.compact()

    def _new_cluster(self, size: int) -> Cluster:
        self._serial += 1
        cluster = Cluster.empty(size, self._serial)
        if not size:  # found by _similar; other clusters are found through their edges
            self._empty[cluster.serial] = cluster
        return cluster

    def _add_row(self, cluster: Cluster, tokens: Sequence[str], wild: Sequence[int]) -> None:
        cluster.add(tokens, wild)
        if tokens:
            self._index_edges(cluster, tokens)

    def _index_edges(self, cluster: Cluster, tokens: Sequence[str]) -> None:
        """Index the cluster under the row's first and last tokens, as the last used there."""
        self._edges.add(cluster, 0, WILDCARD if cluster.is_wild(0) else tokens[0])
        self._edges.add(cluster, 1, WILDCARD if cluster.is_wild(-1) else tokens[-1])

    def _reproject(self, cluster: Cluster) -> None:
        """After widening: each pattern of the cluster merges into its widened form."""
        wild = cluster.wild
        if not wild:
            return
        if cluster.size:
            for side, position in ((0, 0), (1, -1)):
                if cluster.is_wild(position):
                    self._edges.add(cluster, side, WILDCARD)
        for pattern in cluster.patterns:  # a tuple: the loop's changes make the cluster a new one
            tokens = project(pattern.tokens, wild)
            if tokens != pattern.tokens:
                wider = self._pattern(cluster, tokens)
                self._retire(pattern, merged_into=wider)
                self._merges[pattern.id] = wider.id

    def _pattern(self, cluster: Cluster, tokens: tuple[str, ...], text: str = "") -> Pattern:
        """The pattern of these tokens, made if new: its template the row's text (`text`, a
        string the row cache or the store holds anyway) when they read the same."""
        template = " ".join(tokens)
        pattern = self._index.by_template.get(template)
        if pattern is None:
            if template == text:
                template = text
            wild = wild_positions(tokens)
            pattern = Pattern(pattern_id(template), template, tokens, wild, cluster, self._tick)
            self._index.add(pattern)
            cluster.take(pattern)
        return pattern

    def _retire(self, pattern: Pattern, merged_into: Pattern | None = None) -> None:
        pattern.alive = False
        pattern.merged_into = merged_into
        self._index.remove(pattern)
        cluster = pattern.cluster
        cluster.release(pattern)
        if not cluster.patterns and merged_into is None:
            self._drop_cluster(cluster)

    def _drop_cluster(self, cluster: Cluster) -> None:
        self._empty.pop(cluster.serial, None)
        self._edges.drop(cluster)

    def _settle(self, spare: int = 0) -> None:
        """Beyond active_patterns, the least recently used fall asleep (not those used at tick
        `spare`; nor span patterns, which cannot); beyond max_patterns in all, the longest
        asleep are forgotten."""
        excess = len(self._index) - self._active
        if excess > 0:
            excess += int(self._active * _EVICT_SLACK)
            patterns = (
                p
                for p in self._index.by_template.values()
                if p.span is None and p.last_used != spare
            )
            for pattern in heapq.nsmallest(excess, patterns, key=lambda p: p.last_used):
                self._retire(pattern)
                self._dormant.add(pattern.template)
        self.evictions += self._dormant.trim(self._max_patterns - len(self._index))


def _final(merges: dict[int, int], wide: int) -> int:
    seen = {wide}
    while wide in merges and merges[wide] not in seen:
        wide = merges[wide]
        seen.add(wide)
    return wide
