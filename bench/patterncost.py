"""Pattern row 11c: entries per million records of the realistic stream (bench/loggen.py),
batch by batch, grouped by (body, severity) as config/gateway.yaml's dedupe does and by
(pattern, severity) with logsieve's Miner, one Miner across the batches as in a gateway.

The Miner directly, not the batch stage: the batch stage's `pattern` dedupe key is not wired
yet. Entries are counted before sampling, which keeps the same share of each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.loggen import LogGen
from bench.patternbench import BATCH_RECORDS, SEED, logsieve_grouper
from gateway import severity


@dataclass(frozen=True, slots=True)
class PatternCostResult:
    records: int
    batches: int
    by_body: int  # entries, all batches
    by_pattern: int
    by_template: int  # one entry per true template and severity a batch: the floor
    seconds: float

    def per_million(self, entries: int) -> float:
        return entries * 1_000_000 / self.records

    def cells(self) -> tuple[str, str, str, str]:
        """(result, compared with, verdict, details) for the bench table."""
        body, pattern = self.per_million(self.by_body), self.per_million(self.by_pattern)
        result = f"{pattern:,.0f} entries per million records by pattern"
        compared = f"by body {body:,.0f} per million ({body / pattern:.1f}x more)"
        details = (
            f"{self.records:,} records of the realistic stream (Zipf over 1,000+ templates, each "
            f"repeating its recent bodies at its own rate) in {self.batches} batches of "
            f"{BATCH_RECORDS:,}; entries keyed (body, severity) as config/gateway.yaml's dedupe, "
            f"and (pattern, severity); one entry per true template and severity would be "
            f"{self.per_million(self.by_template):,.0f} per million; the Miner directly, one "
            f"across the batches (the batch stage's `pattern` key is not wired yet); before "
            f"sampling, which keeps the same share of each; {self.seconds:.0f} s"
        )
        return result, compared, "info", details


def run_pattern_cost(
    records: int = 500_000, batch: int = BATCH_RECORDS, seed: int = SEED + 2
) -> PatternCostResult:
    gen = LogGen(seed)
    band = {t.id: severity.band(t.severity, "") for t in gen.templates}
    grouper = logsieve_grouper()
    by_body = by_pattern = by_template = batches = 0
    began = time.perf_counter()
    for chunk in gen.stream(records, batch):
        batches += 1
        by_body += len({(body, band[t]) for body, t in chunk})
        by_template += len({(t, band[t]) for _, t in chunk})
        pattern = grouper(list(dict.fromkeys(body for body, _ in chunk)))
        by_pattern += len({(pattern[body], band[t]) for body, t in chunk})
    seconds = time.perf_counter() - began
    return PatternCostResult(records, batches, by_body, by_pattern, by_template, seconds)
