"""Python's cycle collector, off while a batch runs.

A batch allocates hundreds of thousands of small objects (entries, masked bodies, matches,
values); while the collector runs they set off collections, and those that reach the oldest
generation walk what lives long too (the miner's every pattern and cluster): a tenth of a
batch's time by pattern. Its objects go by reference counting; the few cycles made meanwhile
(here or in another thread) wait for the next collection.

What a batch leaves is walked once by the first young collection after it (some 20,000
objects on the realistic stream, about 5-10 ms). Moving it straight to the oldest generation
instead (a freeze and an unfreeze) was measured a few % quicker on the bench, but an unfreeze
moves every frozen object there: the start-up heap the gateway freezes (runtime/heap.py) and
the parent's modules a forked child shares with it (runtime/prefork.py) would be walked, and
copied, again.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off, then back on; unless a caller has it off (or it is off for good):
    then theirs to turn back on."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
