"""Python's cycle collector around batches: off while one runs, and what it leaves skips the
young generations.

A batch allocates hundreds of thousands of small objects (entries, masked bodies, matches,
values); while the collector runs they set off collections that walk what lives long (the
miner's every pattern and cluster), a tenth of a batch's time by pattern. So it is off for the
batch (collector_paused; dedupe pauses it too when called on its own). Its objects go by
reference counting; the few cycles made meanwhile (here or in another thread) wait for the
next collection. What the batch
leaves (the miner's new state, the maskings and plans kept for the next batch: some 40,000
objects on the realistic stream) would then be walked by the first young collection after it,
about 10 ms a batch, and by the next one up: they go to the oldest generation at once instead
(a freeze and an unfreeze: two list splices).

CPython starts a full collection once the objects that young collections moved to the oldest
generation pass a quarter of those a full collection left (and the young ones have run a
hundred times: in the batch process, whose objects are nearly all made in batches, about every
hundred batches). The ones moved here are not in that count, so this keeps its own: a batch's
net new objects (the young count at its end: allocations less deallocations), and a full
collection when they pass a quarter of the objects the last one left and `least`. A full
collection walks every object the process holds, its libraries' too (some 100,000 objects,
60 ms); once per million new objects it costs well under 0.1 µs each, and the cycles a batch
leaves behind wait no longer than they would have.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

LEAST = 1_000_000  # net new objects before a full collection, however few the last one left


class BatchCollector:
    def __init__(self, least: int = LEAST) -> None:
        self._least = least
        self._grown = 0  # net new objects moved to the oldest generation since a full collection
        self._left = 0  # the objects the last full collection left
        self._full = _full_collections()  # so that one run elsewhere counts too

    def paused(self) -> AbstractContextManager[None]:
        """The collector off for a batch, what it leaves moved to the oldest generation."""
        return collector_paused(self._promote)

    def _promote(self) -> None:
        grown = gc.get_count()[0]
        gc.freeze()  # every generation into the permanent one...
        gc.unfreeze()  # ...and all of it into the oldest
        if _full_collections() != self._full:
            self._grown = 0  # a full collection ran since: it walked those before
        self._grown += grown
        if self._grown > max(self._least, self._left // 4):
            gc.collect()
            self._left = len(gc.get_objects())
            self._grown = 0
        self._full = _full_collections()


@contextmanager
def collector_paused(before_on: Callable[[], None] | None = None) -> Iterator[None]:
    """The collector off, then `before_on()` and back on; unless a caller has it off (or it
    is off for good): then theirs to turn back on, and nothing is done after."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if before_on is not None:
            before_on()
        gc.enable()


def _full_collections() -> int:
    return int(gc.get_stats()[-1]["collections"])
