"""Reuse across batches: a body that comes again keeps its masking, and gets the match a miner
that reuses nothing gives it, its pattern widened, merged, evicted or made a span since."""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.pipeline.patterns import recent
from gateway.pipeline.patterns.miner import Match, Miner, pattern_id
from tests.pipeline.patterns.test_properties import BODIES


class Forgetful:
    """A miner that reuses nothing from the last batch: each body masked and read afresh. (It
    holds one: the miner may be compiled, and compiled classes take no Python subclasses.)"""

    def __init__(self, max_patterns: int = 100_000) -> None:
        self.miner = Miner(max_patterns=max_patterns)

    def learn(self, bodies: Iterable[str]) -> None:
        self.miner._recent.forget()  # no body comes again
        self.miner.learn(bodies)

    def match(self, body: str, with_values: bool = True) -> Match:
        return self.miner.match(body, with_values)

    def load(self, templates: list[str]) -> None:
        self.miner.load(templates)

    def take_merges(self) -> dict[int, int]:
        return self.miner.take_merges()


def batches_through(miner: Miner | Forgetful, batches: list[list[str]]) -> list[object]:
    """Per batch: each record's match, and the merges the batch made."""
    seen: list[object] = []
    for batch in batches:
        miner.learn(dict.fromkeys(batch))
        seen.append({body: miner.match(body) for body in batch})
        seen.append({body: miner.match(body, with_values=False) for body in batch})
        seen.append(miner.take_merges())
    return seen


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(BODIES, max_size=12), min_size=2, max_size=5),
    st.lists(st.integers(0, 11), max_size=30),
    st.sampled_from([2, 5, 100_000]),
)
def test_reuse_gives_what_a_miner_that_reuses_nothing_gives(
    fresh: list[list[str]], again: list[int], max_patterns: int
) -> None:
    """Each batch takes bodies of earlier batches again (`again` picks them), among patterns
    that widen, merge and (few patterns kept) get evicted between batches."""
    batches = [fresh[0]]
    for n, batch in enumerate(fresh[1:]):
        earlier = [body for b in batches for body in b]
        picked = [earlier[i % len(earlier)] for i in again[n::3]] if earlier else []
        batches.append(batch + picked)
    reused = batches_through(Miner(max_patterns=max_patterns), batches)
    assert reused == batches_through(Forgetful(max_patterns=max_patterns), batches)


def test_a_body_that_comes_again_after_its_pattern_widened_gets_the_wide_one() -> None:
    miner = Miner()
    body = "Invalid user admin from 1.2.3.4"
    miner.learn([body, "Invalid user root from 1.2.3.5"])
    narrow = miner.match(body)
    assert (narrow.template, narrow.variables) == (
        "Invalid user admin from <IP>",
        ("1.2.3.4",),
    )
    miner.learn([body, "Invalid user oracle from 1.2.3.6"])  # a third user: the merge
    wide = miner.match(body)
    assert wide == Match(
        pattern_id("Invalid user <*> from <IP>"), wide.template, ("admin", "1.2.3.4")
    )
    assert miner.take_merges()[narrow.id] == wide.id


def test_a_body_that_comes_again_after_its_pattern_was_evicted_is_read_again() -> None:
    miner = Miner(max_patterns=1)
    miner.learn(["a1 b1 c1"])
    first = miner.match("a1 b1 c1")
    miner.learn(["x y"])  # takes the only place
    assert "a1 b1 c1" not in miner.templates()
    miner.learn(["a1 b1 c1"])
    again = miner.match("a1 b1 c1")
    assert again == first and "a1 b1 c1" in miner.templates()


def test_a_loaded_pattern_that_becomes_a_span_matches_as_without_reuse() -> None:
    """A loaded `head <*> tail` reads one token; once varying middles make it a span (the same
    pattern, its span set) a body that comes again is read as a span."""
    template = "unable to notify user:<ID>: <*> for tenant <NUM>"
    errors = ["i/o timeout", "connection refused", "dial tcp: lookup db: no such host"]
    body = "unable to notify user:7: EOF for tenant 7"
    later = [f"unable to notify user:{n}: {error} for tenant {n}" for n, error in enumerate(errors)]
    seen = []
    for miner in (Miner(), Forgetful()):
        miner.load([template])
        seen.append(batches_through(miner, [[body], [body, *later], [body, later[2]]]))
        assert miner.match(later[2]).variables == ("2", errors[2], "2")
    assert seen[0] == seen[1]


def test_only_the_last_batch_is_kept_and_its_bodies_are_not_masked_again() -> None:
    miner = Miner()
    miner.learn([f"job {n} done" for n in range(50)])
    kept = miner._recent.known("job 1 done")
    assert kept is not None and miner.match("job 1 done")  # matched: kept for the next batch
    miner.match("a body of no batch 1")  # masked, not kept: only a batch's bodies are
    miner.learn(["job 1 done", "job 2 done", "other 5"])
    assert miner._recent.known("job 3 done") is None
    assert miner._recent.known("a body of no batch 1") is None
    again = miner._recent.known("job 1 done")  # reused, not masked again: the same values
    assert again == kept and again is not None and again[1] is kept[1]
    assert miner._recent.known("other 5") is not None


def test_matched_bodies_are_let_go_but_the_first_few() -> None:
    """Once matched, a body's masking is kept for the next batch only among the first _KEPT;
    a body matched twice in a batch reads the same either way."""
    miner = Miner()
    miner._recent = recent.Recent(miner._masker, kept=3)
    bodies = [f"job {n} done" for n in range(10)]
    miner.learn(bodies)
    first = [miner.match(body) for body in bodies]
    assert [miner._recent.known(body) is not None for body in bodies] == [True] * 3 + [False] * 7
    assert [miner.match(body) for body in bodies] == first
    forgetful = Forgetful()
    forgetful.learn(bodies)
    assert first == [forgetful.match(body) for body in bodies]
