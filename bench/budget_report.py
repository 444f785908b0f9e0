"""Rows 12-12c of the bench table (12h-12k at the higher rate): bench/budgetbench.py's
figures, each as (measurement, result, compared with, verdict, details)."""

from __future__ import annotations

from bench.budgetbench import (
    ERROR_TARGET_S,
    INTERVAL_S,
    WINDOW_CAP,
    BudgetResult,
    CaseResult,
)
from bench.budgetcounts import ESTIMATE_TARGET

Cells = tuple[str, str, str, str, str]
Row = tuple[str, str, str, str]
NAMES = {
    "budget": ("12.", "12a.", "12b.", "12c."),
    "budget-high": ("12h.", "12i.", "12j.", "12k."),
}
TOPICS = (
    "Budget learned from a fake Logflare enforcing 50 events/s: events sent",
    "Budget: ERROR entries, batch to Logflare",
    "Budget: count x sample_rate per key (pattern, severity) against the records sent",
    "The same input side by side: budget / severity sampling alone / the budget alone",
)


def budget_rows(value: BudgetResult | str | None, key: str = "budget") -> list[Cells]:
    if value is None:
        return []
    if isinstance(value, str):  # a skip note or an error message
        verdict = "SKIP" if value.startswith("skipped") else "ERROR"
        return [(f"{NAMES[key][0]} {TOPICS[0]}", "—", "—", verdict, value)]
    budget, neither, alone = (value.cases[n] for n in ("budget", "sampling", "budget alone"))
    rows = [
        _window_row(value, budget, neither, alone),
        _error_row(budget, neither, alone),
        _count_row(budget, alone),
        _side_by_side(value),
    ]
    stream = f"realistic stream, {value.rate:,} records/s for {value.flood_s / 60:g} minutes"
    return [
        (f"{number} {topic} ({stream})", *cells)
        for number, topic, cells in zip(NAMES[key], TOPICS, rows, strict=True)
    ]


def _per_s(case: CaseResult, value: BudgetResult) -> float:
    return case.accepted / value.simulated_s


def _refused(case: CaseResult) -> int:
    return case.refused_early + case.refused_late


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _window_row(
    value: BudgetResult, budget: CaseResult, neither: CaseResult, alone: CaseResult
) -> Row:
    result = (
        f"at most {budget.most_sent} events sent in any 10 s ({_per_s(budget, value):.1f}/s "
        f"stored on average); 429s: {budget.refused_early} in the first minute, "
        f"{budget.refused_late} after"
    )
    compared = (
        f"target ≤ 50 x 10 + burst 50 = {WINDOW_CAP} and no 429 after the first minute; "
        f"without a budget: {neither.most_sent} sent in 10 s, {_refused(neither)} 429s, "
        f"{_per_s(neither, value):.1f} events/s stored; the budget alone: {alone.most_sent} "
        f"sent in 10 s, {alone.refused_early} + {alone.refused_late} 429s"
    )
    ok = all(c.most_sent <= WINDOW_CAP and c.refused_late == 0 for c in (budget, alone))
    details = (
        "config/gateway.yaml + exporters.logflare.budget.enabled: true and no number: rate in "
        f"use at the end {budget.rate:.1f} events/s (learned from the fake's answers); "
        f"{budget.merged:,} entries merged into held ones, {budget.budget_sampled:,} records "
        f"sampled out by the budget, {budget.held_left} held at the end; "
        f"{value.rate * value.flood_s:,} records, then {value.simulated_s - value.flood_s} s "
        "until every held entry had gone; "
        f"batches every {INTERVAL_S} s and export runs every second on a fake clock shared with "
        f"the fakes; the slowest batch stage run took {value.slowest_batch_s:.1f} s of its "
        f"{INTERVAL_S} s interval; wall time of the row {value.seconds:.0f} s"
    )
    return result, compared, _verdict(ok), details


def _error_row(budget: CaseResult, neither: CaseResult, alone: CaseResult) -> Row:
    result = (
        f"p99 {budget.error_p99_s:.0f} s; {budget.errors_held} of {budget.errors_batched:,} "
        f"held; {budget.errors_arrived:,} of {budget.errors_batched:,} arrived"
    )
    compared = (
        f"target p99 ≤ interval + 1 s = {ERROR_TARGET_S} s, none held; without a budget "
        f"{neither.errors_arrived:,} of {neither.errors_batched:,} arrived; the budget alone: "
        f"p99 {alone.error_p99_s:.0f} s, {alone.errors_held} held"
    )
    ok = all(
        c.error_p99_s <= ERROR_TARGET_S
        and c.errors_held == 0
        and c.errors_arrived == c.errors_batched
        for c in (budget, alone)
    )
    details = (
        "per ERROR event: the fake clock's time its request reached the fake, less the time of "
        "the batch that processed its records (export runs every second); held = an ERROR "
        "entry encoded outside a batch run (by a release from held_entry); the largest "
        f"interval's batches had {budget.most_errors:,} ERROR entries, "
        f"{budget.most_errors / max(budget.rate, 1.0):.0f} s of the rate in use "
        f"({budget.rate:.0f}/s): ERRORs are never held or sampled, they queue at the rate"
    )
    return result, compared, _verdict(ok), details


def _count_row(budget: CaseResult, alone: CaseResult) -> Row:
    """Judged on the budget alone (severity sampling off): what the budget itself promises.
    The shipped severity rules keep or drop each entry once a batch, whatever the budget."""
    a, c = alone.counts, budget.counts
    result = (
        f"the budget alone: {a.exact_keys:,} keys never sampled, "
        f"{a.exact_keys - a.exact_wrong:,} exact; {a.sampled_by_budget:,} keys sampled by the "
        f"budget: worst error {a.worst:.0%}, {a.over_target:,} off by more than "
        f"{ESTIMATE_TARGET:.0%}; {alone.budget_sampled:,} records sampled out"
    )
    compared = (
        f"target: exact when never sampled, within {ESTIMATE_TARGET:.0%} when sampled; with "
        f"the shipped severity rules as well: {c.exact_keys - c.exact_wrong:,} of "
        f"{c.exact_keys:,} unsampled keys exact, {c.sampled_by_rules + c.sampled_by_budget:,} "
        f"keys sampled ({c.sampled_by_rules:,} by the rules, {c.sampled_by_budget:,} by the "
        f"budget), worst {c.worst:.0%}, {c.over_target:,} off by more than "
        f"{ESTIMATE_TARGET:.0%}, the sampled keys' sum within {c.sampled_total:.1%}"
    )
    ok = a.exact_wrong == 0 and a.over_target == 0
    details = (
        f"{a.keys:,} keys; truth: the records of each key as a gateway that kept every entry "
        "grouped them (its live-page rows, same batches), each pattern id resolved to the "
        "pattern it counts in at the end (templates that widened merged their narrower ids)"
    )
    return result, compared, _verdict(ok), details


def _side_by_side(value: BudgetResult) -> Row:
    cases = [value.cases[name] for name in ("budget", "sampling", "budget alone")]
    result = (
        "events/s stored "
        + " / ".join(f"{_per_s(case, value):.1f}" for case in cases)
        + "; 429s "
        + " / ".join(str(_refused(case)) for case in cases)
        + "; count error "
        + " / ".join(f"{case.counts.error:.1%}" for case in cases)
    )
    compared = (
        "the budget with the shipped severity rules / severity sampling alone, no budget / "
        "the budget with severity sampling off"
    )
    details = (
        "count error: records whose counts did not reach Logflare by the end or were estimated "
        "wrongly, the sum over keys of |count x sample_rate - records sent| over all records; "
        "records of keys no event of which arrived: "
        + " / ".join(f"{case.counts.unreached:,}" for case in cases)
        + "; without a budget each request carried up to 500 events, more than the fake takes "
        "in a second, so each was refused whole and retried with backoff (up to 60 s); the "
        "no-budget exporter is a second exporter fed by the same batch stage"
    )
    return result, compared, "info", details
