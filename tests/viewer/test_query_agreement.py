"""The page and the server agree on every query: for generated queries and entries, the
server's evaluator (viewer/query.py, on the Entry) and the page's (viewer/static/js/query.js,
under Node, on the JSON the stream sends for that entry) keep the same entries, or refuse the
query in the same words. One Node process per test session answers every example."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from logsieve.v1 import entry_pb2

from gateway.model import Entry, PatternRef, RecentEntry
from viewer import stream
from viewer.query import QueryError, parse

HARNESS = Path(__file__).with_name("query_harness.mjs")
BANDS = {"TRACE": 1, "DEBUG": 5, "INFO": 9, "WARN": 13, "ERROR": 17, "FATAL": 21}
PATTERNS = [PatternRef(0x0123456789ABCDEF, "a <*>"), PatternRef(0x7FFF00000000AB12, "b <NUM>")]
# Characters that stress both sides: case pairs whose folding differs (Kelvin sign, long s,
# final sigma), a new line, and the characters the language and regexes give a meaning.
CHARS = 'aAbBkKsS019 -_./:é\u00c9\u03c3\u03a3\u03c2\u017f\u212a\n\t"*()[]{}|?+^$\\'
WORDS = ["timeout", "GET", "api", "503", "500", "web-3", "ok", "a", "ab", "é", "\u03a3", "x.y"]
WORDS += ["true", "0.25", "-1", "1e3", "/api/v1", "f(x)", "A", "B", "k\u015b", "\u017f"]


class Page:
    """The page's evaluator in a Node process, fed a line at a time."""

    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None:
            pytest.fail(
                "Node.js is needed to run the page's query language (apt-get install nodejs)"
            )
        self.process = subprocess.Popen(
            [node, str(HARNESS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )

    def ask(self, query: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"query": query, "entries": entries}) + "\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def node_page() -> Iterator[Page]:
    opened = Page()
    yield opened
    opened.close()


# -- entries ---------------------------------------------------------------------------------

texts = st.one_of(
    st.lists(st.sampled_from(WORDS), max_size=5).map(" ".join),
    st.text(alphabet=CHARS, max_size=16),
)
numbers = st.one_of(
    st.integers(-1000, 1000),
    st.sampled_from([0.25, 1e-05, 1.5, 503.0, -0.0, 1e21, 2.5e-7, 123456.789]),
)
scalars = st.one_of(numbers, texts, st.booleans())
values = st.one_of(scalars, st.lists(scalars, max_size=3))
http = st.fixed_dictionaries(
    {},
    optional={"status_code": numbers, "route": texts, "_value": texts, "method": texts},
)
attributes = st.fixed_dictionaries(
    {},
    optional={
        "http": http,
        "host.name": texts,
        "code": values,
        "tags": values,
        "ok": st.booleans(),
        "ratio": numbers,
        "user": texts,
        "x.y": values,
    },
)
HAS_RESOURCE = "resource" in entry_pb2.Entry.DESCRIPTOR.fields_by_name
HAS_SERVICES = "services" in entry_pb2.Entry.DESCRIPTOR.fields_by_name
services = st.sampled_from(["checkout", "api", "", "Web-3", "payments"])


@st.composite
def entries(draw: st.DrawFn) -> Entry:
    band = draw(st.sampled_from([*BANDS, "UNSPECIFIED"]))
    extra: dict[str, Any] = {}
    if HAS_SERVICES and draw(st.booleans()):
        names = draw(st.lists(services.filter(bool), max_size=3, unique=True))
        extra["services"] = {name: i + 1 for i, name in enumerate(names)}
    if HAS_RESOURCE:
        extra["resource"] = draw(
            st.fixed_dictionaries({}, optional={"host.name": texts, "code": numbers})
        )
    return Entry(
        body=draw(texts),
        severity_number=BANDS.get(band, 0),
        severity=band,
        service=draw(services),
        count=1,
        first_seen=1,
        last_seen=2,
        attributes=draw(attributes),
        trace_id=draw(st.sampled_from(["", "0af7651916cd43dd8448eb211c80319c"])),
        scope=draw(st.sampled_from(["", "app", "App"])),
        pattern=draw(st.one_of(st.none(), st.sampled_from(PATTERNS))),
        **extra,
    )


# -- queries ---------------------------------------------------------------------------------

REGEX_ATOMS = ["a", "b", "A", "k", "s", "é", "\u03c3", " ", "0", "-", ".", "\\d", "\\w"]
REGEX_ATOMS += ["\\s", "\\W"]
REGEX_ATOMS += ["\\D", "\\S", "\\b", "\\B", "^", "$", "[a-c]", "[^ab]", "[\\d.]", "[ak-]"]
REGEX_ATOMS += ["\\.", "\\/", "\\n", "\\t", "[A-Z]", "[^\\w]", "[\\S]", "}", "]", "\u017f"]
REGEX_ATOMS += ["\\1", "(?=a)", "(?i)", "*", "[z-a]", "{", "(", ")", "[", "\\p", "\\"]
QUANTIFIERS = ["", "", "", "*", "+", "?", "{1,3}", "{2}", "{0,}", "*?", "+?", "{2,1}"]


def regex_bodies() -> st.SearchStrategy[str]:
    atom = st.sampled_from(REGEX_ATOMS)

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, inner).map("".join),
            st.tuples(inner, inner).map("|".join),
            inner.map(lambda r: f"({r})"),
            inner.map(lambda r: f"(?:{r})"),
            st.tuples(inner, st.sampled_from(QUANTIFIERS)).map("".join),
        )

    return st.recursive(atom, extend, max_leaves=6)


FIELDS = ["service", "level", "severity", "body", "message", "pattern", "http.status_code"]
FIELDS += ["http.route", "http", "host.name", "code", "tags", "ok", "ratio", "trace_id", "scope"]
FIELDS += ["Service", "x", "x.y", "http.method", "user"]
VALUES = [*WORDS, "*", "web-*", "5*", "*a*", "warn", "error", "info", "bogus", "err", "TRACE"]
VALUES += ["0123456789abcdef", "7fff00000000ab12", "checkout", "Checkout", "0", "-0", "1e-05"]


@st.composite
def terms(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["word", "phrase", "field", "compare", "regex", "fregex"]))
    field = draw(st.sampled_from(FIELDS))
    if kind == "word":
        return draw(st.sampled_from(WORDS))
    if kind == "phrase":
        return '"' + draw(texts).replace("\\", "\\\\").replace('"', '\\"') + '"'
    if kind == "field":
        value = draw(st.one_of(st.sampled_from(VALUES), st.just('"' + draw(texts) + '"')))
        return f"{field}:{value}"
    if kind == "compare":
        op = draw(st.sampled_from([">", ">=", "<", "<="]))
        value = draw(st.sampled_from(["500", "0", "0.2", "-5", "1e3", "warn", "info", "abc"]))
        return f"{field}:{op}{value}"
    body = draw(regex_bodies()).replace("/", "\\/")
    flags = draw(st.sampled_from(["", "i"]))
    return f"/{body}/{flags}" if kind == "regex" else f"{field}:/{body}/{flags}"


def queries() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.lists(inner, min_size=2, max_size=3).map(" ".join),
            st.tuples(inner, inner).map(" OR ".join),
            st.tuples(inner, inner).map(" AND ".join),
            inner.map(lambda q: "-" + q),
            inner.map(lambda q: "NOT " + q),
            inner.map(lambda q: f"({q})"),
        )

    built = st.recursive(terms(), extend, max_leaves=5)
    garbage = st.text(alphabet='ab:-"()/ OR NT\\*<>=|i', max_size=24)
    return st.one_of(built, built, built, garbage)


def server_answer(query: str, batch: list[Entry]) -> dict[str, Any]:
    try:
        parsed = parse(query)
    except QueryError as exc:
        return {"error": str(exc)}
    return {"keeps": [parsed.keeps(entry) for entry in batch]}


def as_json(entry: Entry) -> dict[str, Any]:
    """The entry as the page receives it in a stream frame."""
    loaded: dict[str, Any] = json.loads(stream.entry_json(RecentEntry(1, entry, 10**18)))
    return loaded


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=queries(), batch=st.lists(entries(), min_size=1, max_size=4))
def test_the_page_and_the_server_agree_on_every_query(
    node_page: Page, query: str, batch: list[Entry]
) -> None:
    expected = server_answer(query, batch)
    event("refused" if "error" in expected else f"kept {sum(expected['keeps'])} of {len(batch)}")
    assert node_page.ask(query, [as_json(entry) for entry in batch]) == expected


@settings(max_examples=400, deadline=None)
@given(body=regex_bodies(), flags=st.sampled_from(["", "i"]), lines=st.lists(texts, max_size=4))
def test_regexes_match_the_same_lines_in_re2_and_in_the_page(
    node_page: Page, body: str, flags: str, lines: list[str]
) -> None:
    query = "/" + body.replace("/", "\\/") + "/" + flags
    batch = [Entry(line, 9, "INFO", "api", 1, 1, 2) for line in lines]
    assert node_page.ask(query, [as_json(entry) for entry in batch]) == server_answer(query, batch)


def test_a_regex_that_stalls_backtracking_runs_in_the_page_too(node_page: Page) -> None:
    stalled = as_json(Entry("a" * 30 + "b", 9, "INFO", "api", 1, 1, 2))
    assert node_page.ask("/(a+)+$/", [stalled]) == {"keeps": [False]}
    assert node_page.ask("/(a|aa)*c/", [stalled]) == {"keeps": [False]}


# Each orbit that is more than a lower and an upper case: k, s, å (with the Kelvin, long s
# and angstrom signs), ß, dotless and dotted i, sigmas, micro, thetas, Cyrillic ve, digraphs,
# omega and the ohm sign; then plain letters.
FOLDED = "kK\u212asS\u017f\u00e5\u00c5\u212b\u00df\u1e9e\u0131iI\u0130\u03c3\u03c2\u03a3"
FOLDED += "\u00b5\u03bc\u039c\u03b8\u03d1\u0398\u03f4\u0432\u0412\u1c80\u01c4\u01c5\u01c6"
FOLDED += "\u03c9\u03a9\u2126é\u00c90_ "
FOLDING = ["k", "s", "S", "[a-z]", "[^a-z]", "\\w", "\\W", "[\\W]", "[^\\w]", "\u03c3"]
FOLDING += ["\u00df", "\u00b5", "\u0131", "i", "\u0130", "\u0432", "\u01c5", "[k-s]", "[^k]"]
FOLDING += ["\u03b8", "\u03c9", "\u00e5", "\u00c9", "\\S", "[\u01c5]"]


@pytest.mark.parametrize("body", FOLDING)
def test_ignoring_case_folds_as_re2_does(node_page: Page, body: str) -> None:
    """Characters whose case folding is not plain lower and upper case (the Kelvin sign,
    the long s, final sigma, titlecase digraphs...) match in the page as they do in RE2."""
    batch = [Entry(char, 9, "INFO", "api", 1, 1, 2) for char in FOLDED]
    for query in (f"/{body}/i", f"/{body}/"):
        expected = server_answer(query, batch)
        assert node_page.ask(query, [as_json(entry) for entry in batch]) == expected, query
