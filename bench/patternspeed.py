"""Pattern row 11b: lines/s mining the distinct bodies of half-distinct batches (bench/loggen.py),
logsieve's Miner (learn, then match each body for its template: both passes the batch stage
makes; and again reading each body's variables, as the batch stage does for top values) against
Drain3 with masks equivalent to logsieve's and Drain3 without masks (one add_log_message per
body), on the same bodies in the same run, per second of CPU time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.loggen import LogGen
from bench.patternbench import BATCH_RECORDS, SEED, Grouper, groupers, logsieve_grouper

SPEED_TARGET = 5.0  # x Drain3 with equivalent masks
SPEED_ROUNDS = 2
OURS, MASKED, PLAIN = "logsieve Miner", "Drain3 + logsieve's masks", "Drain3 defaults"
WITH_VALUES = "logsieve Miner + variables"


@dataclass(frozen=True, slots=True)
class SpeedResult:
    distinct: int  # bodies mined by each miner
    batches: int
    lines_per_s: dict[str, float]  # by grouper name

    def cells(self) -> tuple[str, str, str, str]:
        """(result, compared with, verdict, details) for the bench table."""
        ours, masked, plain, full = (
            self.lines_per_s[name] for name in (OURS, MASKED, PLAIN, WITH_VALUES)
        )
        compared = (
            f"{ours / masked:.1f}x Drain3 with logsieve's masks ({masked:,.0f}/s); "
            f"{ours / plain:.1f}x Drain3 without masks ({plain:,.0f}/s); "
            f"target ≥ {SPEED_TARGET:g}x Drain3 with logsieve's masks; with each body's "
            f"variables read too (top values): {full:,.0f}/s, {full / masked:.1f}x"
        )
        details = (
            f"{self.distinct:,} distinct bodies from {self.batches} batch(es) of "
            f"{BATCH_RECORDS:,} records (half distinct), fed batch by batch to one miner each; "
            "logsieve: learn(the batch's distinct bodies), then match(each) for its template, "
            "as Drain3's add_log_message gives one (with variables: what the batch stage does "
            "for top values, which Drain3 does not do); Drain3: add_log_message(each), its "
            "masks as one MaskingInstruction per "
            "logsieve mask, in logsieve's order; best of 2 rounds, the miners taking turns; "
            "lines per second of CPU time (one core)"
        )
        verdict = "PASS" if ours >= SPEED_TARGET * masked else "FAIL"
        return f"{ours:,.0f} lines/s", compared, verdict, details


def _lines_per_s(make: Callable[[], Grouper], batches: list[list[str]]) -> float:
    """One fresh miner fed the batches in turn, per second of this process's CPU time: each
    miner is single-threaded, and CPU time does not count the moments another process on this
    shared machine held the core."""
    grouper = make()
    began = time.process_time()
    for distinct in batches:
        grouper(distinct)
    return sum(map(len, batches)) / (time.process_time() - began)


def run_speed(batches: int = 3, records: int = BATCH_RECORDS, seed: int = SEED + 1) -> SpeedResult:
    gen = LogGen(seed)
    bodies = [list(dict.fromkeys(body for body, _ in gen.batch(records))) for _ in range(batches)]
    makers = {**groupers(), WITH_VALUES: lambda: logsieve_grouper(with_values=True)}
    best = dict.fromkeys((OURS, WITH_VALUES, MASKED, PLAIN), 0.0)
    for _ in range(SPEED_ROUNDS):  # taking turns, so that a busy moment weighs on all
        for name in best:
            best[name] = max(best[name], _lines_per_s(makers[name], bodies))
    return SpeedResult(sum(map(len, bodies)), batches, best)
