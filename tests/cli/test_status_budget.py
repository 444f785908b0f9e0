"""`logsieve status` shows each exporter's budget: the rate in use, the backend's announced
limit, and how many entries are held and since when; or that it has none."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from gateway.cli import status as shown
from gateway.store import Store
from tests.budget_kit import hold, set_bucket
from tests.builders import T0
from tests.cli.test_admin import run, store_config
from tests.cli.test_status import LOGFLARE_ON

NS = 1_000_000_000
OTLP_OFF = "no endpoint configured"
LOGFLARE_BUDGETED = LOGFLARE_ON.replace("api_key: k}", "api_key: k, budget: {enabled: true}}")


def lines_of(store: Store, now: int, budgets_on: frozenset[str]) -> dict[str, str]:
    status = shown.read_status(store, now, {"logflare": None, "otlp": OTLP_OFF}, budgets_on)
    return {line.split(":", 1)[0]: line for line in shown.status_lines(status)}


def test_the_rate_in_use_the_limit_and_how_far_behind_the_held_entries_are(store: Store) -> None:
    hold(store, [f"key {i}" for i in range(1234)], T0)
    set_bucket(store, T0 + 10 * NS, rate=45.0, limit=50.0)
    found = lines_of(store, T0 + 130 * NS, frozenset({"logflare"}))
    assert found["  budget"] == (
        "  budget:          45.0 events/s in use (limit 50 announced), 1,234 entries held,"
        " oldest waiting 2m10s"
    )
    assert found["exporter otlp"] == "exporter otlp:     off (no endpoint configured)"


def test_a_budget_with_nothing_held_and_no_limit_announced(store: Store) -> None:
    set_bucket(store, T0, rate=12.5, limit=0.0)
    found = lines_of(store, T0 + 5 * NS, frozenset({"logflare"}))
    assert found["  budget"].endswith(" 12.5 events/s in use (no limit announced), nothing held")


def test_a_budget_before_its_first_release_and_an_exporter_without_one(store: Store) -> None:
    status = shown.read_status(store, T0, {"logflare": None, "otlp": None}, frozenset({"otlp"}))
    text = "\n".join(shown.status_lines(status))
    assert re.search(r"^  budget: +off$", text, re.M)  # logflare's
    assert re.search(
        r"^  budget: +on \(no release yet: the export stage has not run\)$", text, re.M
    )


def test_a_budget_turned_off_still_says_what_it_holds(store: Store) -> None:
    """Its held entries wait until the budget is on again: off, the exporter is not idle."""
    hold(store, ["one", "two", "three"], T0)
    set_bucket(store, T0, rate=45.0, limit=50.0)
    status = shown.read_status(store, T0 + 3725 * NS, {"logflare": "off for now"}, frozenset())
    assert not status.exporters["logflare"].idle
    found = {line.split(":", 1)[0]: line for line in shown.status_lines(status)}
    assert found["  budget"].endswith(" off (3 entries still held, oldest waiting 1h02m)")


def test_without_the_config_every_budget_in_the_database_is_on(store: Store) -> None:
    hold(store, ["one"], T0)
    set_bucket(store, T0, rate=45.0, limit=50.0)
    status = shown.read_status(store, T0 + 45 * NS)
    found = {line.split(":", 1)[0]: line for line in shown.status_lines(status)}
    assert found["  budget"].endswith(
        " 45.0 events/s in use (limit 50 announced), 1 entry held, oldest waiting 45s"
    )


def test_status_command_shows_the_budget_in_text_and_json(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start = time.time_ns() - 130 * NS  # the command reads the system clock
    hold(store, ["one", "two"], start)
    set_bucket(store, start, rate=45.0, limit=50.0)
    config = store_config(store, tmp_path, LOGFLARE_BUDGETED)
    code, out, _ = run(capsys, "status", "--config", config)
    assert code == 0
    assert re.search(
        r"^  budget: +45\.0 events/s in use \(limit 50 announced\), 2 entries held,"
        r" oldest waiting 2m1\ds$",
        out,
        re.M,
    )
    code, out, _ = run(capsys, "status", "--config", config, "--json")
    exporters = json.loads(out)["exporters"]
    budget = exporters["logflare"]["budget"]
    assert 130 <= budget.pop("oldest_wait_seconds") < 190
    assert budget == {
        "state": "on",
        "rate_events_per_second": 45.0,
        "limit_events_per_second": 50.0,
        "held_entries": 2,
        "oldest_held_unix_nano": start,
    }
    assert exporters["otlp"]["budget"]["state"] == "off"
