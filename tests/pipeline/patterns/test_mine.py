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
    may come again in a later batch. Variables left for later (not `with_values`) read what
    learn() then match() read at once."""
    mined, matched = Miner(max_patterns=max_patterns), Miner(max_patterns=max_patterns)
    for n, batch in enumerate(batches):
        batch += batches[n - 1][:3] if n else []
        assert list(mined.mine(dict.fromkeys(batch), with_values)) == by_body(
            matched, batch, with_values=True
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


def test_mine_without_values_reads_them_when_asked() -> None:
    miner = Miner()
    (found,) = miner.mine(["took 5 ms to commit"], with_values=False)
    assert found.template == "took <DURATION> to commit"
    assert found._variables is None  # not read yet: the body was masked without its values
    assert found.variables == ("5 ms",)
    assert found._variables == ("5 ms",) and found._reader is None  # read once, then kept


def test_unread_variables_of_every_kind_of_match() -> None:
    """A live pattern, a span pattern, a template matched asleep, a body matched to no
    pattern: each reads, when asked, what it reads at once."""
    bodies = [f"user u{n} logged in from 10.0.0.{n} after {n} ms" for n in range(6)]
    errors = ["i/o timeout", "dial tcp: lookup db: no such host", "connection refused"]
    errors += ["broken pipe now", "context deadline exceeded by far"]
    bodies += [f"unable to notify user:{n}: {text} for tenant {n}" for n, text in enumerate(errors)]
    kinds: set[tuple[str, object]] = set()
    for active in (None, 1):
        eager, lazy = (Miner(max_patterns=50, active_patterns=active) for _ in range(2))
        for batch in (bodies, bodies[::-1]):
            found = list(lazy.mine(batch, with_values=False))
            kinds |= {(type(m._source).__name__, getattr(m._source, "span", None)) for m in found}
            assert found == list(eager.mine(batch))
    assert kinds == {("Pattern", None), ("Pattern", (4, 3)), ("str", None)}
    unlearned = Miner().match("never learned 42", with_values=False)  # its own masked form
    assert unlearned._source is None and unlearned.variables == ("42",)
