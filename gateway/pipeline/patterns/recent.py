"""The last batch's bodies, kept for the next one: a body that comes again is not masked again.

Masking is a function of the body alone (a masker never changes), so a body's masked text and
values are reused as they are; the pattern is looked up again (it may have widened, merged or
been evicted since). What is kept is what match() reads anyway: the last batch's distinct
bodies, no more (a batch keeps, of the last one's, only the bodies that come again). Keeping
each body's match too would save reading its variables again, but costs a batch of matches
held between batches and more than it saves on streams that seldom repeat a body.
"""

from __future__ import annotations

from gateway.pipeline.patterns.masks import Masker
from gateway.pipeline.patterns.scan import Masked

_FEW = 20  # fewer than 1 in this many bodies that come again: masking them all is quicker


class Recent:
    def __init__(self, masker: Masker) -> None:
        self._masker = masker
        self.masked: dict[str, Masked] = {}  # this batch's bodies (match() reads them here)

    def start(self, bodies: list[str]) -> list[Masked]:
        """A new batch: each body's masking in order, the last batch's where it comes again
        (unless few do: then finding where they go costs more than masking them)."""
        # The last batch's maskings that come again are kept, the rest let go before this
        # batch is masked: never two batches' maskings held at once.
        before, self.masked = self.masked, {}
        again = {body: before[body] for body in bodies if body in before}
        del before
        if len(again) * _FEW < len(bodies):
            found = self._masker.masked_many(bodies)
        else:
            fresh = [body for body in bodies if body not in again]
            masked = dict(zip(fresh, self._masker.masked_many(fresh), strict=True))
            found = [masked.get(body) or again[body] for body in bodies]
        self.masked = dict(zip(bodies, found, strict=True))
        return found
