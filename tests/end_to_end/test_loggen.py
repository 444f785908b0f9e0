"""The labelled-log generator of the pattern bench (bench/loggen.py) and its scorer
(bench/patternbench.py): what the accuracy figures stand on."""

from __future__ import annotations

import re
from collections import Counter
from itertools import combinations

import pytest

from bench.loggen import (
    DEBUG,
    ERROR,
    INFO,
    KINDS,
    TYPED,
    UNTYPED,
    WARN,
    LogGen,
    Template,
    parse,
    shape_tokens,
)
from bench.logkinds import MULTI_TOKEN
from bench.logshapes import PAIRS
from bench.patternbench import entries_per_record, grouping_accuracy, pairs_kept_apart

_ID = r"\d{13}_\d{4}"  # a cluster timestamp and a sequence number, as YARN prints them
_IP6 = r"(?:fe80::|2001:db8:)[0-9a-f]{1,4}(?::[0-9a-f]{1,4})+"
# What each variable must look like, written apart from the generator's writers.
VALUE = {
    "int": r"\d+",
    "small": r"\d{1,2}",
    "port": r"\d{4,5}",
    "pid": r"\d+",
    "status": r"[1-5]\d\d",
    "float": r"\d+\.\d{3}",
    "pct": r"\d{1,3}\.\d%",
    "hex": r"0x[0-9a-f]+",
    "hexid": r"[0-9a-f]{16}",
    "sha": r"[0-9a-f]{40}",
    "uuid": r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
    "ip4": r"\d{1,3}(?:\.\d{1,3}){3}",
    "ip4port": r"\d{1,3}(?:\.\d{1,3}){3}:\d+",
    "ip6": _IP6,
    "ip6port": rf"\[{_IP6}\]:\d+",
    "mac": r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}",
    "iso": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
    "date": r"\d{4}-\d\d-\d\d",
    "hms": r"\d\d:\d\d:\d\d",
    "hms_ms": r"\d\d:\d\d:\d\d\.\d{3}",
    "hms_comma": r"\d\d:\d\d:\d\d,\d{3}",
    "hms_us": r"\d\d:\d\d:\d\d\.\d{6}",
    "mmdd": r"\d{4}",
    "clf": r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d",
    "uptime": r"\d+\.\d{6}",
    "dur": r"(?:\d+(?:\.\d+)?(?:ms|s|us|µs)|\d+m\d+s)",
    "size": r"\d+(?:\.\d)?(?:B|KB|MB|GB|KiB|MiB|GiB)",
    "blk": r"blk_-?\d+",
    "userid": r"user:\d+",
    "reqid": r"req-[0-9a-f]{8}",
    "rdd": r"rdd_\d+_\d+",
    "jobid": rf"job_{_ID}",
    "appid": rf"application_{_ID}",
    "appattempt": rf"appattempt_{_ID}_\d{{6}}",
    "taskid": rf"task_{_ID}_[mr]_\d{{6}}",
    "attempt": rf"attempt_{_ID}_[mr]_\d{{6}}_\d",
    "yarncontainer": rf"container_{_ID}_01_\d{{6}}",
    **{kind: r"\S+" for kind in UNTYPED - MULTI_TOKEN},  # a word of its set: one token
    "errtext": r"\S+(?: \S+)*",
    "browser": r"\S+(?: \S+)*",
    "search": r'"\w+(?: \w+)*"',
}


@pytest.fixture(scope="module")
def gen() -> LogGen:
    return LogGen(seed=11)


def body_pattern(template: Template) -> re.Pattern[str]:
    return re.compile(
        "".join(
            re.escape(text) + (f"(?:{VALUE[kind]})" if kind else "")
            for text, kind in template.parts
        )
    )


def test_a_seed_gives_the_same_lines_and_another_seed_others() -> None:
    assert LogGen(3).batch(3_000) == LogGen(3).batch(3_000)
    assert LogGen(3).realistic(3_000) == LogGen(3).realistic(3_000)
    assert LogGen(3).batch(3_000) != LogGen(4).batch(3_000)


def test_over_a_thousand_templates_every_fixed_statement_kept(gen: LogGen) -> None:
    assert len(gen.templates) >= 1_000
    assert gen.left_out == []
    assert len({t.text for t in gen.templates}) == len(gen.templates)


def test_typed_and_untyped_variables_all_appear(gen: LogGen) -> None:
    used = {kind for template in gen.templates for kind in template.kinds}
    assert used == set(KINDS) == TYPED | UNTYPED
    assert set(VALUE) == set(KINDS)


def test_template_frequencies_are_zipf_skewed(gen: LogGen) -> None:
    counts = Counter(label for _, label in gen.batch(100_000))
    by_rank = sorted(gen.rank_of, key=gen.rank_of.__getitem__)
    top = counts[by_rank[0]]
    assert 0.12 < top / 100_000 < 0.24  # 1 / sum(1/k^1.1) over ~1,080 templates: 0.18
    assert top > 5 * counts[by_rank[9]] > 5 * counts[by_rank[99]]
    head = sum(counts[tid] for tid in by_rank[: len(by_rank) // 10])
    assert head > 0.6 * 100_000


def test_about_half_the_bodies_of_a_batch_are_distinct(gen: LogGen) -> None:
    batch = gen.batch(20_000)
    assert 0.4 < len({body for body, _ in batch}) / len(batch) < 0.6


def test_the_one_word_pairs_differ_in_exactly_one_constant_word(gen: LogGen) -> None:
    assert len(gen.pairs) == len(PAIRS) >= 10
    for first, second in gen.pairs:
        a, b = (shape_tokens(gen.templates[tid].text) for tid in (first, second))
        assert len(a) == len(b)
        differ = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
        assert len(differ) == 1
        assert "\0" not in differ[0][0] + differ[0][1]  # both constants


def test_no_other_templates_differ_in_one_token_or_less(gen: LogGen) -> None:
    designed = {frozenset(pair) for pair in gen.pairs}
    by_length: dict[int, list[tuple[int, tuple[str, ...]]]] = {}
    for template in gen.templates:
        tokens = shape_tokens(template.text)
        by_length.setdefault(len(tokens), []).append((template.id, tokens))
    close = []
    for group in by_length.values():
        for (i, a), (j, b) in combinations(group, 2):
            if sum(x != y for x, y in zip(a, b, strict=True)) <= 1:
                close.append(frozenset((i, j)))
    assert set(close) == designed


def test_every_line_has_its_templates_shape(gen: LogGen) -> None:
    patterns = {t.id: body_pattern(t) for t in gen.templates}
    lines = gen.batch(20_000) + gen.realistic(20_000)
    wrong = [
        (body, gen.templates[tid].text) for body, tid in lines if not patterns[tid].fullmatch(body)
    ]
    assert wrong == []
    assert all(body == body.strip() and "\n" not in body for body, _ in lines)


def test_a_level_the_line_states_is_its_severity(gen: LogGen) -> None:
    stated = {
        "level=warn": WARN,
        "level=error": ERROR,
        " DEBUG ": DEBUG,
        '"log.level":"INFO"': INFO,
    }
    checked = 0
    for template in gen.templates:
        for words, number in stated.items():
            if words in template.text:
                assert template.severity == number, template.text
                checked += 1
    assert checked >= 20


def test_the_realistic_stream_goes_on_where_it_stopped() -> None:
    stream = LogGen(seed=5)
    first, second = stream.realistic(20_000), stream.realistic(20_000)
    assert {body for body, _ in first} & {body for body, _ in second}  # repeats carry over
    assert second != LogGen(seed=5).realistic(20_000)
    constant = {t.id for t in stream.templates if not t.kinds}
    bodies: dict[int, set[str]] = {}
    for body, tid in first + second:
        bodies.setdefault(tid, set()).add(body)
    assert all(len(bodies[tid]) == 1 for tid in constant & bodies.keys())


def test_literal_braces_and_unknown_names_stay_text() -> None:
    parts = parse('{{"ip":"{ip4}","x":{nope}}}')
    assert parts == (('{"ip":"', "ip4"), ('","x":{nope}}', ""))


# --- the scorer: six records of three templates ---
LABELS = [1, 1, 1, 2, 2, 3]


def test_a_perfect_grouping_scores_one() -> None:
    assert grouping_accuracy(LABELS, ["a", "a", "a", "b", "b", "c"]) == 1.0
    assert entries_per_record(["a", "a", "a", "b", "b", "c"]) == 0.5


def test_merging_two_templates_scores_neither() -> None:
    assert grouping_accuracy(LABELS, ["a", "a", "a", "a", "a", "c"]) == pytest.approx(1 / 6)


def test_splitting_a_template_scores_none_of_its_records() -> None:
    assert grouping_accuracy(LABELS, ["a", "a", "x", "b", "b", "c"]) == pytest.approx(3 / 6)
    assert grouping_accuracy(LABELS, ["a", "x", "y", "b", "z", "c"]) == pytest.approx(1 / 6)


def test_a_pair_is_kept_apart_only_when_no_group_holds_both() -> None:
    assert pairs_kept_apart(LABELS, ["a", "a", "a", "b", "b", "c"], [(1, 2), (2, 9)]) == (1, 1)
    assert pairs_kept_apart(LABELS, ["a", "a", "b", "b", "b", "c"], [(1, 2)]) == (0, 1)
