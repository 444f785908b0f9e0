"""Properties of the miner over random batches: total, deterministic, ids that keep their meaning,
and templates whose variables give back the body."""

from __future__ import annotations

import random
import re
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.pipeline.patterns.masks import BUILTIN_MASKS, Mask, Masker
from gateway.pipeline.patterns.miner import Match, Miner, pattern_id

WORDS = ["alice", "bob", "carol", "in", "out", "opened", "closed", "user", "from", "port", "error"]
SKELETONS = [
    "User {w} logged {w}",
    "Invalid user {w} from {ip}",
    "Connection {w}",
    "PacketResponder {n} for block blk_{n} terminating",
    "{w} {w} {w} {n}",
    "took {n} ms at {ip}:{n} key={w}",
    "{w}",
    "",
]
SLOTS = {
    "{w}": st.sampled_from(WORDS),
    "{n}": st.integers(-(10**12), 10**12).map(str),
    "{ip}": st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
}
LOG_TEXT = st.lists(
    st.sampled_from([*"abcDef019 .:-_/[]<>=#+,xXmsMB*\t", "Dec ", "14:25:47", "<NUM>", "::"])
).map("".join)
# Where two regex engines may disagree: Unicode digits, letters and spaces, and the separators
# \x1c-\x1f that `str.split` and `re` count as whitespace.
ENGINE_CHARS = [*"0123456789abcdefxZ:._-#/[]<>(),=+ \t\nJanDecMonIWEmsKBNUMIP*", "\u0663", "\xe9"]
ENGINE_CHARS += ["\xb5", "\u03bc", "\xa0", "\u2028", "\xdf", "\u0130", "\x1c", "\x1f", "\U0001d7d8"]
ENGINE_TEXT = st.lists(st.sampled_from(ENGINE_CHARS), max_size=40).map("".join)
MASKER = Masker()


@st.composite
def log_line(draw: st.DrawFn) -> str:
    skeleton = draw(st.sampled_from(SKELETONS))
    return re.sub(r"\{\w+\}", lambda slot: draw(SLOTS[slot.group()]), skeleton)


BODIES = st.one_of(log_line(), log_line(), LOG_TEXT, st.text(max_size=40))
BATCHES = st.lists(st.lists(BODIES, max_size=25), min_size=1, max_size=4)


def run(batches: list[list[str]]) -> list[dict[str, Match]]:
    """Each batch: learn its distinct bodies, then match every record."""
    miner = Miner()
    results = []
    for batch in batches:
        miner.learn(dict.fromkeys(batch))
        results.append({body: miner.match(body) for body in batch})
    return results


@settings(max_examples=150, deadline=None)
@given(BATCHES)
def test_matching_is_total_and_deterministic(batches: list[list[str]]) -> None:
    first, second = run(batches), run(batches)
    assert first == second
    for batch, matches in zip(batches, first, strict=True):
        entries = Counter(matches[body].id for body in batch)
        assert sum(entries.values()) == len(batch)  # every record in exactly one entry


@settings(max_examples=150, deadline=None)
@given(BATCHES)
def test_the_same_body_maps_to_the_same_template_after_learning(batches: list[list[str]]) -> None:
    miner = Miner()
    for batch in batches:
        miner.learn(dict.fromkeys(batch))
        once = {body: miner.match(body) for body in batch}
        assert {body: miner.match(body) for body in batch} == once


@settings(max_examples=150, deadline=None)
@given(BATCHES)
def test_a_pattern_id_never_changes_meaning(batches: list[list[str]]) -> None:
    meaning: dict[int, str] = {}
    for matches in run(batches):
        for match in matches.values():
            assert match.id == pattern_id(match.template)
            assert meaning.setdefault(match.id, match.template) == match.template


@settings(max_examples=150, deadline=None)
@given(BATCHES)
def test_a_template_and_its_variables_give_back_the_body(batches: list[list[str]]) -> None:
    for matches in run(batches):
        for body, match in matches.items():
            placeholders = MASKER.placeholder_regex.findall(match.template)
            assert len(placeholders) == len(match.variables)
            rebuilt = fill(match.template, match.variables)
            assert rebuilt.split() == body.split()


def fill(template: str, variables: tuple[str, ...]) -> str:
    values = iter(variables)
    return MASKER.placeholder_regex.sub(lambda _: next(values), template)


@settings(max_examples=300, deadline=None)
@given(st.one_of(LOG_TEXT, log_line(), ENGINE_TEXT, st.text(max_size=60)))
def test_the_fast_builtin_scan_masks_like_the_plain_alternation(body: str) -> None:
    assert MASKER.mask(body) == Masker(masks=list(BUILTIN_MASKS)).mask(body)


def test_the_fast_scan_masks_like_re_on_many_random_strings() -> None:
    """The built-ins run on PCRE2 (`pcre`), the plain alternation on `re`: on 20,000 seeded
    strings of the characters where engines may disagree, they mask the same."""
    plain, rng = Masker(masks=list(BUILTIN_MASKS)), random.Random(5)
    bodies = ["".join(rng.choices(ENGINE_CHARS, k=rng.randint(1, 40))) for _ in range(20_000)]
    assert [MASKER.mask(body) for body in bodies] == [plain.mask(body) for body in bodies]


USER = Mask("USER", r"(?<=user=)\w+")
MANY_TEXT = st.one_of(LOG_TEXT, log_line(), ENGINE_TEXT, st.text(max_size=60))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(MANY_TEXT, st.just("x\x00 5"), st.just("user=bob <NUM> 7")), max_size=12))
def test_masking_a_batch_at_once_masks_each_body_as_alone(bodies: list[str]) -> None:
    """masked_many (the one-call scan, a body at a time where it cannot) gives each body what
    the finditer path alone does, with and without user masks, long bodies and repeats too."""
    bodies += [body * 9 for body in bodies[:2]]  # past the length the one loop takes whole
    for fast, plain in (
        (MASKER, Masker(masks=list(BUILTIN_MASKS))),
        (Masker(extra=[USER]), Masker(masks=list(BUILTIN_MASKS), extra=[USER])),
    ):
        assert fast.masked_many(bodies) == [plain.masked_with_values(body) for body in bodies]
        assert [fast.masked_text(body) for body in bodies] == [
            plain.masked_text(body) for body in bodies
        ]
        texts = [text for text, _ in fast.masked_many(bodies, with_values=False)]
        assert texts == [text for text, _ in fast.masked_many(bodies)]


# Addresses and what may follow one with no space between: where the fast regex may miss
# a match after an IPv6 value ending in `]` or `:` (scan.TOUCHING).
ADJACENT = st.lists(
    st.sampled_from(
        [
            "[::1]",
            "fe80::",
            "[0::]",
            "10.0.0.1",
            "::",
            "]",
            "[",
            ":",
            "-",
            "+",
            "5",
            "e5",
            "J",
            "blk_1",
            "0x1f",
            "a1b2c3d4e5",
            " ",
            "<",
            "ms",
        ]
    ),
    max_size=8,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(ADJACENT, max_size=8))
def test_an_address_touching_the_next_value_masks_alike_with_and_without_values(
    bodies: list[str],
) -> None:
    plain = Masker(masks=list(BUILTIN_MASKS))
    expected = [plain.masked_with_values(body) for body in bodies]
    assert MASKER.masked_many(bodies) == expected
    assert [text for text, _ in MASKER.masked_many(bodies, False)] == [t for t, _ in expected]


def test_a_lone_surrogate_is_masked_as_re_masks_it_and_never_raises() -> None:
    """PCRE2 reads UTF-8 only: text with a lone surrogate goes to the same masks on `re`."""
    bodies = [
        "a \ud800 5",
        "\udcff 10.0.0.1 x",
        "x\ud800",
        "user=bob \ud83d port 80",
        "\ud800<NUM> 7",
    ]
    for fast, plain in (
        (MASKER, Masker(masks=list(BUILTIN_MASKS))),
        (Masker(extra=[USER]), Masker(masks=list(BUILTIN_MASKS), extra=[USER])),
    ):
        expected = [plain.masked_with_values(body) for body in bodies]
        assert fast.masked_many(bodies) == expected
        assert [text for text, _ in fast.masked_many(bodies, False)] == [t for t, _ in expected]
        assert [fast.masked_with_values(body) for body in bodies] == expected
        assert [fast.masked_text(body) for body in bodies] == [text for text, _ in expected]
    miner = Miner()
    miner.learn(bodies)
    assert miner.match("a \ud800 5").template == "a \ud800 <NUM>"
