"""Dormant patterns: known templates kept as ids beyond active_patterns, matched and woken by
the rows that fit them, forgotten least recently used first beyond max_patterns."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.pipeline.patterns.clusters import WIDEN_AFTER
from gateway.pipeline.patterns.dormant import Dormant
from gateway.pipeline.patterns.miner import Miner, pattern_id

USERS = ["alice", "bob", "carol", "dave", "erin", "frank"]


def statement(n: int, user: str = "{user}") -> str:
    """Template n's body: its own constant words, a user name, a typed value."""
    return f"job{n} step{n} ran for {user} in {n * 3 + 1} ms"


def row(text: str) -> list[str]:
    return text.split()


def teaching(numbers: range) -> list[str]:
    """Bodies that teach each statement with its user position widened."""
    return [statement(n, user) for n in numbers for user in USERS[:WIDEN_AFTER]]


def test_a_row_finds_the_most_specific_sleeping_pattern_it_fits() -> None:
    dormant = Dormant(pattern_id)
    dormant.add("user <*> logged <*>")
    dormant.add("user <*> logged in")
    dormant.add("user alice logged in")
    assert dormant.find(row("user alice logged in")) == "user alice logged in"
    assert dormant.find(row("user bob logged in")) == "user <*> logged in"
    assert dormant.find(row("user bob logged out")) == "user <*> logged <*>"
    assert dormant.find(row("user bob signed out")) is None
    assert dormant.find(row("user bob logged in now")) is None  # another length
    assert len(dormant) == 3


def test_a_keyed_wildcard_keeps_its_key() -> None:
    dormant = Dormant(pattern_id)
    dormant.add("login user=<*> ok")
    assert dormant.find(row("login user=alice ok")) == "login user=<*> ok"
    assert dormant.find(row("login role=alice ok")) is None


def test_waking_takes_a_pattern_out_and_forgetting_goes_least_recently_used_first() -> None:
    dormant = Dormant(pattern_id)
    for n in range(4):
        dormant.add(f"task{n} done in <NUM> ms")
    assert dormant.find(row("task0 done in <NUM> ms")) == "task0 done in <NUM> ms"  # used
    dormant.wake("task3 done in <NUM> ms")
    assert dormant.find(row("task3 done in <NUM> ms")) is None
    assert dormant.trim(room=1) == 2  # task1 and task2 go; task0 was used last
    assert dormant.find(row("task0 done in <NUM> ms")) == "task0 done in <NUM> ms"
    assert dormant.find(row("task1 done in <NUM> ms")) is None
    assert dormant.trim(room=0) == 1 and len(dormant) == 0
    assert dormant.find(row("task0 done in <NUM> ms")) is None  # no shape of that length


def test_a_pattern_put_to_sleep_twice_sleeps_once() -> None:
    dormant = Dormant(pattern_id)
    dormant.add("a <*> c")
    dormant.add("a <*> c")
    assert len(dormant) == 1
    dormant.wake("a <*> c")
    assert len(dormant) == 0 and dormant.find(["a", "b", "c"]) is None


def test_bodies_of_sleeping_patterns_keep_their_ids() -> None:
    miner = Miner(max_patterns=1_000, active_patterns=10)
    miner.learn(teaching(range(60)))
    first = {n: miner.match(statement(n, "alice")) for n in range(60)}
    assert all("<*>" in match.template for match in first.values())
    miner.learn(["unrelated line"])  # the next batch starts: the unused beyond 10 sleep
    assert len(miner) <= 11 and miner.asleep >= 49 and miner.evictions == 0
    later = [statement(n, "zed") for n in range(60)]
    miner.learn(later)
    assert [miner.match(body).id for body in later] == [first[n].id for n in range(60)]
    assert miner.match(later[0]).variables == ("zed", "1 ms")


def test_rows_matched_asleep_leave_a_full_miner_as_it_is_and_wake_when_there_is_room() -> None:
    miner = Miner(max_patterns=1_000, active_patterns=10)
    miner.learn(teaching(range(40)))
    miner.learn(teaching(range(40, 50)))  # these ten are the ones awake after it
    awake = set(miner.templates())
    miner.learn([statement(n, "zed") for n in range(30)])  # full: matched asleep
    assert set(miner.templates()) == awake
    roomy = Miner(max_patterns=1_000, active_patterns=30)
    roomy.learn(teaching(range(40)))
    roomy.learn(teaching(range(40, 50)))  # 29 awake after it (30 less 5 % slack)
    before = set(roomy.templates())
    roomy.learn([statement(n, "zed") for n in range(3)])  # room for one: it wakes
    assert len(set(roomy.templates()) - before) == 1 and len(roomy) == 30


def test_a_restarted_miner_loads_the_newest_awake_and_the_rest_asleep() -> None:
    teacher = Miner()
    teacher.learn(teaching(range(50)))
    known = {n: teacher.match(statement(n, "alice")) for n in range(50)}
    restarted = Miner(max_patterns=1_000, active_patterns=20)
    restarted.load([known[n].template for n in range(50)])  # oldest first
    assert len(restarted) == 20 and restarted.asleep == 30
    assert set(restarted.templates()) == {known[n].template for n in range(30, 50)}
    bodies = [statement(n, "zed") for n in range(50)]
    restarted.learn(bodies)
    assert [restarted.match(body).id for body in bodies] == [known[n].id for n in range(50)]


def test_beyond_max_patterns_the_longest_asleep_are_forgotten_and_counted() -> None:
    miner = Miner(max_patterns=200, active_patterns=100)
    for start in range(0, 300, 50):
        miner.learn(teaching(range(start, start + 50)))
    miner.learn(["the last batch"])
    assert len(miner) + miner.asleep <= 200
    assert miner.evictions == 300 + 1 - len(miner) - miner.asleep
    assert miner.match(statement(299, "zed")).template == (
        "job299 step299 ran for <*> in <DURATION>"
    )  # recent: still known
    assert miner.match(statement(0, "zed")).template == "job0 step0 ran for zed in <DURATION>"
    # forgotten: its own masked form


@settings(max_examples=40, deadline=None)
@given(
    active=st.integers(1, 40),
    order=st.randoms(use_true_random=False),
    batches=st.integers(2, 5),
)
def test_a_bounded_miner_gives_learned_templates_the_ids_an_unbounded_one_does(
    active: int, order: random.Random, batches: int
) -> None:
    bounded = Miner(max_patterns=10_000, active_patterns=active)
    unbounded = Miner(max_patterns=10_000)
    for miner in (bounded, unbounded):
        miner.learn(teaching(range(60)))
    for _ in range(batches):
        chosen = order.sample(range(60), order.randint(1, 60))
        batch = [statement(n, order.choice([*USERS, "zed", "yan"])) for n in chosen]
        ids = []
        for miner in (bounded, unbounded):
            miner.learn(batch)
            ids.append([miner.match(body).id for body in batch])
        assert ids[0] == ids[1]
    assert bounded.evictions == unbounded.evictions == 0


def test_bodies_that_mask_alike_all_match_their_sleeping_pattern() -> None:
    miner = Miner(max_patterns=1_000, active_patterns=10)
    miner.learn(teaching(range(40)))
    template = miner.match(statement(0, "alice")).template
    miner.learn(["another batch"])  # statement 0 falls asleep
    assert template not in miner.templates()
    twins = [statement(0, "zed").replace(" 1 ms", f" {n} ms") for n in (5, 7, 9)]
    miner.learn(twins)  # one row: the three bodies mask alike
    assert [miner.match(body).template for body in twins] == [template] * 3
    assert [miner.match(body).variables for body in twins] == [
        ("zed", "5 ms"),
        ("zed", "7 ms"),
        ("zed", "9 ms"),
    ]
