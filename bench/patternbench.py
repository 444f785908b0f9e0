"""Pattern rows: how well, how fast and at what bill records are grouped by template.

All on bench/loggen.py's labelled lines, every figure beside a comparison in the same run.
This module holds the groupers and the accuracy row (11); bench/patternspeed.py the speed row
(11b), bench/patterncost.py the cost row (11c).
- accuracy: batches (about half their bodies distinct, each from its own seed) grouped by
  exact body, by logsieve's Miner and by Drain3 (its defaults, and with masks equivalent to
  logsieve's); scored by count-exact grouping accuracy (the share of records whose entry
  holds exactly the records of their true template) and by entries per record, averaged.
Drain3 groups a body into the cluster add_log_message puts it in (a cluster's id never
changes as its template widens), fed the distinct bodies in order of first appearance.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from drain3 import TemplateMiner  # type: ignore[import-untyped]
from drain3.masking import MaskingInstruction  # type: ignore[import-untyped]
from drain3.template_miner_config import TemplateMinerConfig  # type: ignore[import-untyped]

from bench.loggen import LogGen
from bench.logkinds import MULTI_TOKEN
from gateway.pipeline.patterns.masks import BUILTIN_MASKS
from gateway.pipeline.patterns.miner import Miner

SEED = 2026
BATCH_RECORDS = 50_000  # config/gateway.yaml's max_batch_records: one claim
ACCURACY_TARGET = 0.95
PATTERN_ROWS = {
    "pattern-accuracy": "11. Patterns: count-exact grouping accuracy on labelled lines"
    " (bench/loggen.py, seeded, 1,000+ templates, half the bodies distinct)",
    "pattern-speed": "11b. Patterns: template mining, lines/s over distinct bodies",
    "pattern-cost": "11c. Patterns: Logflare events per million records of the realistic"
    " generator through the batch stage, by body and by pattern",
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


def logsieve_grouper(with_values: bool = False) -> Grouper:
    """Pass 1 learns the batch's distinct bodies; pass 2 gives each body its final template
    (and reads its variables' values, `with_values`, as the batch stage does for top values):
    the batch stage's Miner.mine."""
    miner = Miner()

    def groups(distinct: Sequence[str]) -> Groups:
        found = miner.mine(distinct, with_values)
        return {body: match.id for body, match in zip(distinct, found, strict=True)}

    return groups


def drain_masks() -> list[tuple[str, str]]:
    """(name, regex) of logsieve's built-in masks in its order, for Drain3's masking
    instructions (Drain3 applies them one after another; logsieve tries them as one
    alternation, the earlier winning at a position: the same placeholders)."""
    return [(mask.name, mask.regex) for mask in BUILTIN_MASKS]


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


def groupers() -> dict[str, Callable[[], Grouper]]:
    """Each way of grouping, by name."""
    return {
        "exact body": exact_grouper,
        "logsieve Miner": logsieve_grouper,
        "Drain3 defaults": drain_grouper([]),
        "Drain3 + logsieve's masks": drain_grouper(drain_masks()),
    }


@dataclass(frozen=True, slots=True)
class Score:
    """One way of grouping on one batch."""

    accuracy: float
    entries_per_record: float
    pairs_apart: int


@dataclass(frozen=True, slots=True)
class Scores:
    """One way of grouping on every batch."""

    name: str
    runs: tuple[Score, ...]

    @property
    def accuracy(self) -> float:
        return _mean([run.accuracy for run in self.runs])

    @property
    def entries_per_record(self) -> float:
        return _mean([run.entries_per_record for run in self.runs])

    def brief(self) -> str:
        low, high = (f(run.accuracy for run in self.runs) for f in (min, max))
        return f"{self.name} {self.accuracy:.3f} (batches {low:.3f}-{high:.3f})"

    def describe(self, pairs_present: int) -> str:
        apart = sum(run.pairs_apart for run in self.runs)
        return (
            f"{self.brief()}, {self.entries_per_record:.4f} entries/record, one-word pairs "
            f"kept apart {apart} of {pairs_present}"
        )


@dataclass(frozen=True, slots=True)
class BatchFacts:
    records: int
    distinct: int
    templates: int  # true templates present
    pairs_present: int
    multi_token: float  # share of records whose template has a variable of varying length


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _score(make: Callable[[], Grouper], batch: list[tuple[str, int]], gen: LogGen) -> Score:
    group_of = make()(list(dict.fromkeys(body for body, _ in batch)))
    labels = [label for _, label in batch]
    groups = [group_of[body] for body, _ in batch]
    apart, _ = pairs_kept_apart(labels, groups, gen.pairs)
    return Score(grouping_accuracy(labels, groups), entries_per_record(groups), apart)


def _facts(batch: list[tuple[str, int]], gen: LogGen) -> BatchFacts:
    labels = {label for _, label in batch}
    present = [(a, b) for a, b in gen.pairs if a in labels and b in labels]
    multi = {t.id for t in gen.templates if MULTI_TOKEN & set(t.kinds)}
    return BatchFacts(
        records=len(batch),
        distinct=len({body for body, _ in batch}),
        templates=len(labels),
        pairs_present=len(present),
        multi_token=sum(1 for _, label in batch if label in multi) / len(batch),
    )


@dataclass(frozen=True, slots=True)
class AccuracyResult:
    batches: tuple[BatchFacts, ...]
    scores: tuple[Scores, ...]

    def by_name(self, name: str) -> Scores:
        return next(score for score in self.scores if score.name == name)

    def cells(self) -> tuple[str, str, str, str]:
        """(result, compared with, verdict, details) for the bench table."""
        ours = self.by_name("logsieve Miner")
        result = f"{ours.brief().removeprefix(ours.name).strip()}; "
        result += f"{ours.entries_per_record:.4f} entries/record"
        verdict = "PASS" if ours.accuracy >= ACCURACY_TARGET else "FAIL"
        others = [s.brief() for s in self.scores if s is not ours]
        compared = "; ".join([*others, f"target ≥ {ACCURACY_TARGET} (mean)"])
        return result, compared, verdict, self._details()

    def _details(self) -> str:
        facts = self.batches
        records = facts[0].records
        pairs = sum(f.pairs_present for f in facts)
        templates = _mean([f.templates for f in facts])
        return (
            f"{len(facts)} batches of {records:,} records, each from its own seed (its own "
            f"catalogue of 1,000+ templates; one template is ~18 % of a batch's records, so "
            f"single batches vary): {_mean([f.distinct / records for f in facts]):.0%} distinct "
            f"bodies, {templates:,.0f} true templates a batch (floor {templates / records:.4f} "
            f"entries/record), {pairs} one-word template pairs in all, "
            f"{_mean([f.multi_token for f in facts]):.1%} of records with a variable spanning a "
            "varying number of tokens (an error text, a browser agent, a quoted search); "
            "mean of the batches: " + "; ".join(s.describe(pairs) for s in self.scores)
        )


def run_accuracy(
    records: int = BATCH_RECORDS, seeds: int = 5, first_seed: int = SEED
) -> AccuracyResult:
    makers = groupers()
    runs: dict[str, list[Score]] = {name: [] for name in makers}
    facts = []
    for seed in range(first_seed, first_seed + seeds):
        gen = LogGen(seed)
        batch = gen.batch(records)
        facts.append(_facts(batch, gen))
        for name, make in makers.items():
            runs[name].append(_score(make, batch, gen))
    scores = tuple(Scores(name, tuple(found)) for name, found in runs.items())
    return AccuracyResult(tuple(facts), scores)
