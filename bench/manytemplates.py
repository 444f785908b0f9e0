"""A seeded generator of many distinct log templates (100,000 and more), for the memory row.

bench/loggen.py writes realistic lines from about a thousand templates; a gateway that has
learned 100,000 patterns needs a hundred times as many, each its own pattern. Each template
here is a statement of its own: 4-10 constant words drawn (skewed, as a log vocabulary's
words are) from a few thousand seeded pseudo-words, so that templates share words as real
ones do but no two share enough of them to join one cluster; 1-3 typed variables (numbers,
durations, sizes, addresses, ids: what the masks recognise), some behind a `key=`; in a
fifth of them, a user name (an untyped variable: only structure tells it is one); and, in a
quarter of them, a colon after the first words that opens a detail (`wodu fe kaso: ...`), as
`failed to connect: ...` does.

`learning_bodies` writes what a gateway needs to learn every template: one body of each
(typed values mask, so every body of such a template masks to one text), and WIDEN_AFTER
bodies with distinct user names of each template that has one, so its name's position widens
to `<*>` as a variable. Later bodies (`bodies`, new values) match the learned patterns.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

from bench.logkinds import TYPED_WRITERS
from bench.logvocab import USERS
from gateway.pipeline.patterns.clusters import WIDEN_AFTER

VOCABULARY = 6_000  # distinct constant words over all templates
KINDS = ("int", "float", "hexid", "ip4", "ip4port", "dur", "size", "uuid", "reqid", "userid")
KEYS = ("id", "took", "size", "count", "peer", "attempt", "offset", "bytes", "ref")
_CONSONANTS = "bcdfghjklmnprstvwz"
_VOWELS = "aeiou"
_HEXLIKE = re.compile(r"[a-f]+")  # a word a hex mask could read as a value
SEVERITIES = (9, 9, 9, 9, 9, 9, 13, 13, 17, 5)  # INFO mostly, as statements are
WORD_SHARE = 0.2  # templates with a user name in them
WORD = "{user}"


@dataclass(frozen=True, slots=True)
class Template:
    """Constant words and `{kind}` / `key={kind}` slots, in order."""

    parts: tuple[str, ...]
    severity: int

    def body(self, rng: random.Random, user: str = "") -> str:
        return " ".join(_fill(part, rng, user) for part in self.parts)

    @property
    def has_word(self) -> bool:
        return WORD in self.parts


def _fill(part: str, rng: random.Random, user: str) -> str:
    if part == WORD:
        return user or rng.choice(USERS)
    if not part.endswith("}"):
        return part
    key, _, kind = part[:-1].partition("{")
    return key + TYPED_WRITERS[kind](rng)


def vocabulary(rng: random.Random, size: int = VOCABULARY) -> list[str]:
    """`size` pronounceable pseudo-words of 2-4 syllables, none of them hex-like."""
    words: set[str] = set()
    while len(words) < size:
        syllables = rng.choice((2, 2, 3, 3, 4))
        word = "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(syllables))
        if not _HEXLIKE.fullmatch(word):
            words.add(word)
    return sorted(words)


def templates(count: int, seed: int = 100) -> list[Template]:
    """`count` templates, no two with the same constant words."""
    rng = random.Random(seed)
    words = vocabulary(rng)
    seen: set[tuple[str, ...]] = set()
    made: list[Template] = []
    while len(made) < count:
        constants = tuple(
            words[int(len(words) * rng.random() ** 2)] for _ in range(rng.randint(4, 10))
        )
        if constants in seen:
            continue
        seen.add(constants)
        made.append(Template(_with_slots(list(constants), rng), rng.choice(SEVERITIES)))
    return made


def _with_slots(words: list[str], rng: random.Random) -> tuple[str, ...]:
    """The words with 1-3 typed variables put among them (never first), maybe a user name,
    and maybe a colon."""
    if rng.random() < 0.25:
        words[rng.randint(1, 2)] += ":"
    if rng.random() < WORD_SHARE:
        words.insert(rng.randint(1, len(words)), WORD)
    for _ in range(rng.choice((1, 1, 2, 2, 3))):
        slot = "{" + rng.choice(KINDS) + "}"
        if rng.random() < 0.3:
            slot = rng.choice(KEYS) + "=" + slot
        words.insert(rng.randint(1, len(words)), slot)
    return tuple(words)


def bodies(chosen: list[Template], seed: int) -> Iterator[tuple[str, int]]:
    """One (body, severity) per template, in order, with values drawn from `seed`."""
    rng = random.Random(seed)
    for template in chosen:
        yield template.body(rng), template.severity


def learning_bodies(chosen: list[Template], seed: int) -> Iterator[tuple[str, int]]:
    """(body, severity) pairs that teach a miner every template: one body of each, and
    WIDEN_AFTER of one with a user name (distinct names, one after the other)."""
    rng = random.Random(seed)
    for template in chosen:
        users = rng.sample(USERS, WIDEN_AFTER) if template.has_word else [""]
        for user in users:
            yield template.body(rng, user), template.severity
