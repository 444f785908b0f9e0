"""The batch's maskings, for match(), and some of them kept for the next batch: a body that
comes again is not masked again.

Masking is a function of the body alone (a masker never changes), so a body's masked text and
values are reused as they are; the pattern is looked up again (it may have widened, merged or
been evicted since). What is kept is what match() reads anyway: the batch's distinct bodies,
each let go once matched but for the first _KEPT (`kept`), which wait for the next batch (a batch
keeps, of those, only the bodies that come again). A batch of 50,000 distinct bodies would
otherwise hold all their maskings until the next one, while that batch is claimed and
exported: the moment a gateway's memory peaks. Keeping each body's match too would save
reading its variables again, but costs a batch of matches held between batches and more than
it saves on streams that seldom repeat a body.
"""

from __future__ import annotations

from gateway.pipeline.patterns.masks import Masker
from gateway.pipeline.patterns.scan import Masked

_FEW = 20  # fewer than 1 in this many bodies that come again: masking them all is quicker
_KEPT = 10_000  # matched bodies' maskings kept for the next batch, at most


class Recent:
    def __init__(self, masker: Masker, kept: int = _KEPT) -> None:
        self._masker = masker
        self._kept_at_most = kept
        self._waiting: dict[str, Masked] = {}  # this batch's bodies not matched yet
        self._kept: dict[str, Masked] = {}  # matched ones kept for a repeat or the next batch

    def start(self, bodies: list[str], waiting: bool = True) -> list[Masked]:
        """A new batch: each body's masking in order, the last batch's where it comes again
        (unless few do: then finding where they go costs more than masking them). `waiting`:
        kept for take() by body; else the caller matches by position, then calls keep()."""
        # The last batch's maskings that come again are kept, the rest let go before this
        # batch is masked: never two batches' maskings held at once.
        again = self._again(bodies)
        self.forget()
        found = self._masked(bodies, again)
        if waiting:
            self._waiting = dict(zip(bodies, found, strict=True))
        return found

    def _again(self, bodies: list[str]) -> list[Masked | None] | None:
        """Each body's masking if the last batch has it; None when none comes again."""
        if not self._kept and not self._waiting:
            return None
        known = self.known if self._waiting else self._kept.get
        again = [known(body) for body in bodies]
        reused = len(again) - again.count(None)
        return again if reused * _FEW >= len(bodies) and reused else None

    def _masked(self, bodies: list[str], again: list[Masked | None] | None) -> list[Masked]:
        if again is None:
            return self._masker.masked_many(bodies)
        fresh = [body for body, known in zip(bodies, again, strict=True) if known is None]
        masked = self._masker.masked_many(fresh)
        found: list[Masked] = []
        taken = 0
        for known in again:  # indexed, not an iterator's next(): compiled, a tenth the cost
            if known is None:
                known = masked[taken]
                taken += 1
            found.append(known)
        return found

    def keep(self, bodies: list[str], found: list[Masked]) -> None:
        """A batch matched by position (start's `waiting` false): its first `kept` bodies'
        maskings wait for the next batch, as take() keeps the first matched."""
        kept = self._kept_at_most
        self._kept = dict(zip(bodies[:kept], found[:kept], strict=True))

    def take(self, body: str) -> Masked | None:
        """The body's masking for match(), if this batch (or the last) masked it."""
        masked = self._waiting.pop(body, None)
        if masked is None:
            return self._kept.get(body)
        if not self._waiting:  # all matched: its table (a batch's bodies long) goes too
            self._waiting = {}
        if len(self._kept) < self._kept_at_most:
            self._kept[body] = masked
        return masked

    def known(self, body: str) -> Masked | None:
        """The body's masking if this batch has it, matched or not (nothing is let go)."""
        masked = self._waiting.get(body)
        return masked if masked is not None else self._kept.get(body)

    def forget(self) -> None:
        self._waiting, self._kept = {}, {}
