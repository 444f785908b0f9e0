"""Masks: each typed variable becomes its placeholder, with its value, and nothing else does."""

from __future__ import annotations

import pytest

from gateway.pipeline.patterns.masks import (
    BUILTIN_MASKS,
    MAX_HEAD_CHARS,
    MAX_TOKENS,
    MAX_VALUE_CHARS,
    TAIL,
    Mask,
    Masker,
)

MASKER = Masker()


def masked(body: str) -> str:
    return " ".join(MASKER.mask(body)[0])


@pytest.mark.parametrize(
    ("body", "template", "values"),
    [
        ("took 42 ms", "took <DURATION>", ["42 ms"]),
        ("count 42", "count <NUM>", ["42"]),
        ("delta -5 and +3.25", "delta <NUM> and <NUM>", ["-5", "+3.25"]),
        ("total 1,234,567 rows", "total <NUM> rows", ["1,234,567"]),
        ("ratio 1e-5", "ratio <NUM>", ["1e-5"]),
        ("12% done", "<NUM>% done", ["12"]),
        ("addr 0x7f3a", "addr <HEX>", ["0x7f3a"]),
        (
            "sha 54fadb412c4e40cdbaed9335e4c35a9e end",
            "sha <HEX> end",
            ["54fadb412c4e40cdbaed9335e4c35a9e"],
        ),
        ("/v2/54fadb412c4e40cd/servers", "/v2/<HEX>/servers", ["54fadb412c4e40cd"]),
        (
            "id 3edec1e4-6b19-4b73-b5c4-6c3d9e7a8b12",
            "id <UUID>",
            ["3edec1e4-6b19-4b73-b5c4-6c3d9e7a8b12"],
        ),
        (
            "req-3edec1e4-6b19-4b73-b5c4-6c3d9e7a8b12",
            "req-<UUID>",
            ["3edec1e4-6b19-4b73-b5c4-6c3d9e7a8b12"],
        ),
        ("from 173.234.31.186", "from <IP>", ["173.234.31.186"]),
        ("to 10.0.0.7:5432.", "to <IP>.", ["10.0.0.7:5432"]),
        ("(10.0.0.7)", "(<IP>)", ["10.0.0.7"]),
        ("src: /10.251.30.6:33145", "src: /<IP>", ["10.251.30.6:33145"]),
        ("v6 fe80::1 and ::1", "v6 <IP> and <IP>", ["fe80::1", "::1"]),
        ("at [::1]:8080", "at <IP>", ["[::1]:8080"]),
        ("v6 2001:db8:0:0:0:0:2:1", "v6 <IP>", ["2001:db8:0:0:0:0:2:1"]),
        ("mac 00:1a:2b:3c:4d:5e", "mac <MAC>", ["00:1a:2b:3c:4d:5e"]),
        ("mac 00-1A-2B-3C-4D-5E", "mac <MAC>", ["00-1A-2B-3C-4D-5E"]),
        ("at 2026-12-05T14:25:47.123Z", "at <TS>", ["2026-12-05T14:25:47.123Z"]),
        ("at 2026-12-05 14:25:47,123 x", "at <TS> x", ["2026-12-05 14:25:47,123"]),
        ("at 2026-12-05T14:25:47+01:00", "at <TS>", ["2026-12-05T14:25:47+01:00"]),
        ("on 2026-12-05", "on <TS>", ["2026-12-05"]),
        ("at 14:25:47", "at <TS>", ["14:25:47"]),
        ("Dec  5 14:25:47 host", "<TS> host", ["Dec  5 14:25:47"]),
        ("[Sun Dec 04 04:47:44 2005] x", "[<TS> <NUM>] x", ["Sun Dec 04 04:47:44", "2005"]),
        ("req-8f3a9c2d req-aabeacef", "req-<ID> req-<ID>", ["8f3a9c2d", "aabeacef"]),
        ("req-aabeacef done", "req-<ID> done", ["aabeacef"]),  # no digit in the body
        (
            "I0518 14:25:47.123456 1 x.go:12] hi",
            "I<TS> <NUM> x.go:<ID>] hi",
            ["0518 14:25:47.123456", "1", "12"],
        ),
        ("05/Dec/2026:14:25:47 +0000", "<TS>", ["05/Dec/2026:14:25:47 +0000"]),
        ("took 3012ms", "took <DURATION>", ["3012ms"]),
        ("3 msg 5 minions", "<NUM> msg <NUM> minions", ["3", "5"]),  # a unit ends the word
        ("took 1.5s", "took <DURATION>", ["1.5s"]),
        ("after 3 seconds", "after <DURATION>", ["3 seconds"]),
        ("uptime 1h2m3.5s", "uptime <DURATION>", ["1h2m3.5s"]),
        ("size 10 MB", "size <SIZE>", ["10 MB"]),
        ("size 512KiB", "size <SIZE>", ["512KiB"]),
        ("read 64 bytes", "read <SIZE>", ["64 bytes"]),
        ("size 384.0 B, free 2.4 KB", "size <SIZE>, free <SIZE>", ["384.0 B", "2.4 KB"]),
        ("blk_-6952295868487656571 ok", "blk_<ID> ok", ["-6952295868487656571"]),
        ("job_1234_0001", "job_<ID>", ["1234_0001"]),
        ("attempt_200811092030_0001_m_000590_0", "attempt_<ID>", ["200811092030_0001_m_000590_0"]),
        ("user:42 in", "user:<ID> in", ["42"]),
        ("issue #1234", "issue #<ID>", ["1234"]),
        ("CPU#0 up", "CPU#<ID> up", ["0"]),
        ("pod web-7d9f8c6b5-x2x4k", "pod web-<ID>", ["7d9f8c6b5-x2x4k"]),
        ("port=5432", "port=<NUM>", ["5432"]),
        ("sshd[24200]: x", "sshd[<NUM>]: x", ["24200"]),
    ],
)
def test_typed_variable_is_masked_with_its_value(
    body: str, template: str, values: list[str]
) -> None:
    assert MASKER.mask(body) == (template.split(), values)


@pytest.mark.parametrize(
    "body",
    [
        "ssh2 eth0 sda1 x86_64 log4j utf8 python3",  # digits inside words are not variables
        "version v1.2.3 and 1.2.3",  # versions: neither a number nor an address
        "1st 2nd 3rd 3x",
        "1.2.3.4.5",  # not an address
        "deadbeef facade",  # hex letters without a digit
        "3f2a9c1",  # 7 hex digits: too short for an id
        "aa:bb:cc:dd:ee:ff",  # a MAC without a digit stays (the no-digit fast path skips it)
        "std::vector Foo::bar a :: b",
        "List<String> and <Other>",
        "",
        "\x00\x01\x02 \x7f binary \ufffd",
    ],
)
def test_text_that_is_no_typed_variable_stays(body: str) -> None:
    tokens, values = MASKER.mask(body)
    assert tokens == body.split()
    assert values == []


def test_placeholder_written_in_a_body_stands_for_itself() -> None:
    assert MASKER.mask("got <NUM> and <*> x") == (
        ["got", "<NUM>", "and", "<*>", "x"],
        ["<NUM>", "<*>"],
    )
    assert MASKER.mask("a<IP>5") == (["a<IP><NUM>"], ["<IP>", "5"])


def test_user_masks_run_first_and_can_reuse_a_placeholder() -> None:
    masker = Masker(extra=[Mask("USER", r"(?<=user=)\w+"), Mask("ID", r"\bsess-[a-z]+\b")])
    body = "user=alice42 from 10.0.0.1 sess-abc <USER> 7"
    assert masker.mask(body) == (
        ["user=<USER>", "from", "<IP>", "<ID>", "<USER>", "<NUM>"],
        ["alice42", "10.0.0.1", "sess-abc", "<USER>", "7"],
    )
    assert masker.masked_text(body) == "user=<USER> from <IP> <ID> <USER> <NUM>"


@pytest.mark.parametrize(
    ("mask", "error"),
    [
        (Mask("bad name", "x"), "name"),
        (Mask("X", "("), "X"),
        (Mask("EMPTY", "a*"), "empty"),
    ],
)
def test_bad_user_masks_are_refused(mask: Mask, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        Masker(extra=[mask])


def test_a_copy_of_the_builtins_masks_the_same_as_the_fast_path() -> None:
    plain = Masker(masks=list(BUILTIN_MASKS))
    body = (
        "Dec  5 14:25:47 10.0.0.7:5432 blk_-1 x.3edec1e4-6b19-4b73-b5c4-6c3d9e7a8b12 1::-5 <NUM>7"
    )
    assert plain.mask(body) == MASKER.mask(body)


def test_masked_text_keeps_spacing_and_matches_the_tokens() -> None:
    body = "a  10.0.0.1\tport 80"
    assert MASKER.masked_text(body) == "a  <IP>\tport <NUM>"
    assert MASKER.masked_with_values(body) == ("a  <IP>\tport <NUM>", ["10.0.0.1", "80"])


def test_many_tokens_keep_the_first_ones_and_a_tail() -> None:
    body = " ".join(str(n) for n in range(10_000))
    tokens, values = MASKER.mask(body)
    assert tokens == ["<NUM>"] * MAX_TOKENS + [TAIL]
    assert values[:3] == ["0", "1", "2"]
    assert len(values) == MAX_TOKENS + 1
    assert values[-1].startswith("100 101") and len(values[-1]) == MAX_VALUE_CHARS + 1


def test_a_huge_body_without_spaces_is_cut() -> None:
    body = "x" * 1_000_000
    tokens, values = MASKER.mask(body)
    assert tokens == ["x" * MAX_HEAD_CHARS, TAIL]
    assert values == ["x" * MAX_VALUE_CHARS + "…"]
    assert MASKER.masked_text(body) == "x" * MAX_HEAD_CHARS + " " + TAIL


def test_a_long_body_is_cut_before_its_last_partial_word() -> None:
    body = "word " * 300  # 1,500 characters, 300 tokens
    tokens, _ = MASKER.mask(body + "y" * MAX_HEAD_CHARS)
    assert tokens == ["word"] * MAX_TOKENS + [TAIL]
    tokens, _ = MASKER.mask("ab " * 500 + "z" * 3000)
    assert tokens[-1] == TAIL and len(tokens) == MAX_TOKENS + 1


@pytest.mark.parametrize(
    "body",
    [
        "[0::][0::]",
        "0::][0::]",
        "[::1]-5 at [::2]e543c51c-9298-4c7d-a267-156fff684aa2",
        "fe80::[::1]",
    ],
)
def test_a_value_right_after_an_ipv6_address_is_masked_as_the_masks_alone_mask_it(
    body: str,
) -> None:
    """The fast regex takes the character before each match; after an address that ends in
    `]` or `:` there is none, so such a body is masked by the reference (`re`) instead."""
    plain = Masker(masks=list(BUILTIN_MASKS))
    expected = plain.masked_with_values(body)
    assert MASKER.masked_with_values(body) == expected
    assert MASKER.masked_many([body]) == [expected]
    assert MASKER.masked_text(body) == expected[0]
    assert [text for text, _ in MASKER.masked_many([body], with_values=False)] == [expected[0]]
