"""A seeded generator of labelled log lines: (body, template id) pairs, for the pattern bench.

The templates (1,000+) are made from line shapes: the fixed statements of many systems
(bench/logsystems.py: HDFS block operations, sshd, HTTP access and error lines, JVM and GC,
Kubernetes, databases, Spark and Hadoop, the kernel, systemd, ...), pairs of statements that
differ in exactly one constant word (`logged in` / `logged out`), a few systems' shapes with
build words, and application statements composed of a wrapper (how a logging library prints:
bare, logfmt, JSON, klog, log4j, ...), a clause (the message) and an optional tail
(bench/logshapes.py), their build words (component, verb, noun, error, ...) drawn from
bench/logvocab.py once per template. A template's variables are typed (numbers, hex ids,
UUIDs, addresses, timestamps, durations and sizes with units, prefixed ids like blk_-123 or
user:42) or untyped (user and host names, paths, table or topic names from a set).

Apart from the designed pairs, no two templates differ in exactly one token once every
variable is read as a wildcard: that difference is the one-word pairs' job, and a template
set full of accidental ones would measure luck, not grouping.

Two ways to draw records, both deterministic for a seed:
- `batch(n)`: a batch in which about half the bodies are distinct (the accuracy and speed
  rows): each record repeats an earlier body of its template or writes a new one, at a rate
  that differs by template (one body all batch, a new body every time, and between).
- `realistic(n)`: an endless stream in which each template repeats its recent bodies at its
  own rate (a health check almost always, a request line almost never); each template has a
  severity (from the words in it) and a service (`templates[id].severity`, `.service`), for
  the cost and batch-speed rows.
Templates are picked with Zipf-distributed frequency (exponent 1.1) in a seeded order.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

from bench import logvocab as vocab
from bench.logkinds import KINDS, TYPED, UNTYPED
from bench.logshapes import APP_STATEMENTS, CLAUSES, FAMILIES, PAIRS, SYSTEM_COMBOS, WRAPPERS

ZIPF_EXPONENT = 1.1
RECENT_BODIES = 32  # realistic(): how many of a template's recent bodies it may repeat
_SLOT = re.compile(r"\{\{|\}\}|\{(\w+)\}")
_BUILD_WORD = re.compile(r"<(\w+)>")
# Severity numbers (OTel): a template's level follows the words in it, as a statement's does.
DEBUG, INFO, WARN, ERROR = 5, 9, 13, 17
_ERROR_WORDS = re.compile(
    r"\b(error|ERROR|FATAL|fatal|crit|Exception|exception|failed|Failed|denied|refused|"
    r"corruption|Lost|segfault|Killed)\b"
)
_STATED_LEVEL = re.compile(
    r"level[=\":]+(debug|info|warn|error)|\"log\.level\":\"(DEBUG|INFO|WARN|ERROR)"
    r"| (DEBUG|INFO|WARN|ERROR) |^([IWE])\{mmdd\}",
    re.IGNORECASE,
)
_LEVEL_OF = {"D": DEBUG, "I": INFO, "W": WARN, "E": ERROR}
_WARN_WORDS = re.compile(
    r"\b(warn|WARN|Warning|Retrying|timeout|timed out|Slow|exceeded|"
    r"unhealthy|Back-off|lag|above|full)\b"
)


@dataclass(frozen=True, slots=True)
class Template:
    id: int
    text: str  # the statement: constants with {kind} variables ({{ and }} are literal braces)
    service: str  # the system it comes from (its family), or an application service
    severity: int
    parts: tuple[tuple[str, str], ...]  # (constant text, kind of the variable after it or "")

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(kind for _, kind in self.parts if kind)

    def render(self, rng: random.Random) -> str:
        return "".join(text + (KINDS[kind](rng) if kind else "") for text, kind in self.parts)


def parse(text: str) -> tuple[tuple[str, str], ...]:
    """A statement's text as (constant, variable kind) parts; unknown {names} stay text."""
    parts: list[tuple[str, str]] = []
    constant, at = "", 0
    for match in _SLOT.finditer(text):
        constant += text[at : match.start()]
        at = match.end()
        kind = match.group(1)
        if kind is None:  # {{ or }}
            constant += match.group(0)[0]
        elif kind in KINDS:
            parts.append((constant, kind))
            constant = ""
        else:
            constant += match.group(0)
    parts.append((constant + text[at:], ""))
    return tuple(parts)


def shape_tokens(text: str) -> tuple[str, ...]:
    """The statement's tokens with every variable read as a wildcard (for the distinctness rule)."""
    wild = "".join(const + ("\0" if kind else "") for const, kind in parse(text))
    return tuple(wild.split())


class _Distinct:
    """Keeps templates apart: a new one may not equal or differ in one token from a kept one."""

    def __init__(self) -> None:
        self._seen: dict[tuple[object, ...], str] = {}

    def admits(self, text: str, mate: str | None = None) -> bool:
        keys = self._keys(shape_tokens(text))
        if any(self._seen.get(key, mate) != mate for key in keys):
            return False
        for key in keys:
            self._seen.setdefault(key, text)
        return True

    @staticmethod
    def _keys(tokens: tuple[str, ...]) -> list[tuple[object, ...]]:
        keys: list[tuple[object, ...]] = [("all", tokens)]
        keys += [(i, tokens[:i] + tokens[i + 1 :]) for i in range(len(tokens))]
        return keys


BUILD_WORDS: dict[str, tuple[str, ...]] = {
    "comp": vocab.COMPONENTS,
    "noun": vocab.NOUNS,
    "reason": vocab.REASONS,
    "lvl": vocab.LEVELS,
    "LVL": vocab.JAVA_LEVELS,
    "gofile": vocab.GO_FILES,
    "gocomp": vocab.GO_COMPONENTS,
    "key": vocab.FIELD_KEYS,
    "svc": vocab.SERVICES,
    "k8skind": vocab.K8S_KINDS,
    "controller": vocab.CONTROLLERS,
    "k8sphrase": vocab.K8S_PHRASES,
    "hclass": vocab.HADOOP_CLASSES,
    "hthread": vocab.HADOOP_THREADS,
    "hphrase": vocab.HADOOP_PHRASES,
    "pgerr": vocab.PG_ERRORS,
    "db": vocab.DATABASES,
    "dbop": vocab.DB_OPERATIONS,
    "proxy": vocab.PROXIES,
    "upevent": vocab.UPSTREAM_EVENTS,
    "driver": vocab.DRIVERS,
    "kphrase": vocab.KERNEL_PHRASES,
    "alert": vocab.ALERTS,
    "astate": vocab.ALERT_STATES,
    "metric": vocab.METRICS,
    "task": vocab.TASKS,
    "taskevent": vocab.TASK_EVENTS,
    "audit": vocab.AUDIT_ACTIONS,
    "tail": vocab.TAILS,
}
_VERB_FORMS = {"base": 0, "past": 1, "ing": 2}


def fill_build_words(shape: str, rng: random.Random) -> str:
    """One template from a combination shape: each build word drawn once (one verb for all
    of its forms)."""
    verb = rng.choice(vocab.VERBS)

    def word(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in _VERB_FORMS:
            return verb[_VERB_FORMS[name]]
        return rng.choice(BUILD_WORDS[name]) if name in BUILD_WORDS else match.group(0)

    return _BUILD_WORD.sub(word, shape)


def severity_of(text: str, rng: random.Random) -> int:
    """The level the line states (`level=warn`, ` INFO `, klog's `E0501`), else one that
    fits its words."""
    if stated := _STATED_LEVEL.search(text):
        word = next(group for group in stated.groups() if group)
        return _LEVEL_OF[word[0].upper()]
    if _ERROR_WORDS.search(text):
        return ERROR if rng.random() < 0.6 else WARN
    if _WARN_WORDS.search(text):
        return WARN
    return DEBUG if rng.random() < 0.2 else INFO


def build_templates(seed: int) -> tuple[list[Template], list[tuple[int, int]], list[str]]:
    """(templates, the designed one-word pairs as id pairs, fixed statements left out)."""
    rng, distinct = random.Random(seed), _Distinct()
    chosen: list[tuple[str, str]] = []  # (text, service)
    pairs: list[tuple[int, int]] = []
    for first, second in PAIRS:
        if distinct.admits(first) and distinct.admits(second, mate=first):
            pairs.append((len(chosen), len(chosen) + 1))
            service = rng.choice(vocab.SERVICES)
            chosen += [(first, service), (second, service)]
    left_out = []
    for family in FAMILIES:
        for text in family.fixed:
            if distinct.admits(text):
                chosen.append((text, family.name))
            else:
                left_out.append(text)
    for shape, wanted in SYSTEM_COMBOS:
        chosen += _draw_combos(shape, wanted, rng, distinct)
    chosen += _compose(APP_STATEMENTS, rng, distinct)
    templates = [
        Template(i, text, service, severity_of(text, rng), parse(text))
        for i, (text, service) in enumerate(chosen)
    ]
    return templates, pairs, left_out


def _draw_combos(
    shape: str, wanted: int, rng: random.Random, distinct: _Distinct
) -> list[tuple[str, str]]:
    made: list[tuple[str, str]] = []
    for _ in range(wanted * 20):
        if len(made) == wanted:
            break
        text = fill_build_words(shape, rng)
        if distinct.admits(text):
            made.append((text, rng.choice(vocab.SERVICES)))
    return made


def _compose(count: int, rng: random.Random, distinct: _Distinct) -> list[tuple[str, str]]:
    """Application statements: a wrapper around a clause and a tail, build words drawn."""
    made: list[tuple[str, str]] = []
    for _ in range(count):
        shape = rng.choice(WRAPPERS).replace("<msg>", rng.choice(CLAUSES) + "<tail>")
        text = fill_build_words(shape, rng)
        if distinct.admits(text):
            made.append((text, rng.choice(vocab.SERVICES)))
    return made


class LogGen:
    """Labelled log lines for one seed: `templates`, then `batch()` or `realistic()` draws."""

    def __init__(self, seed: int = 1) -> None:
        self.seed = seed
        self.templates, self.pairs, self.left_out = build_templates(seed)
        order = list(range(len(self.templates)))
        random.Random(seed + 1).shuffle(order)  # Zipf rank -> template id
        self.rank_of = {tid: rank for rank, tid in enumerate(order)}
        weights = [1.0 / (rank + 1) ** ZIPF_EXPONENT for rank in range(len(order))]
        self._order = order
        self._cumulative = list(itertools.accumulate(weights))
        self._rng = random.Random(seed + 2)
        self._recent: dict[int, list[str]] = {}
        self._repeat = self._repeat_rates(random.Random(seed + 3))

    def _picks(self, count: int) -> list[int]:
        ranks = self._rng.choices(range(len(self._order)), cum_weights=self._cumulative, k=count)
        return [self._order[rank] for rank in ranks]

    def batch(self, records: int, distinct: float = 0.5) -> list[tuple[str, int]]:
        """One batch in which about `distinct` of the bodies are distinct: each record of a
        template writes a new body with the template's novelty, else repeats an earlier body
        of it in this batch. Novelty differs by template, as in real logs: some statements
        repeat one body all batch, some never repeat (see `novelty`)."""
        rng, earlier, seen = self._rng, dict[int, list[str]](), set[str]()
        novelty = self.novelty(distinct)
        out = []
        for tid in self._picks(records):
            bodies = earlier.setdefault(tid, [])
            if bodies and rng.random() >= novelty[tid]:
                body = rng.choice(bodies)
            else:
                body = self._new_body(tid, seen)
                if body not in seen:
                    seen.add(body)
                    bodies.append(body)
            out.append((body, tid))
        return out

    def novelty(self, mean: float) -> list[float]:
        """Each template's chance that a record writes a new body: the top-ranked template
        `mean`, the others in pairs of neighbouring ranks (about equal shares of records) at
        mean - x and mean + x, x a full or a half swing (to 0 and 1 when mean is 1/2), in a
        seeded order; so the record-weighted mean stays close to `mean`."""
        swing = min(mean, 1.0 - mean)
        flips = random.Random(self.seed + 4)
        by_rank = [mean]
        for pair in range((len(self._order) + 1) // 2):
            x = swing if pair % 2 == 0 else swing / 2
            low_first = flips.random() < 0.5
            by_rank += [mean - x, mean + x] if low_first else [mean + x, mean - x]
        return [by_rank[self.rank_of[tid]] for tid in range(len(self.templates))]

    def _new_body(self, tid: int, seen: set[str]) -> str:
        template = self.templates[tid]
        for _ in range(4):  # a few tries: small value sets may give an earlier body again
            body = template.render(self._rng)
            if body not in seen:
                break
        return body

    def realistic(self, records: int) -> list[tuple[str, int]]:
        """The next `records` of an endless stream (state carries over between calls)."""
        rng, out = self._rng, []
        for tid in self._picks(records):
            recent = self._recent.setdefault(tid, [])
            if recent and rng.random() < self._repeat[tid]:
                body = rng.choice(recent)
            else:
                body = self.templates[tid].render(rng)
                recent.append(body)
                if len(recent) > RECENT_BODIES:
                    del recent[0]
            out.append((body, tid))
        return out

    def _repeat_rates(self, rng: random.Random) -> list[float]:
        """How often each template repeats a recent body: statements without variables always;
        the others anywhere from almost never to almost always."""
        rates = (0.05, 0.3, 0.6, 0.9, 0.98)
        return [rng.choice(rates) if t.kinds else 1.0 for t in self.templates]

    def stream(self, records: int, chunk: int = 50_000) -> Iterator[list[tuple[str, int]]]:
        """`records` realistic records in chunks of `chunk`."""
        while records > 0:
            size = min(chunk, records)
            records -= size
            yield self.realistic(size)


__all__ = ["KINDS", "TYPED", "UNTYPED", "LogGen", "Template", "parse", "shape_tokens"]
