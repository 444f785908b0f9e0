"""The search's regexes run in time linear in the text, on both sides, checked without timing
anything: the page's Pike VM (viewer/static/js/query-vm.js, under Node) counts its steps,
which must grow in proportion to the text on the shapes that stall a backtracking engine;
the server hands every regex to RE2. How fast either is, is `make bench`'s rows 7f-7h."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import re2

from gateway.model import Entry
from viewer import query_regex
from viewer.query import parse

VM = Path(__file__).resolve().parents[2] / "viewer" / "static" / "js" / "query-vm.js"
# Exponential (or, for the last, high-degree polynomial) in a backtracking engine on
# "a" * n + "b": none matches there, so every start is tried and every way of splitting the
# a's between the repetitions.
STALLING = ["(a+)+$", "(a|aa)+$", "(a|aa)+\\d", "(a|a?)+\\d", "(a*)*\\d", "(.*a){12}$"]
STALLING += ["(.*a){12}\\d", "(\\w+\\s?)+\\s$"]
SIZES = [1_000, 2_000, 4_000, 8_000, 16_000]
GROWTH = 2.2  # steps(2n) / steps(n): twice the text, twice the work (and a little slack)

COUNT_STEPS = """
import { Regex } from %s;
const { bodies, sizes } = JSON.parse(process.argv[1]);
const counted = [];
for (const [body, ignoreCase] of bodies) {
  const regex = new Regex(body, ignoreCase);
  const runs = sizes.map((n) => {
    const before = regex.steps;
    const found = regex.search("a".repeat(n) + "b");
    return { n, found, steps: regex.steps - before };
  });
  counted.push({ body, ignoreCase, size: regex.op.length, runs });
}
process.stdout.write(JSON.stringify(counted));
"""


def count_steps(bodies: list[tuple[str, bool]], sizes: list[int]) -> list[dict[str, Any]]:
    """Each regex's program size and, for each n, its answer and steps on "a" * n + "b"."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is needed to run the page's query language (apt-get install nodejs)")
    script = COUNT_STEPS % json.dumps(VM.as_uri())
    argument = json.dumps({"bodies": bodies, "sizes": sizes})
    done = subprocess.run(
        [node, "--input-type=module", "-e", script, argument],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    counted: list[dict[str, Any]] = json.loads(done.stdout)
    return counted


@pytest.mark.parametrize("ignore_case", [False, True])
def test_the_page_matcher_takes_steps_linear_in_the_text(ignore_case: bool) -> None:
    for regex in count_steps([(body, ignore_case) for body in STALLING], SIZES):
        runs = regex["runs"]
        assert [run["found"] for run in runs] == [False] * len(SIZES), regex["body"]
        for shorter, longer in itertools.pairwise(runs):
            assert longer["steps"] <= GROWTH * shorter["steps"], (regex["body"], longer["n"])
        for run in runs:  # each character runs at most one thread per instruction
            limit = (run["n"] + 1) * regex["size"]
            assert run["steps"] <= limit, (regex["body"], run["n"], run["steps"], limit)


def test_the_steps_count_the_work_done() -> None:
    """The counter moves with the text (so the bound above is not met by counting nothing)."""
    [regex] = count_steps([("(a+)+$", False)], [10, 1_000])
    short, long = regex["runs"]
    assert 0 < short["steps"] < long["steps"]
    assert long["steps"] >= 1_000  # a thread at least on each character


def test_the_server_hands_every_regex_to_re2(monkeypatch: pytest.MonkeyPatch) -> None:
    """The query's regex is compiled by RE2 (linear whatever the pattern), never by Python's
    backtracking re, and what is compiled is RE2's own regex object."""
    compiled: list[str] = []
    real = re2.compile

    def spy(body: str, options: Any) -> Any:
        compiled.append(body)
        return real(body, options)

    monkeypatch.setattr(re2, "compile", spy)
    query = parse("service:api /(a+)+$/ OR message:/(a|aa)+$/i")
    assert compiled == ["(a+)+$", "(a|aa)+$"]
    assert query.keeps(Entry("a" * 30 + "b", 9, "INFO", "api", 1, 1, 2)) is False
    assert type(query_regex.compile_regex("(a+)+$", False)).__module__ == "re2"
