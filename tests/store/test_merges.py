"""The merge plan: a batch's merges replayed in order as the one-by-one statements would see
them (the store's tests check the written result on both databases)."""

from __future__ import annotations

from gateway.store._merges import plan


def test_a_chain_in_one_batch_carries_every_total_to_its_end() -> None:
    known = {1: 1, 2: 2, 3: 3}
    assert plan([(1, 2), (2, 3)], known, {1, 2, 3}).retired == {1: 3, 2: 3}


def test_an_alias_already_leading_somewhere_is_followed() -> None:
    known = {1: 1, 2: 5, 5: 5}  # 2 was merged into 5 in an earlier batch
    assert plan([(1, 2)], known, {1, 5}).retired == {1: 5}


def test_merges_that_cannot_apply_are_skipped() -> None:
    known = {1: 9, 2: 2, 3: 3, 4: 4, 9: 9}
    merges = [
        (1, 2),  # 1 is merged already: its first merge wins
        (3, 4),  # 4 is stored nowhere: 3 keeps counting on its own
        (2, 2),  # onto itself
    ]
    assert plan(merges, known, {2, 3, 9}).retired == {}


def test_a_merge_back_onto_a_retired_id_is_skipped() -> None:
    known = {1: 1, 2: 2}
    assert plan([(1, 2), (2, 1)], known, {1, 2}).retired == {1: 2}
