"""Pattern row 11b: lines/s mining the distinct bodies of half-distinct batches (bench/loggen.py),
logsieve's Miner (learn, then match each body: both passes the batch stage makes) against
Drain3 with masks equivalent to logsieve's and Drain3 without masks (one add_log_message per
body), on the same bodies in the same run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.loggen import LogGen
from bench.patternbench import BATCH_RECORDS, SEED, Grouper, groupers

SPEED_TARGET = 5.0  # x Drain3 with equivalent masks
SPEED_ROUNDS = 2
OURS, MASKED, PLAIN = "logsieve Miner", "Drain3 + logsieve's masks", "Drain3 defaults"


@dataclass(frozen=True, slots=True)
class SpeedResult:
    distinct: int  # bodies mined by each miner
    batches: int
    lines_per_s: dict[str, float]  # by grouper name

    def cells(self) -> tuple[str, str, str, str]:
        """(result, compared with, verdict, details) for the bench table."""
        ours, masked, plain = (self.lines_per_s[name] for name in (OURS, MASKED, PLAIN))
        compared = (
            f"{ours / masked:.1f}x Drain3 with logsieve's masks ({masked:,.0f}/s); "
            f"{ours / plain:.1f}x Drain3 without masks ({plain:,.0f}/s); "
            f"target ≥ {SPEED_TARGET:g}x Drain3 with logsieve's masks"
        )
        details = (
            f"{self.distinct:,} distinct bodies from {self.batches} batch(es) of "
            f"{BATCH_RECORDS:,} records (half distinct), fed batch by batch to one miner each; "
            "logsieve: learn(the batch's distinct bodies), then match(each): both passes of the "
            "batch stage; Drain3: add_log_message(each), its masks as one MaskingInstruction per "
            "logsieve mask, in logsieve's order; best of 2 rounds, the miners taking turns; "
            "one core"
        )
        verdict = "PASS" if ours >= SPEED_TARGET * masked else "FAIL"
        return f"{ours:,.0f} lines/s", compared, verdict, details


def _lines_per_s(make: Callable[[], Grouper], batches: list[list[str]]) -> float:
    """One fresh miner fed the batches in turn."""
    grouper = make()
    began = time.perf_counter()
    for distinct in batches:
        grouper(distinct)
    return sum(map(len, batches)) / (time.perf_counter() - began)


def run_speed(batches: int = 3, records: int = BATCH_RECORDS, seed: int = SEED + 1) -> SpeedResult:
    gen = LogGen(seed)
    bodies = [list(dict.fromkeys(body for body, _ in gen.batch(records))) for _ in range(batches)]
    makers = groupers()
    best = dict.fromkeys((OURS, MASKED, PLAIN), 0.0)
    for _ in range(SPEED_ROUNDS):  # taking turns, so that a busy moment weighs on all
        for name in best:
            best[name] = max(best[name], _lines_per_s(makers[name], bodies))
    return SpeedResult(sum(map(len, bodies)), batches, best)
