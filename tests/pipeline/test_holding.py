"""Which kept entries a budget holds, under which key, and how held entries merge."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.config.budget import BudgetConfig
from gateway.model import Entry, PatternRef, VariableValues
from gateway.pipeline.grouping import Grouping
from gateway.pipeline.holding import Holding, hold_key, merged, split_for_budget

NS = 1_000_000_000
NOW = 1_700_000_000 * NS
HOLDING = Holding(BudgetConfig(enabled=True).waits())
BY_PATTERN = Grouping(("pattern", "severity"))


def entry(body: str, band: str = "INFO", number: int = 9, **changes: object) -> Entry:
    made = Entry(body, number, band, "checkout", 1, NOW, NOW, services={"checkout": 1})
    for name, value in changes.items():
        setattr(made, name, value)
    return made


def pattern(pid: int, *tops: tuple[tuple[str, int], ...]) -> PatternRef:
    variables = tuple(VariableValues(top, 0, len(top)) for top in tops)
    return PatternRef(pid, "user <*> logged in", variables)


def test_errors_go_now_and_the_rest_wait_as_long_as_their_band_may() -> None:
    error = entry("disk failed", "ERROR", 17)
    info, warn = entry("user 1 logged in"), entry("slow query", "WARN", 13)
    going, held = split_for_budget("logflare", HOLDING, BY_PATTERN, [error, info, warn], NOW)
    assert going == [error]
    deadlines = {item.entry.body: item.deadline_ns - NOW for item in held}
    assert deadlines == {"user 1 logged in": 300 * NS, "slow query": 60 * NS}
    assert {item.exporter for item in held} == {"logflare"}


def test_the_key_is_the_dedupe_key_and_the_sample_rate() -> None:
    one = entry("user 1 logged in", pattern=pattern(7))
    two = entry("user 2 logged in", pattern=pattern(7), service="auth")
    assert hold_key(BY_PATTERN, one) == hold_key(BY_PATTERN, two)
    assert hold_key(BY_PATTERN, one) != hold_key(BY_PATTERN, entry("x", pattern=pattern(8)))
    assert hold_key(BY_PATTERN, one) != hold_key(
        BY_PATTERN, entry("x", "WARN", 13, pattern=pattern(7))
    )
    sampled = entry("user 1 logged in", pattern=pattern(7), sample_rate=5.0)
    assert hold_key(BY_PATTERN, one) != hold_key(BY_PATTERN, sampled)
    by_service = Grouping(("body", "severity", "service.name"))
    assert hold_key(by_service, entry("a")) != hold_key(by_service, entry("a", service="auth"))


def test_two_entries_of_one_key_in_a_batch_are_held_as_one() -> None:
    by_severity = Grouping(("severity",))
    _, held = split_for_budget("logflare", HOLDING, by_severity, [entry("a"), entry("b")], NOW)
    assert len(held) == 1 and held[0].entry.count == 2


def test_a_merged_entry_keeps_the_first_line_and_adds_up_the_rest() -> None:
    first = entry(
        "user 1 logged in", count=3, first_seen=NOW, last_seen=NOW + NS,
        services={"checkout": 3}, pattern=pattern(7, (("1", 2), ("2", 1))),
    )  # fmt: skip
    later = entry(
        "user 9 logged in", count=4, first_seen=NOW - NS, last_seen=NOW + 5 * NS,
        services={"auth": 4}, pattern=pattern(7, (("9", 3), ("1", 1))),
    )  # fmt: skip
    both = merged(first, later)
    assert (both.body, both.count, both.first_seen, both.last_seen) == (
        "user 1 logged in", 7, NOW - NS, NOW + 5 * NS,
    )  # fmt: skip
    assert both.services == {"auth": 4, "checkout": 3}
    assert both.pattern is not None
    values = both.pattern.variables[0]
    assert values.top == (("1", 3), ("9", 3)) and values.other == 1
    assert sum(n for _, n in values.top) + values.other == 7


services = st.dictionaries(
    st.sampled_from([f"s{i}" for i in range(30)]), st.integers(1, 9), min_size=1
)


@given(st.lists(services, min_size=1, max_size=30))
def test_merging_keeps_every_count_exact(spread: list[dict[str, int]]) -> None:
    """However many entries merge, the count and the records per service add up exactly."""
    parts = [entry("x", count=sum(per.values()), services=dict(per)) for per in spread]
    total = parts[0]
    for part in parts[1:]:
        total = merged(total, part)
    assert total.count == sum(part.count for part in parts)
    assert sum(total.services.values()) + total.services_other == total.count
    assert len(total.services) <= 20
