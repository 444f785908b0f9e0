"""Miner.mine, the batch stage's two passes, reads each body from the masking learning made by
its position: it gives what learn() then match() of each body gives, batch after batch."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.pipeline.patterns.miner import Match, Miner
from tests.pipeline.patterns.test_properties import BODIES


def by_body(miner: Miner, batch: list[str], with_values: bool) -> list[Match]:
    miner.learn(dict.fromkeys(batch))
    return [miner.match(body, with_values) for body in dict.fromkeys(batch)]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(BODIES, max_size=12), min_size=1, max_size=5),
    st.sampled_from([2, 5, 100_000]),
    st.booleans(),
)
def test_mine_gives_what_learn_then_match_give(
    batches: list[list[str]], max_patterns: int, with_values: bool
) -> None:
    """Among patterns that widen, merge and (few kept) get evicted between batches; a body
    may come again in a later batch."""
    mined, matched = Miner(max_patterns=max_patterns), Miner(max_patterns=max_patterns)
    for n, batch in enumerate(batches):
        batch += batches[n - 1][:3] if n else []
        assert list(mined.mine(dict.fromkeys(batch), with_values)) == by_body(
            matched, batch, with_values
        )
        assert mined.take_merges() == matched.take_merges()
        assert mined.templates() == matched.templates()


def test_a_body_matched_twice_after_learning_reads_the_same() -> None:
    miner = Miner()
    bodies = [f"job {n} done in {n * 3} ms" for n in range(10)]
    miner.learn(bodies)
    first = [miner.match(body) for body in bodies]  # learning's maskings
    assert [miner.match(body) for body in bodies] == first  # masked again
    assert first[3] == Match(first[0].id, "job <NUM> done in <DURATION>", ("3", "9 ms"))


def test_mine_without_values_reads_none() -> None:
    (found,) = Miner().mine(["took 5 ms to commit"], with_values=False)
    assert found.template == "took <DURATION> to commit" and found.variables == ()
