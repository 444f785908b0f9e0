"""Grouping by rule and by pattern: exact counts, first records kept, values summarised."""

from __future__ import annotations

import gc
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.model import ClaimedRow, Entry, VariableValues
from gateway.pipeline.dedupe import dedupe
from gateway.pipeline.grouping import MAX_VALUE_CHARS, Grouping, Rule, _top
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

    def mine(self, bodies: list[str], with_values: bool = True) -> list[Found]:
        self.learn(bodies)
        return [self.match(body, with_values) for body in bodies]

    def match(self, body: str, with_values: bool = True) -> Found:
        template = DIGITS.sub("<NUM>", body)
        values = tuple(DIGITS.findall(body)) if with_values else ()
        return Found(hash(template) & 0x7FFF_FFFF, template, values)


def run(
    rows: list[ClaimedRow],
    grouping: Grouping,
    matcher: DigitMatcher | None = None,
    top_values: int = 2,
) -> list[Entry]:
    return dedupe(rows, origins(), grouping, matcher or DigitMatcher(), top_values=top_values)


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


def test_services_split_the_fine_entries_only_when_a_key_or_rule_names_them() -> None:
    assert not Grouping(("pattern", "severity")).by_service
    assert Grouping(("pattern", "severity", "service.name")).by_service
    assert Grouping(("pattern",), (Rule(("body",), service="checkout"),)).by_service
    assert Grouping(("pattern",), (Rule(("body", "service.name"), "ERROR"),)).by_service


def test_no_top_values_reads_no_variables_and_still_counts_exactly() -> None:
    bodies = ["took 5 ms", "took 7 ms", "took 5 ms"]
    (took,) = run(queued([Rec(b, 9) for b in bodies]), Grouping(("pattern",)), top_values=0)
    assert took.count == 3 and took.pattern is not None
    assert (took.pattern.template, took.pattern.variables) == ("took <NUM> ms", ())


LONG = "9" * 150  # two values past MAX_VALUE_CHARS that differ only after it: one top value
VALUE_BODIES = st.sampled_from(["t 1 ms", "t 2 ms", "t 1 ms 3", f"t {LONG}1", f"t {LONG}2", "t 3"])


@settings(max_examples=200, deadline=None)
@given(records=st.lists(VALUE_BODIES, max_size=80), top=st.integers(1, 4))
def test_top_values_count_every_record_in_order_of_first_appearance(
    records: list[str], top: int
) -> None:
    """Entries of many records (past the 8 counted row by row), values cut to 200 characters,
    ties kept in order of first appearance: as counting each record's values one by one."""
    entries = run(
        queued([Rec(body, 9) for body in records]), Grouping(("pattern",)), top_values=top
    )
    matcher = DigitMatcher()
    for entry in entries:
        assert entry.pattern is not None
        expected: list[Counter[str]] = []
        for body in records:
            found = matcher.match(body)
            if found.id == entry.pattern.id:
                expected = expected or [Counter() for _ in found.variables]
                for counter, value in zip(expected, found.variables, strict=True):
                    counter[value[:MAX_VALUE_CHARS]] += 1
        summaries = [
            VariableValues(
                tuple(c.most_common(top)), c.total() - sum(n for _, n in c.most_common(top)), len(c)
            )
            for c in expected
        ]
        assert list(entry.pattern.variables) == summaries


class RaggedMatcher(DigitMatcher):
    """One id whatever the body, with as many variables as the body has numbers."""

    def match(self, body: str, with_values: bool = True) -> Found:
        return Found(1, "one", tuple(DIGITS.findall(body)) if with_values else ())


def test_variables_of_varying_numbers_count_as_far_as_the_first_match_has_them() -> None:
    bodies = ["a 1 2", "b 3", "a 1 2", "c 4 5 6"] + ["b 3"] * 9
    (entry,) = run(queued([Rec(b, 9) for b in bodies]), Grouping(("pattern",)), RaggedMatcher())
    assert entry.pattern is not None
    first, second = entry.pattern.variables
    assert (first.top, first.other) == ((("3", 10), ("1", 2)), 1)
    assert (second.top, second.other, second.distinct) == ((("2", 2), ("5", 1)), 0, 2)


class FailingMatcher(DigitMatcher):
    def learn(self, bodies: Iterable[str]) -> None:
        assert not gc.isenabled()  # paused while the batch is regrouped
        raise RuntimeError("miner failed")


def test_the_collector_is_paused_while_regrouping_and_back_on_after_even_on_failure() -> None:
    rows = queued([Rec("took 5 ms", 9)])
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="miner failed"):
        run(rows, Grouping(("pattern",)), FailingMatcher())
    assert gc.isenabled()
    run(rows, Grouping(("pattern",)))
    assert gc.isenabled()


def test_a_collector_paused_by_the_caller_stays_paused() -> None:
    gc.disable()
    try:
        run(queued([Rec("took 5 ms", 9)]), Grouping(("pattern",)))
        assert not gc.isenabled()
    finally:
        gc.enable()


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=3), st.integers(1, 6), max_size=40), st.integers(0, 8))
def test_top_values_are_a_stable_sort_by_records_cut_to_size(
    counts: dict[str, int], size: int
) -> None:
    """Most records first, ties in order of first appearance: Counter.most_common's order."""
    expected = sorted(counts.items(), key=lambda item: item[1], reverse=True)[:size]
    assert _top(counts, size) == expected
    assert _top(counts, size) == Counter(counts).most_common(size)
