"""The cycle collector around batches: off during one, what it leaves in the oldest generation,
and cycles it leaves collected once enough new objects have gone there."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from gateway.pipeline.collector import BatchCollector


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> weakref.ref[Node]:
    """A garbage cycle (only the cycle collector frees it), and a way to see it go."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.fixture(autouse=True)
def no_full_collection_elsewhere() -> Iterator[None]:
    """Full collections only where the test makes them (young ones go on as usual)."""
    threshold = gc.get_threshold()
    gc.collect()
    gc.set_threshold(threshold[0], threshold[1], 10**9)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def test_the_collector_is_off_during_a_batch_and_on_after_even_on_failure() -> None:
    collector = BatchCollector()
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector.paused():
        raise RuntimeError("batch failed")
    assert gc.isenabled()


def test_what_a_batch_leaves_goes_to_the_oldest_generation() -> None:
    collector = BatchCollector()
    with collector.paused():
        left = [Node() for _ in range(1_000)]
    assert gc.get_count()[0] < 100  # not a thousand objects for the next young collection
    oldest = {id(found) for found in gc.get_objects(generation=2)}
    assert all(id(node) in oldest for node in left)


def test_cycles_a_batch_leaves_are_collected_once_enough_new_objects_went_old() -> None:
    collector = BatchCollector(least=1_000)
    kept: list[Node] = []
    with collector.paused():
        gone = cycle()
        kept += [Node() for _ in range(600)]
    assert gone() is not None  # 600 new objects: not yet
    with collector.paused():
        kept += [Node() for _ in range(600)]
    assert gone() is None  # 1,200: a full collection
    assert len(kept) == 1_200


def test_a_collector_the_caller_turned_off_stays_off_and_nothing_moves() -> None:
    collector = BatchCollector(least=1)
    gc.disable()
    try:
        with collector.paused():
            gone = cycle()
        assert not gc.isenabled() and gone() is not None
    finally:
        gc.enable()
    gc.collect()
    assert gone() is None
