"""The memory row's generator of many templates (bench/manytemplates.py) and its table row
(bench/patternmemory.py): each template must be one pattern, or the row would measure fewer."""

from __future__ import annotations

from bench.cgroup import CgroupPeaks, PssPeak
from bench.manytemplates import bodies, learning_bodies, templates
from bench.patternmemory import GatewayPeaks, MinerMemory, PatternMemoryResult
from bench.report import build
from gateway.pipeline.patterns.miner import Miner

COUNT = 2_000


def test_templates_are_distinct_and_seeded() -> None:
    chosen = templates(COUNT)
    assert len({template.parts for template in chosen}) == COUNT
    assert chosen == templates(COUNT) and chosen != templates(COUNT, seed=1)
    assert any(template.has_word for template in chosen)


def test_a_miner_learns_one_pattern_per_template_and_matches_new_bodies() -> None:
    chosen = templates(COUNT)
    miner = Miner(max_patterns=COUNT)
    taught = [body for body, _ in learning_bodies(chosen, 1)]
    miner.learn(taught)
    learned = {miner.match(body).id for body in taught}
    assert len(miner) == len(learned) == COUNT
    assert any("<*>" in template for template in miner.templates())  # the user names widened
    later = [body for body, _ in bodies(chosen, 2)]
    miner.learn(later)
    assert {miner.match(body).id for body in later} == learned
    assert len(miner) == COUNT


def test_the_row_compares_the_worst_gateway_with_the_target() -> None:
    """The verdict is on the cgroup's peak working set when there is one, else the PSS sum's
    peak; the RSS sum is shown beside it, never judged."""
    pss = PssPeak(200.0, (50.0, 100.0, 50.0))
    light = GatewayPeaks(80.0, 100.0, 60.0, 30.0, 100_000, pss, CgroupPeaks(1, 230.0, 210.0))
    heavy = GatewayPeaks(80.0, 180.0, 60.0, 20.0, 100_000, pss, CgroupPeaks(1, 400.0, 320.0))
    miner = MinerMemory(100_000, 150.0, 10.0, 100_000, 127.0, 8.0)
    (row,) = build(
        {"pattern-memory": PatternMemoryResult(100_000, light, heavy, light, miner)}, None
    )
    assert row.measurement.startswith("11e.") and "100,000 patterns" in row.measurement
    assert row.result.startswith("336 MB peak working set") and row.verdict == "FAIL"
    assert "RSS sum 336 MB" in row.result and "150 MiB per 100,000" in row.details
    (row,) = build(
        {"pattern-memory": PatternMemoryResult(100_000, light, light, light, miner)}, None
    )
    assert row.verdict == "PASS" and row.result.startswith("220 MB peak working set")
    no_cgroup = GatewayPeaks(80.0, 180.0, 60.0, 20.0, 100_000, pss)
    result = PatternMemoryResult(100_000, no_cgroup, no_cgroup, no_cgroup, miner)
    (row,) = build({"pattern-memory": result}, None)
    assert row.result.startswith("210 MB peak PSS sum") and row.verdict == "PASS"
    assert "RSS sum 336 MB" in row.result
