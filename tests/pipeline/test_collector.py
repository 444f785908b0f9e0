"""The cycle collector around a batch: off during it, back on after, and a collector the
caller turned off stays off."""

from __future__ import annotations

import gc

import pytest

from gateway.pipeline.collector import collector_paused


def test_the_collector_is_off_during_a_batch_and_on_after_even_on_failure() -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("batch failed")
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_batch_leaves_the_frozen_heap_frozen() -> None:
    """What the gateway froze at start (and a forked child shares) is not walked again."""
    gc.collect()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collector_paused():
            made = [object() for _ in range(100)]
        assert gc.get_freeze_count() == frozen and made
    finally:
        gc.unfreeze()
