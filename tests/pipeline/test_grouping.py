"""Grouping by rule and by pattern: exact counts, first records kept, values summarised."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.model import ClaimedRow, Entry
from gateway.pipeline.dedupe import dedupe
from gateway.pipeline.grouping import Grouping, Rule
from tests.builders import Rec, origins, queued

DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class Found:
    id: int
    template: str
    variables: tuple[str, ...]


class DigitMatcher:
    """A stand-in miner: every run of digits is a variable; it records what it was asked."""

    def __init__(self) -> None:
        self.learned: list[str] = []

    def learn(self, bodies: Iterable[str]) -> None:
        self.learned.extend(bodies)

    def match(self, body: str) -> Found:
        template = DIGITS.sub("<NUM>", body)
        return Found(hash(template) & 0x7FFF_FFFF, template, tuple(DIGITS.findall(body)))


def run(
    rows: list[ClaimedRow], grouping: Grouping, matcher: DigitMatcher | None = None
) -> list[Entry]:
    return dedupe(rows, origins(), grouping, matcher or DigitMatcher(), top_values=2)


def test_by_pattern_counts_exactly_and_keeps_the_first_real_body() -> None:
    bodies = ["took 5 ms", "took 7 ms", "took 5 ms", "GC pause", "took 9 ms"]
    (took, gc) = run(queued([Rec(b, 9) for b in bodies]), Grouping(("pattern", "severity")))
    assert (took.body, took.count, gc.count) == ("took 5 ms", 4, 1)
    assert took.pattern is not None and took.pattern.template == "took <NUM> ms"
    (variable,) = took.pattern.variables
    assert variable.top == (("5", 2), ("7", 1)) and variable.other == 1 and variable.distinct == 3


def test_bodies_are_learned_once_each_before_any_is_matched() -> None:
    matcher = DigitMatcher()
    run(queued([Rec(b) for b in ["a 1", "a 2", "a 1", "b"]]), Grouping(("pattern",)), matcher)
    assert matcher.learned == ["a 1", "a 2", "b"]


def test_a_rule_keeps_errors_by_exact_body_while_the_rest_goes_by_pattern() -> None:
    grouping = Grouping(("pattern", "severity"), (Rule(("body", "severity"), "ERROR"),))
    rows = queued([Rec("fail 1", 17), Rec("fail 2", 17), Rec("ok 1", 9), Rec("ok 2", 9)])
    entries = run(rows, grouping)
    assert [(e.body, e.count, e.pattern is not None) for e in entries] == [
        ("fail 1", 1, False),
        ("fail 2", 1, False),
        ("ok 1", 2, True),
    ]


def test_a_rule_for_one_service() -> None:
    grouping = Grouping(("body",), (Rule(("pattern",), service="noisy"),))
    rows = queued([Rec("n 1"), Rec("n 2")], service="noisy")
    rows += queued([Rec("q 1"), Rec("q 2")], service="quiet", first_id=3)
    assert [(e.body, e.count) for e in run(rows, grouping)] == [("n 1", 2), ("q 1", 1), ("q 2", 1)]


def test_keys_without_a_body_group_a_whole_band() -> None:
    rows = queued([Rec("a", 9), Rec("b", 10), Rec("c", 17)])
    assert [(e.body, e.count) for e in run(rows, Grouping(("severity",)))] == [("a", 2), ("c", 1)]


BODIES = st.sampled_from(["x 1", "x 2", "y", "y 3 4", "z 10", "", "x 1"])
RECORDS = st.lists(st.tuples(BODIES, st.sampled_from([0, 5, 9, 13, 17, 21])), max_size=60)
KEYS = st.sampled_from([("pattern", "severity"), ("body",), ("pattern",), ("severity",)])


@settings(max_examples=200, deadline=None)
@given(records=RECORDS, default=KEYS, error_keys=KEYS)
def test_entries_always_sum_to_the_records_of_the_batch(
    records: list[tuple[str, int]], default: tuple[str, ...], error_keys: tuple[str, ...]
) -> None:
    grouping = Grouping(default, (Rule(error_keys, "ERROR"),))
    entries = run(queued([Rec(body, number) for body, number in records]), grouping)
    assert sum(entry.count for entry in entries) == len(records)
    for entry in entries:
        if entry.pattern is not None:
            for variable in entry.pattern.variables:
                assert sum(n for _, n in variable.top) + variable.other == entry.count
