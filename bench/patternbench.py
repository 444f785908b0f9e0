"""Pattern rows: how well, how fast and at what bill records are grouped by template.

All on bench/loggen.py's labelled lines, every figure beside a comparison in the same run:
- accuracy: one batch (about half its bodies distinct) grouped by exact body, by logsieve's
  Miner and by Drain3 (its defaults, and with masks equivalent to logsieve's); scored by
  count-exact grouping accuracy (the share of records whose entry holds exactly the records
  of their true template) and by entries per record.
- speed: lines/s mining the distinct bodies of such batches, logsieve's Miner (learn, then
  match each body: both passes the batch stage makes) against Drain3 with equivalent masks
  and Drain3 without masks (one add_log_message per body).
- cost: entries per million records of the realistic stream, batch by batch, grouped by
  (body, severity) as config/gateway.yaml's dedupe does and by (pattern, severity).
Drain3 groups a body into the cluster add_log_message puts it in (a cluster's id never
changes as its template widens), fed the distinct bodies in order of first appearance.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from drain3 import TemplateMiner  # type: ignore[import-untyped]
from drain3.masking import MaskingInstruction  # type: ignore[import-untyped]
from drain3.template_miner_config import TemplateMinerConfig  # type: ignore[import-untyped]

from bench.loggen import LogGen
from gateway import severity

SEED = 2026
BATCH_RECORDS = 50_000  # config/gateway.yaml's max_batch_records: one claim
ACCURACY_TARGET = 0.95
SPEED_TARGET = 5.0  # x Drain3 with equivalent masks
NOT_BUILT = "not built"
PATTERN_ROWS = {
    "pattern-accuracy": "11. Patterns: count-exact grouping accuracy on labelled lines"
    " (bench/loggen.py, seeded, 1,000+ templates, half the bodies distinct)",
    "pattern-speed": "11b. Patterns: template mining, lines/s over distinct bodies",
    "pattern-cost": "11c. Patterns: entries per million records, realistic generator,"
    " by body and by pattern",
}
Groups = dict[str, Hashable]  # distinct body -> its group
logging.getLogger("drain3").setLevel(logging.WARNING)


def grouping_accuracy(labels: Sequence[int], groups: Sequence[Hashable]) -> float:
    """The share of records whose group holds only records of their true template, and all
    of that template's records (so the group's count is the template's exact count)."""
    template_size = Counter(labels)
    pairs = Counter(zip(groups, labels, strict=True))
    templates_in: dict[Hashable, list[int]] = {}
    for group, label in pairs:
        templates_in.setdefault(group, []).append(label)
    exact = 0
    for group, labels_here in templates_in.items():
        if len(labels_here) == 1 and pairs[group, labels_here[0]] == template_size[labels_here[0]]:
            exact += template_size[labels_here[0]]
    return exact / len(labels) if labels else 1.0


def entries_per_record(groups: Sequence[Hashable]) -> float:
    return len(set(groups)) / len(groups) if groups else 0.0


def pairs_kept_apart(
    labels: Sequence[int], groups: Sequence[Hashable], pairs: Sequence[tuple[int, int]]
) -> tuple[int, int]:
    """(one-word pairs whose two templates share no group, pairs present in the batch)."""
    groups_of: dict[int, set[Hashable]] = {}
    for group, label in zip(groups, labels, strict=True):
        groups_of.setdefault(label, set()).add(group)
    present = [(a, b) for a, b in pairs if a in groups_of and b in groups_of]
    apart = sum(1 for a, b in present if not groups_of[a] & groups_of[b])
    return apart, len(present)


# --- groupers: each call takes a batch's distinct bodies, in order of first appearance, and
# returns their groups; one grouper keeps its miner from batch to batch, as a gateway does.
Grouper = Callable[[Sequence[str]], Groups]


def exact_grouper() -> Grouper:
    return lambda distinct: {body: body for body in distinct}


def miner_class() -> Any | None:
    """logsieve's Miner, or None while gateway/pipeline/patterns is not built."""
    try:
        return importlib.import_module("gateway.pipeline.patterns.miner").Miner
    except ImportError:
        return None


def logsieve_grouper() -> Grouper:
    """Pass 1 learns the batch's distinct bodies; pass 2 asks each body's final template."""
    miner = miner_class()()  # type: ignore[misc]

    def groups(distinct: Sequence[str]) -> Groups:
        miner.learn(distinct)
        return {body: miner.match(body).id for body in distinct}

    return groups


def drain_masks() -> list[tuple[str, str]] | None:
    """(name, regex) of logsieve's built-in masks in its order, for Drain3's masking
    instructions (Drain3 applies them one after another; logsieve tries them as one
    alternation, the earlier winning at a position: the same placeholders)."""
    try:
        masks = importlib.import_module("gateway.pipeline.patterns.masks").BUILTIN_MASKS
    except ImportError:
        return None
    return [(mask.name, mask.regex) for mask in masks]


def drain_miner(masks: Sequence[tuple[str, str]]) -> TemplateMiner:
    """Drain3 with its default configuration, plus the masks given (none: its defaults)."""
    config = TemplateMinerConfig()  # sim_th 0.4, depth 4, max_children 100, numbers as <*>
    config.masking_instructions = [MaskingInstruction(regex, name) for name, regex in masks]
    return TemplateMiner(config=config)


def drain_grouper(masks: Sequence[tuple[str, str]]) -> Callable[[], Grouper]:
    def make() -> Grouper:
        miner = drain_miner(masks)
        return lambda distinct: {
            body: miner.add_log_message(body)["cluster_id"] for body in distinct
        }

    return make


def groupers() -> dict[str, Callable[[], Grouper] | None]:
    """Each way of grouping, by name (None: not built yet)."""
    masks = drain_masks()
    return {
        "exact body": exact_grouper,
        "logsieve Miner": logsieve_grouper if miner_class() is not None else None,
        "Drain3 defaults": drain_grouper([]),
        "Drain3 + logsieve's masks": drain_grouper(masks) if masks is not None else None,
    }


@dataclass(frozen=True, slots=True)
class Scored:
    name: str
    accuracy: float | None  # None: not built
    entries_per_record: float
    lines_per_s: float
    pairs_apart: int
    note: str = ""

    def describe(self) -> str:
        if self.accuracy is None:
            return f"{self.name}: {self.note or NOT_BUILT}"
        return (
            f"{self.name} {self.accuracy:.3f}, {self.entries_per_record:.4f} entries/record, "
            f"one-word pairs kept apart {self.pairs_apart}"
        )


def _score(
    name: str,
    make: Callable[[], Grouper] | None,
    batch: list[tuple[str, int]],
    pairs: Sequence[tuple[int, int]],
) -> Scored:
    if make is None:
        return Scored(name, None, 0.0, 0.0, 0, NOT_BUILT)
    distinct = list(dict.fromkeys(body for body, _ in batch))
    grouper = make()
    began = time.perf_counter()
    group_of = grouper(distinct)
    seconds = time.perf_counter() - began
    labels = [label for _, label in batch]
    groups = [group_of[body] for body, _ in batch]
    apart, _ = pairs_kept_apart(labels, groups, pairs)
    return Scored(
        name,
        grouping_accuracy(labels, groups),
        entries_per_record(groups),
        len(distinct) / seconds if seconds else 0.0,
        apart,
    )


@dataclass(frozen=True, slots=True)
class AccuracyResult:
    records: int
    distinct: int
    templates: int  # templates present in the batch
    pairs_present: int
    scores: tuple[Scored, ...]

    def by_name(self, name: str) -> Scored:
        return next(score for score in self.scores if score.name == name)

    def cells(self) -> tuple[str, str, str, str]:
        """(result, compared with, verdict, details) for the bench table."""
        ours, exact = self.by_name("logsieve Miner"), self.by_name("exact body")
        plain, masked = self.by_name("Drain3 defaults"), self.by_name("Drain3 + logsieve's masks")
        if ours.accuracy is None:
            result, verdict = f"logsieve Miner {NOT_BUILT}", "n/a"
        else:
            result = f"{ours.accuracy:.3f} ({ours.entries_per_record:.4f} entries/record)"
            verdict = "PASS" if ours.accuracy >= ACCURACY_TARGET else "FAIL"
        compared = (
            "; ".join(
                f"{s.name} {s.accuracy:.3f}" if s.accuracy is not None else s.describe()
                for s in (exact, plain, masked)
            )
            + f"; target ≥ {ACCURACY_TARGET}"
        )
        details = (
            f"one batch of {self.records:,} records, {self.distinct:,} distinct bodies "
            f"({self.distinct / self.records:.0%}), {self.templates:,} true templates "
            f"(floor {self.templates / self.records:.4f} entries/record), "
            f"{self.pairs_present} one-word template pairs; "
            + "; ".join(s.describe() for s in self.scores)
        )
        return result, compared, verdict, details


def run_accuracy(records: int = BATCH_RECORDS, seed: int = SEED) -> AccuracyResult:
    gen = LogGen(seed)
    batch = gen.batch(records)
    labels = {label for _, label in batch}
    present = [(a, b) for a, b in gen.pairs if a in labels and b in labels]
    scores = tuple(_score(name, make, batch, gen.pairs) for name, make in groupers().items())
    distinct = len({body for body, _ in batch})
    return AccuracyResult(records, distinct, len(labels), len(present), scores)


@dataclass(frozen=True, slots=True)
class SpeedResult:
    distinct: int  # bodies mined by each miner
    batches: int
    lines_per_s: dict[str, float | None]  # None: not built

    def cells(self) -> tuple[str, str, str, str]:
        ours = self.lines_per_s["logsieve Miner"]
        result, verdict = (
            (f"logsieve Miner {NOT_BUILT}", "n/a")
            if ours is None
            else (f"{ours:,.0f} lines/s", "n/a")
        )
        compared = []
        for name, label in (
            ("Drain3 + logsieve's masks", "Drain3 with logsieve's masks"),
            ("Drain3 defaults", "Drain3 without masks"),
        ):
            theirs = self.lines_per_s[name]
            if theirs is None:
                compared.append(f"{label} {NOT_BUILT}")
            elif ours is None:
                compared.append(f"{label} {theirs:,.0f}/s")
            else:
                compared.append(f"{ours / theirs:.1f}x {label} ({theirs:,.0f}/s)")
        masked = self.lines_per_s["Drain3 + logsieve's masks"]
        if ours is not None and masked is not None:
            verdict = "PASS" if ours >= SPEED_TARGET * masked else "FAIL"
        compared.append(f"target ≥ {SPEED_TARGET:g}x Drain3 with logsieve's masks")
        details = (
            f"{self.distinct:,} distinct bodies from {self.batches} batch(es) of "
            f"{BATCH_RECORDS:,} records (half distinct), fed batch by batch to one miner each; "
            "logsieve: learn(the batch's distinct bodies), then match(each): both passes of the "
            "batch stage; Drain3: add_log_message(each), its masks as one MaskingInstruction per "
            "logsieve mask, in logsieve's order; best of 2 rounds, the miners taking turns; "
            "one core"
        )
        return result, "; ".join(compared), verdict, details


SPEED_ROUNDS = 2
MINERS = ("logsieve Miner", "Drain3 + logsieve's masks", "Drain3 defaults")


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
    best: dict[str, float | None] = {name: None for name in MINERS}
    for _ in range(SPEED_ROUNDS):  # taking turns, so that a busy moment weighs on all
        for name in MINERS:
            make = makers[name]
            if make is not None:
                best[name] = max(best[name] or 0.0, _lines_per_s(make, bodies))
    return SpeedResult(sum(map(len, bodies)), batches, best)


@dataclass(frozen=True, slots=True)
class PatternCostResult:
    records: int
    batches: int
    by_body: int  # entries, all batches
    by_pattern: int | None  # None: not built
    by_template: int  # one entry per true template and severity a batch: the floor
    seconds: float

    def per_million(self, entries: int) -> float:
        return entries * 1_000_000 / self.records

    def cells(self) -> tuple[str, str, str, str]:
        body = self.per_million(self.by_body)
        compared = f"by body {body:,.0f} per million"
        if self.by_pattern is None:
            result = f"by pattern: logsieve Miner {NOT_BUILT}"
        else:
            pattern = self.per_million(self.by_pattern)
            result = f"{pattern:,.0f} events per million records by pattern"
            compared += f" ({body / pattern:.1f}x more than by pattern)"
        details = (
            f"{self.records:,} records of the realistic stream (Zipf over 1,000+ templates, each "
            f"repeating its recent bodies at its own rate) in {self.batches} batches of "
            f"{BATCH_RECORDS:,}; entries keyed (body, severity) as config/gateway.yaml's dedupe, "
            f"and (pattern, severity); one entry per true template and severity would be "
            f"{self.per_million(self.by_template):,.0f} per million; the Miner directly, one "
            f"across the batches (no batch-stage `pattern` key yet); before sampling, which "
            f"keeps the same share of each; {self.seconds:.0f} s"
        )
        return result, compared, "info", details


def run_pattern_cost(
    records: int = 1_000_000, batch: int = BATCH_RECORDS, seed: int = SEED + 2
) -> PatternCostResult:
    gen = LogGen(seed)
    band = {t.id: severity.band(t.severity, "") for t in gen.templates}
    make = groupers()["logsieve Miner"]
    grouper = make() if make is not None else None
    by_body = by_template = batches = 0
    by_pattern: int | None = None if grouper is None else 0
    began = time.perf_counter()
    for chunk in gen.stream(records, batch):
        batches += 1
        by_body += len({(body, band[t]) for body, t in chunk})
        by_template += len({(t, band[t]) for _, t in chunk})
        if grouper is not None and by_pattern is not None:
            pattern = grouper(list(dict.fromkeys(body for body, _ in chunk)))
            by_pattern += len({(pattern[body], band[t]) for body, t in chunk})
    seconds = time.perf_counter() - began
    return PatternCostResult(records, batches, by_body, by_pattern, by_template, seconds)
