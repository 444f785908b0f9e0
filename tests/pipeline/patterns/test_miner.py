"""The miner: which bodies share a template, how templates widen and merge, and the fallbacks."""

from __future__ import annotations

import hashlib

from gateway.pipeline.patterns.masks import TAIL
from gateway.pipeline.patterns.miner import WILDCARD, Match, Miner, pattern_id


def learned(bodies: list[str], miner: Miner | None = None) -> dict[str, Match]:
    miner = Miner() if miner is None else miner  # an empty miner is falsy (len 0)
    miner.learn(bodies)
    return {body: miner.match(body) for body in bodies}


def templates_of(bodies: list[str]) -> set[str]:
    return {match.template for match in learned(bodies).values()}


def test_pattern_id_is_the_shared_63_bit_hash() -> None:
    digest = hashlib.blake2b(b"Invalid user <*> from <IP>", digest_size=8).digest()
    assert pattern_id("Invalid user <*> from <IP>") == int.from_bytes(digest, "big") >> 1
    assert 0 <= pattern_id("") < 2**63
    assert pattern_id("\ud800 lone surrogate") >= 0  # never raises


def test_a_different_constant_word_keeps_templates_apart() -> None:
    assert templates_of(["User alice logged in", "User alice logged out"]) == {
        "User alice logged in",
        "User alice logged out",
    }
    assert templates_of(["Connection opened", "Connection closed"]) == {
        "Connection opened",
        "Connection closed",
    }


def test_a_third_distinct_value_makes_the_position_a_variable() -> None:
    matches = learned(
        [
            "Invalid user webmaster from 173.234.31.186",
            "Invalid user admin from 10.0.0.1",
            "Invalid user oracle from 10.0.0.2",
        ]
    )
    assert {m.template for m in matches.values()} == {"Invalid user <*> from <IP>"}
    match = matches["Invalid user admin from 10.0.0.1"]
    assert match.variables == ("admin", "10.0.0.1")
    assert match.id == pattern_id("Invalid user <*> from <IP>")


def test_variables_and_constant_words_in_one_batch() -> None:
    bodies = [
        f"User {user} logged {way}" for user in ("ann", "bob", "cid") for way in ("in", "out")
    ]
    assert templates_of(bodies) == {"User <*> logged in", "User <*> logged out"}


def test_a_variable_first_word_widens_too() -> None:
    assert templates_of(["alice logged in", "bob logged in", "carol logged in"]) == {
        f"{WILDCARD} logged in"
    }


def test_bodies_of_different_lengths_never_share_a_template() -> None:
    bodies = ["disk full", "disk full now", "disk full now really", "disk nearly full"]
    assert len(templates_of(bodies)) == 4


def test_typed_variables_alone_make_one_template() -> None:
    bodies = [f"PacketResponder {n} for block blk_{-n * 7919} terminating" for n in range(5)]
    assert templates_of(bodies) == {"PacketResponder <NUM> for block blk_<ID> terminating"}


def test_a_widened_key_value_keeps_its_key() -> None:
    matches = learned([f"login user={name} ok" for name in ("ann", "bob", "cid", "dee")])
    assert {m.template for m in matches.values()} == {"login user=<*> ok"}
    assert matches["login user=bob ok"].variables == ("bob",)


def test_words_that_vary_together_are_different_templates() -> None:
    # Each method goes with its path, over many requests: two constants, not two variables.
    routes = {"GET": "/servers/detail", "POST": "/events", "DELETE": "/servers"}
    bodies = [f"req {n} {method} {path} 200" for method, path in routes.items() for n in range(5)]
    assert templates_of(bodies) == {f"req <NUM> {m} {p} <NUM>" for m, p in routes.items()}


def test_independent_variables_widen_both() -> None:
    bodies = [f"copy {a} to {b}" for a, b in [("x", "p"), ("y", "q"), ("z", "r"), ("x", "q")]]
    assert templates_of(bodies) == {"copy <*> to <*>"}


def test_a_template_that_widens_later_merges_the_narrow_ones() -> None:
    miner = Miner()
    first = learned(["Invalid user admin from 1.2.3.4", "Invalid user root from 1.2.3.5"], miner)
    narrow = {m.id for m in first.values()}
    assert len(narrow) == 2 and miner.take_merges() == {}
    second = learned(["Invalid user oracle from 1.2.3.6"], miner)
    wide = second["Invalid user oracle from 1.2.3.6"]
    assert wide.template == "Invalid user <*> from <IP>"
    assert miner.take_merges() == {narrow_id: wide.id for narrow_id in narrow}
    assert miner.take_merges() == {}
    assert miner.match("Invalid user admin from 9.9.9.9").id == wide.id
    assert miner.templates() == ["Invalid user <*> from <IP>"] and len(miner) == 1


def test_loaded_templates_are_matched_first() -> None:
    miner = Miner()
    miner.load(["Invalid user <*> from <IP>", "Connection closed"])
    assert sorted(miner.templates()) == ["Connection closed", "Invalid user <*> from <IP>"]
    match = miner.match("Invalid user zed from 10.1.1.1")  # no learn: the loaded one fits
    assert (match.template, match.variables) == ("Invalid user <*> from <IP>", ("zed", "10.1.1.1"))
    miner.learn(["Invalid user amy from 10.1.1.2", "Connection closed"])
    assert len(miner) == 2 and miner.take_merges() == {}


def test_loaded_narrow_templates_merge_once_a_third_value_comes() -> None:
    miner = Miner()
    miner.load(["User ann logged in", "User bob logged in"])
    miner.learn(["User cid logged in"])
    assert miner.templates() == ["User <*> logged in"]
    wide = pattern_id("User <*> logged in")
    assert miner.take_merges() == {
        pattern_id("User ann logged in"): wide,
        pattern_id("User bob logged in"): wide,
    }


def test_a_body_never_learned_gets_its_masked_form_unlearned() -> None:
    miner = Miner()
    miner.learn(["something else entirely"])
    match = miner.match("never seen port 42")
    assert match == Match(pattern_id("never seen port <NUM>"), "never seen port <NUM>", ("42",))
    assert miner.templates() == ["something else entirely"]


def test_bad_bodies_get_a_pattern_and_never_raise() -> None:
    bodies = [
        "",
        "x" * 1_000_000,
        " ".join(["tok"] * 10_000),
        "\x00\x01\x02\x03 \x7f\x80 \ud800 \ufffe",
        "1 2 3 4 5 6 7 8 9",
        " ".join(str(n) for n in range(10_000)),
    ]
    matches = learned(bodies)
    assert matches[""].template == "" and matches[""].id == pattern_id("")
    assert matches["1 2 3 4 5 6 7 8 9"].template == " ".join(["<NUM>"] * 9)
    for body in bodies[1:3] + bodies[5:]:
        assert matches[body].template.endswith(TAIL)
    for match in matches.values():
        assert match.id == pattern_id(match.template)


def test_least_recently_used_patterns_are_evicted() -> None:
    miner = Miner(max_patterns=10)
    miner.learn([f"a{n} b{n} c{n}" for n in range(10)])  # ten unrelated templates
    miner.learn(["a0 b0 c0"])  # used again: the others are older
    miner.learn([f"x{n} y{n}" for n in range(5)])
    assert len(miner) <= 10 and miner.evictions >= 5
    assert "a0 b0 c0" in miner.templates() and "a1 b1 c1" not in miner.templates()
    assert all(f"x{n} y{n}" in miner.templates() for n in range(5))
    assert miner.match("a1 b1 c1").template == "a1 b1 c1"  # evicted: its own masked form


def test_similarity_threshold_is_respected() -> None:
    strict = Miner(similarity=1.0)
    strict.learn(["a b c x", "a b c y", "a b c z"])
    assert len(strict) == 3
    loose = Miner(similarity=0.5)
    loose.learn(["a b c x", "a b c y", "a b c z"])
    assert loose.templates() == ["a b c <*>"]


ERRORS = ["i/o timeout", "connection refused", "dial tcp: lookup db: no such host", "EOF"]


def test_a_text_of_varying_length_after_a_colon_is_one_variable() -> None:
    miner = Miner()
    bodies = [
        f"unable to notify user:{n}: {error} for tenant {n}" for n, error in enumerate(ERRORS)
    ]
    matches = learned(bodies, miner)
    assert {m.template for m in matches.values()} == {
        "unable to notify user:<ID>: <*> for tenant <NUM>"
    }
    assert matches[bodies[2]].variables == ("2", "dial tcp: lookup db: no such host", "2")
    later = learned(["unable to notify user:9: permission denied by policy for tenant 9"], miner)
    assert {m.template for m in later.values()} == {
        "unable to notify user:<ID>: <*> for tenant <NUM>"
    }
    assert set(miner.take_merges().values()) == {matches[bodies[0]].id}


def test_different_messages_after_one_logger_prefix_stay_apart() -> None:
    messages = ["started", "stopping all workers", "cache warmed up", "listening"]
    bodies = [f"2026-01-05 10:00:0{n} INFO Main: {text}" for n, text in enumerate(messages)]
    assert len(templates_of(bodies)) == len(messages)


def test_a_first_word_that_took_three_values_widens_across_clusters() -> None:
    bodies = [
        f"{method} /api/items done in {n} ms" for n, method in enumerate(["GET", "PUT", "POST"])
    ]
    assert templates_of(bodies) == {"<*> /api/items done in <DURATION>"}
