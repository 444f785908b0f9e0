"""The search language on the server: what each query keeps, what it refuses and in what words,
and that a regex built to stall a backtracking engine gets its answer (its linear work is
test_query_linear.py's, its speed `make bench`'s)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.model import Entry, PatternRef
from viewer.query import MAX_QUERY, QueryError, parse
from viewer.query_regex import RegexError, check, size

PACKETS = PatternRef(0x0123456789ABCDEF, "PacketResponder <NUM> terminating")


def entry(body: str = "GET /api/users 503 upstream Timeout", **fields: Any) -> Entry:
    values: dict[str, Any] = {
        "severity_number": 17,
        "severity": "ERROR",
        "service": "checkout",
        "count": 1,
        "first_seen": 1,
        "last_seen": 2,
        "attributes": {
            "http": {"status_code": 503, "route": "/api/users", "method": "GET"},
            "retry": True,
            "ratio": 0.25,
            "tags": ["blue", "green"],
        },
        "resource": {"host.name": "web-3", "deployment.environment": "prod"},
    }
    values.update(fields)
    return Entry(body=body, **values)


ENTRY = entry()


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        ("", True),
        ("   ", True),
        ("timeout", True),  # any case, a substring of the message
        ("TIME", True),
        ("timeouts", False),
        ("upstream timeout", True),  # words are ANDed, in any order
        ("timeout upstream", True),
        ("timeout AND upstream", True),
        ("timeout missing", False),
        ("missing OR timeout", True),
        ("missing OR absent", False),
        ("-health", True),
        ("-timeout", False),
        ("NOT timeout", False),
        ("--timeout", True),
        ('"upstream timeout"', True),
        ('"timeout upstream"', False),
        ('"say \\"hi\\""', False),
        ("missing OR timeout upstream", True),  # AND binds first: missing OR (timeout upstream)
        ("(missing OR timeout) upstream", True),
        ("(missing OR absent) upstream", False),
        ("-(missing OR absent)", True),
        ("/api/users", True),  # a word that starts with /: not a regex
        ("GET", True),
        ("a - b", False),  # a lone - is a word
    ],
)
def test_words_phrases_and_operators(query: str, kept: bool) -> None:
    assert parse(query).keeps(ENTRY) is kept


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        ("service:checkout", True),
        ("service:CHECKOUT", True),  # values in any case
        ("service:check", False),  # equal, not a substring
        ("service:check*", True),
        ("service:*out", True),
        ("service:c*k*t", True),
        ("-service:checkout", False),
        ("service.name:checkout", True),
        ("level:error", True),
        ("severity:ERROR", True),
        ("level:err", True),
        ("level:warn", False),
        ("level:>=warn", True),
        ("level:>error", False),
        ("level:<=error", True),
        ("level:<info", False),
        ("level:e*", True),
        ("http.status_code:503", True),
        ("http.status_code:503.0", True),  # numbers compare as numbers
        ("http.status_code:>=500", True),
        ("http.status_code:>503", False),
        ("http.status_code:<600", True),
        ("http.status_code:5*", True),
        ('http.status_code:"503"', True),
        ("http.method:get", True),
        ("http.route:/^\\/api/", True),
        ("http.route:/^\\/API/", False),
        ("http.route:/^\\/API/i", True),
        ("http.route:*", True),
        ("http.missing:*", False),
        ("-http.missing:*", True),
        ("retry:true", True),
        ("ratio:>0.2", True),
        ("ratio:0.25", True),
        ("tags:green", True),  # a list: any of its items
        ("tags:red", False),
        ("host.name:web-3", True),  # resource attributes by their dotted key
        ("host.name:web-*", True),
        ("deployment.environment:prod", True),
        ("body:timeout", True),
        ("message:upstream", True),
        ("msg:/503 up/", True),
        ("pattern:0123456789abcdef", False),
        ("trace_id:*", False),
    ],
)
def test_field_terms(query: str, kept: bool) -> None:
    assert parse(query).keeps(ENTRY) is kept


def test_service_matches_any_of_an_entry_s_services() -> None:
    aggregate = entry(services={"payments": 6, "checkout": 3, "auth": 1}, service="payments")
    assert parse("service:auth").keeps(aggregate)
    assert parse("service:checkout").keeps(aggregate)
    assert not parse("service:search").keeps(aggregate)
    assert not parse("service:*").keeps(entry(service=""))


def test_pattern_and_own_fields() -> None:
    grouped = entry(pattern=PACKETS, trace_id="0af7651916cd43dd8448eb211c80319c", scope="app")
    assert parse("pattern:0123456789ABCDEF").keeps(grouped)
    assert parse("pattern:*").keeps(grouped) and not parse("pattern:*").keeps(ENTRY)
    assert parse("trace_id:0af7*").keeps(grouped)
    assert parse("scope:app").keeps(grouped)


def test_regexes_on_the_message() -> None:
    assert parse("/time(d|out)/i").keeps(ENTRY)
    assert not parse("/time(d|out)/").keeps(ENTRY)
    assert parse("/^GET \\/api\\/\\w+ \\d{3}\\b/").keeps(ENTRY)
    assert parse("/[^a-z]Timeout$/").keeps(ENTRY)
    assert not parse("/a.b/").keeps(entry("a\nb"))  # . stops at a new line, as in RE2
    assert parse("/a[^x]b/").keeps(entry("a\nb"))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('"unclosed', 'missing closing " for the one at character 1'),
        ("(a OR b", "missing ) for the ( at character 1"),
        ("a (b", "missing ) for the ( at character 3"),
        ("()", "empty ( ) at character 1"),
        ("a OR", '"OR" needs a term on each side (character 3)'),
        ("OR a", '"OR" needs a term on each side (character 1)'),
        ("a OR OR b", '"OR" needs a term on each side (character 3)'),
        ("a AND", '"AND" needs a term on each side (character 3)'),
        ("NOT", 'nothing to negate after "NOT" (character 1)'),
        ("a -(", "missing ) for the ( at character 4"),
        (
            "ERROR:",
            'nothing after "ERROR:" (character 1): write ERROR:value, '
            'or "ERROR:" in quotes to search for the text',
        ),
        ("code:>=", 'nothing after "code:>=" (character 1)'),
        (
            "level:loud",
            "level:loud (character 1): not a level: trace, debug, info, warn, error or fatal",
        ),
        ("level:>=w*", "level:>=w* (character 1): a comparison needs a level, as in level:>=warn"),
        (
            "x:>=abc",
            "x:>=abc (character 1): a comparison needs a number, as in http.status_code:>=500",
        ),
        (
            "body:>3",
            'body:>3 (character 1): the message takes words, "phrases" or /regexes/, not >',
        ),
        ("pattern:abc", "pattern:abc (character 1): a pattern id is 16 hex digits"),
        (
            "/(a/",
            "/(a/ (character 1): missing ) for the ( at character 1 of the regex",
        ),
        (
            "/a\\1/",
            "/a\\1/ (character 1): backreferences are not supported (they need backtracking) "
            "at character 2 of the regex",
        ),
        (
            "x /(?=a)b/",
            "/(?=a)b/ (character 3): lookaround is not supported (it needs backtracking) "
            "at character 1 of the regex",
        ),
        (
            "/(?i)a/",
            "/(?i)a/ (character 1): only ( ) and (?: ) groups are supported (for case, write "
            "/…/i) at character 1 of the regex",
        ),
        (
            "/a**/",
            "/a**/ (character 1): a quantifier after a quantifier at character 3 of the regex",
        ),
        ("/*a/", "/*a/ (character 1): nothing to repeat at character 1 of the regex"),
        (
            "/a\\B/",
            "/a\\B/ (character 1): \\B is not supported (write \\b or a class) at "
            "character 2 of the regex",
        ),
        ("/\\pL/", "/\\pL/ (character 1): \\p is not supported at character 1 of the regex"),
        (
            "/[]/",
            "/[]/ (character 1): an empty [ ] (write \\] for the character) at character 2 "
            "of the regex",
        ),
        ("/[z-a]/", "/[z-a]/ (character 1): a bad range in [ ] at character 2 of the regex"),
        (
            "/a{3,2}/",
            "/a{3,2}/ (character 1): a repetition {3,2} whose maximum is below its "
            "minimum at character 2 of the regex",
        ),
        (
            "/a{2000}/",
            "/a{2000}/ (character 1): a repetition over 1000 at character 2 of the regex",
        ),
        (
            "/(a{30}){40}/",
            "/(a{30}){40}/ (character 1): this regex is too large once its "
            "repetitions are spelt out",
        ),
        ("x" * (MAX_QUERY + 1), f"the query is longer than {MAX_QUERY} characters"),
        ("(" * 40 + "a" + ")" * 40, "more than 32 nested groups or negations"),
    ],
)
def test_bad_queries_say_what_to_fix(query: str, message: str) -> None:
    with pytest.raises(QueryError) as refused:
        parse(query)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("ftp://host", "ftp://host"),  # a URL is a word, not a field ftp
        ("fe80::1", "fe80::1"),  # so is an IPv6 address
        ("12:30:01", "12:30:01"),  # a field name starts with a letter
        ('"ERROR:"', "ERROR:"),
        ("f(x)", "f(x)"),  # a word's own parentheses
        ("(f(x))", "f(x)"),
        ("/api/v1/", "/api/v1/"),  # not a regex: / followed by more than i
        ("/a/g", "/a/g"),
    ],
)
def test_what_reads_as_a_plain_word(query: str, message: str) -> None:
    assert parse(query).keeps(entry(message))
    assert not parse(query).keeps(entry("something else"))


def test_the_subset_sizes_as_the_page_compiles_it() -> None:
    assert size(check("a")) == 1
    assert size(check("ab|c")) == 4
    assert size(check("(\\d{1,3}\\.){3}\\d{1,3}")) == 20
    with pytest.raises(RegexError):
        check("(a{30}){40}")


def test_a_regex_that_stalls_backtracking_engines_gets_its_answer() -> None:
    """(a+)+$ on 'a' x 30 then 'b' takes about 2**30 steps in a backtracking engine (Python's
    re, the browser's RegExp); RE2 answers at once. Only the answer is checked here: that the
    work grows linearly is tests/viewer/test_query_linear.py's (by step counts), and how fast
    it is, `make bench`'s rows 7f-7h."""
    query = parse("/(a+)+$/")
    assert query.keeps(entry("a" * 30 + "b")) is False
    assert query.keeps(entry("a" * 100_000 + "b")) is False
    assert query.keeps(entry("a" * 30)) is True
