"""The budget rows (bench/budgetbench.py, bench/budget_report.py): a short run of the real
thing, its figures as the rows judge them, and the sliding window they are counted in."""

from __future__ import annotations

import dataclasses

from bench.budgetbench import NS, BudgetResult, CaseResult, run_budget
from bench.budgetcounts import Counts
from bench.report import build
from testkit.logflare_rate import max_in_window

EXACT = Counts(
    keys=10, exact_keys=4, exact_wrong=0, sampled_by_rules=6, sampled_by_budget=0, worst=0.03,
    over_target=0, sampled_total=0.01, error=0.01, unreached=0,
)  # fmt: skip
GOOD = CaseResult(
    accepted=9_000, most_sent=450, refused_early=1, refused_late=0, errors_batched=300,
    errors_arrived=300, most_errors=40, errors_held=0, error_p99_s=3.0, counts=EXACT,
    rate=45.0, held_left=0, merged=100, budget_sampled=0,
)  # fmt: skip


def result(budget: CaseResult = GOOD, alone: CaseResult = GOOD) -> BudgetResult:
    refused = dataclasses.replace(GOOD, accepted=0, refused_early=7, refused_late=12)
    cases = {"budget": budget, "sampling": refused, "budget alone": alone}
    return BudgetResult(1_000, 600, 630, 90.0, 1.5, cases)


def test_a_short_run_holds_the_budget_and_counts_every_key() -> None:
    done = run_budget(rate=100, flood_s=40)
    budget, alone = done.cases["budget"], done.cases["budget alone"]
    for case in (budget, alone):
        assert case.most_sent <= 550 and case.refused_late == 0
        assert case.errors_held == 0 and case.errors_arrived == case.errors_batched > 0
        assert case.held_left == 0
    # The truth is the unsampled gateway's own rows: its counts are exact by construction;
    # the shipped gateway's unsampled keys exact too means both gave the same pattern ids.
    assert alone.counts.error == 0 and alone.counts.exact_wrong == 0
    assert budget.counts.exact_keys > 0 and budget.counts.exact_wrong == 0
    assert budget.counts.sampled_by_rules > 0  # INFO and DEBUG: the shipped rules sample them
    rows = build({"budget": done}, None)
    assert [row.measurement.split()[0] for row in rows] == ["12.", "12a.", "12b.", "12c."]
    assert "100 records/s" in rows[0].measurement


def test_the_rows_judge_each_figure() -> None:
    window, errors, counts, side = build({"budget": result()}, None)
    assert (window.verdict, errors.verdict, counts.verdict, side.verdict) == (
        "PASS", "PASS", "PASS", "info",
    )  # fmt: skip
    assert "19 429s" in window.compared_with and "0 of 300 held" in errors.result
    late = dataclasses.replace(GOOD, refused_late=1)
    assert build({"budget": result(late)}, None)[0].verdict == "FAIL"
    held = dataclasses.replace(GOOD, errors_held=1)
    assert build({"budget": result(held)}, None)[1].verdict == "FAIL"
    assert build({"budget": result(alone=late)}, None)[0].verdict == "FAIL"
    assert build({"budget": result(alone=held)}, None)[1].verdict == "FAIL"
    # Counts are judged on the budget alone: the shipped severity rules sample per entry.
    off = dataclasses.replace(GOOD, counts=dataclasses.replace(EXACT, over_target=1))
    assert build({"budget": result(alone=off)}, None)[2].verdict == "FAIL"
    assert build({"budget": result(budget=off)}, None)[2].verdict == "PASS"
    (skipped,) = build({"budget-high": "error: RuntimeError: boom"}, None)
    assert skipped.measurement.startswith("12h.") and skipped.verdict == "ERROR"


def test_the_window_slides_over_every_request() -> None:
    sent = [(0, 40), (5 * NS, 40), (9 * NS, 40), (10 * NS, 40), (19 * NS, 5)]
    assert max_in_window(sent, 10 * NS) == 120  # (0, 10 s]: the first is out at 10 s
    assert max_in_window([], 10 * NS) == 0
