"""The configuration reference in README.md and docs/configuration.md is what the config
models say: every key described, no description of a key that is gone, and both tables as
`python -m gateway.config.reference` would write them today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Literal

import pytest
from pydantic import Field

from gateway.config import reference
from gateway.config.descriptions import DOCS
from gateway.config.types import Duration, Model

REPO = Path(__file__).resolve().parents[2]


def test_every_key_has_one_description_and_every_description_a_key() -> None:
    assert reference.problems() == []


@pytest.mark.parametrize("document", [reference.README, reference.FULL])
def test_the_tables_are_what_the_models_say(document: Path) -> None:
    expected = reference.rendered(REPO)[REPO / document]
    assert (REPO / document).read_text(encoding="utf-8") == expected, (
        f"{document} is out of date: run `python -m gateway.config.reference` (make reference)"
    )


def test_the_check_command_passes_on_the_repository() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.config.reference", "--check", "--root", str(REPO)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


class Limits(Model):
    burst: int = Field(default=20, ge=1, le=100)
    wait: Duration = 5400.0


class Section(Model):
    mode: Literal["fast", "safe"] = "safe"
    limits: Limits = Limits()
    db_schema: str = Field(default="", alias="schema", description="where the tables go")
    tags: tuple[str, ...] = ()
    new_key: bool = False


class Root(Model):
    section: Section = Section()


def test_a_key_added_to_the_models_appears_with_its_default_range_and_name_in_the_file() -> None:
    shipped = Root.model_validate({"section": {"mode": "fast", "limits": {"wait": "1h"}}})
    found = reference.keys(Root, shipped)
    assert [key.path for key in found] == [
        "section.mode",
        "section.limits.burst",
        "section.limits.wait",
        "section.schema",  # the alias: as the file writes it
        "section.tags",
        "section.new_key",
    ]
    table = reference.full_table(found).splitlines()
    assert table[2] == "| `section.mode` | `safe`; shipped: `fast` | `fast`, `safe` |  |"
    assert table[3] == "| `section.limits.burst` | `20` | 1 to 100 |  |"
    assert table[4] == "| `section.limits.wait` | `1h30m`; shipped: `1h` | a duration |  |"
    assert table[5] == "| `section.schema` | empty |  | where the tables go |"
    assert table[6] == "| `section.tags` | `[]` |  |  |"
    undescribed = ["mode", "limits.burst", "limits.wait", "tags", "new_key"]
    assert reference.problems(found) == [
        f"section.{name}: no description: add it to gateway/config/descriptions.py"
        for name in undescribed
    ] + [f"{path}: described, but no such key" for path in DOCS]


@pytest.mark.parametrize(
    ("seconds", "written"),
    [(10.0, "10s"), (600.0, "10m"), (3600.0, "1h"), (5400.0, "1h30m"), (0.5, "500ms"),
     (90.0, "1m30s"), (86400.0, "24h")],
)  # fmt: skip
def test_durations_are_written_as_in_the_file(seconds: float, written: str) -> None:
    assert reference.duration_text(seconds) == written


def test_the_markers_must_be_there() -> None:
    with pytest.raises(ValueError, match="markers"):
        reference.splice("# no markers here\n", "| table |")
    start, end = reference.markers("config-reference")
    spliced = reference.splice(f"a\n{start}\nold\n{end}\nb\n", "| new |")
    assert spliced.startswith(f"a\n{start}\n") and "old" not in spliced
    assert spliced.endswith(f"\n| new |\n\n{end}\nb\n")
