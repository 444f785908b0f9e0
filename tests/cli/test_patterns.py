"""`logsieve patterns` and `logsieve explain --body`, against a real store filled by a real
batch stage (the commands read the system clock, so records are dated from it)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from gateway.cli.main import main
from gateway.config.settings import parse_config
from gateway.otlp import rows_from_request
from gateway.pipeline.batch import NS, BatchSettings, BatchStage
from gateway.pipeline.grouping import Grouping
from gateway.pipeline.learning import miner_for
from gateway.pipeline.patterns.miner import pattern_id
from gateway.pipeline.sampling import SamplingPolicy
from gateway.store import Store
from tests.builders import Rec, request
from tests.conftest import PG_URL

BY_PATTERN = "batch: {dedupe: {keys: [pattern, severity]}}\n"
ERRORS_BY_BODY = """
batch:
  dedupe:
    keys: [pattern, severity]
    rules: [{match: {severity_at_least: ERROR}, keys: [body, severity]}]
"""
INVALID = "Invalid user <*> from <IP>"
STARTED = "Server started on port <NUM>"
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # anything but a newline
USERS = ["admin", "oracle", "webmaster", "test", "guest", "postgres"]


def write_config(tmp_path: Path, url: str = "", batch: str = BY_PATTERN) -> str:
    config = tmp_path / "gateway.yaml"
    storage = f"storage: {{url: '{url}'}}\n" if url else ""
    config.write_text(storage + batch)
    return str(config)


def store_config(store: Store, tmp_path: Path, batch: str = BY_PATTERN) -> str:
    url = f"sqlite:///{store.path}" if store.dialect == "sqlite" else PG_URL
    return write_config(tmp_path, url, batch)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def stage(store: Store) -> BatchStage:
    batch = parse_config({"batch": {"dedupe": {"keys": ["pattern", "severity"]}}}, env={}).batch
    settings = BatchSettings(grouping=Grouping.from_config(batch.dedupe))
    return BatchStage(store, SamplingPolicy(), settings, outbound=(), miner=miner_for(batch))


def ingest(store: Store, bodies: list[str], service: str, seen_at: int) -> None:
    records = [Rec(body, 9, time=seen_at + i) for i, body in enumerate(bodies)]
    store.enqueue(rows_from_request(request(records, service), seen_at, store.origin_ids).rows)


def invalid_users(count: int) -> list[str]:
    return [f"Invalid user {USERS[i % 6]} from 10.0.{i % 7}.{i % 250}" for i in range(count)]


def fill(store: Store, now: int) -> None:
    """30 invalid users (auth, 5 min ago), 4 start-ups (web, 2 min ago) and 3 disk lines
    (web, 3 h ago), through one batch stage run."""
    ingest(store, invalid_users(30), "auth", now - 300 * NS)
    ingest(store, [f"Server started on port {8000 + i}" for i in range(4)], "web", now - 120 * NS)
    disks = ["disk sda1 is 91% full", "disk sdb2 is 97% full", "disk sdc3 is 99% full"]
    ingest(store, disks, "web", now - 3 * 3600 * NS)
    assert stage(store).run_once(now).claimed == 37


# -- patterns --------------------------------------------------------------------------------


def test_patterns_lists_the_top_patterns_in_aligned_columns(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(store, time.time_ns())
    code, out, err = run(capsys, "patterns", "--config", store_config(store, tmp_path))
    assert (code, err) == (0, "")
    summary, heading, invalid, example, started, _, *more = out.splitlines()
    assert more == []  # the disk lines are older than an hour
    assert summary.startswith("2 patterns seen in the last 1h (3 stored)")
    assert heading == "ID                COUNT  FIRST SEEN  LAST SEEN  TEMPLATE"
    assert invalid == f"{pattern_id(INVALID):016x}     30  5 min ago   5 min ago  {INVALID}"
    assert example == " " * 48 + "e.g. Invalid user admin from 10.0.0.0"
    assert started == f"{pattern_id(STARTED):016x}      4  2 min ago   2 min ago  {STARTED}"


def test_patterns_in_json_since_and_limit(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = time.time_ns()
    fill(store, now)
    config = store_config(store, tmp_path)
    code, out, _ = run(capsys, "patterns", "--config", config, "--json")
    found = json.loads(out)
    assert code == 0 and (found["stored"], found["grouped_by_pattern"]) == (3, True)
    assert [(p["id"], p["count"], p["template"]) for p in found["patterns"]] == [
        (f"{pattern_id(INVALID):016x}", 30, INVALID),
        (f"{pattern_id(STARTED):016x}", 4, STARTED),
    ]
    first = found["patterns"][0]
    assert first["first_seen_unix_nano"] == now - 300 * NS
    assert 300 <= first["last_seen_age_seconds"] < 360
    assert first["example"] == "Invalid user admin from 10.0.0.0"
    code, out, _ = run(capsys, "patterns", "--config", config, "--json", "--since", "4h")
    counts = [p["count"] for p in json.loads(out)["patterns"]]
    assert code == 0 and counts == [30, 4, 3]  # the disk lines of 3 h ago too
    code, out, _ = run(capsys, "patterns", "--config", config, "--json", "--since", "180s")
    assert [p["template"] for p in json.loads(out)["patterns"]] == [STARTED]  # 2 min ago
    code, out, _ = run(capsys, "patterns", "--config", config, "--since", "60s")
    assert code == 0 and out.startswith("no patterns seen in the last 60s (3 stored);")
    code, out, _ = run(capsys, "patterns", "--config", config, "--json", "--limit", "1")
    assert [p["count"] for p in json.loads(out)["patterns"]] == [30]
    code, out, _ = run(capsys, "patterns", "--config", config, "--limit", "1")
    assert code == 0 and out.startswith("the top 1 pattern seen in the last 1h (3 stored);")
    assert INVALID in out and STARTED not in out


def test_patterns_of_one_service_follow_merged_ids(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = time.time_ns()
    gateway = stage(store)
    ingest(store, ["Invalid user admin from 10.0.0.1"] * 3, "legacy", now - 60 * NS)
    gateway.run_once(now)  # one user so far: a narrow pattern, kept by legacy's entry
    fill(store, now)  # 30 users: the narrow pattern merges into the wide one
    config = store_config(store, tmp_path)
    listed = {}
    for service in ("legacy", "auth", "web", "nobody"):
        code, out, _ = run(capsys, "patterns", "--config", config, "--service", service, "--json")
        assert code == 0
        listed[service] = [(p["template"], p["count"]) for p in json.loads(out)["patterns"]]
    assert listed == {
        "legacy": [(INVALID, 33)],  # counts are the pattern's totals, all services
        "auth": [(INVALID, 33)],
        "web": [(STARTED, 4)],  # the disk lines are older than an hour
        "nobody": [],
    }
    code, out, _ = run(capsys, "patterns", "--config", config, "--service", "web\x1b[2J")
    assert code == 0 and not CONTROL.search(out)
    assert "with entries of service 'web\\x1b[2J' in the live window" in out


def test_patterns_says_when_the_config_groups_by_body_and_lists_the_store(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(store, time.time_ns())
    config = store_config(store, tmp_path, batch="batch: {dedupe: {keys: [body]}}\n")
    code, out, err = run(capsys, "patterns", "--config", config, "--json")
    assert code == 0 and len(json.loads(out)["patterns"]) == 2
    assert json.loads(out)["grouped_by_pattern"] is False
    assert err.count("\n") == 1 and err.startswith("batch.dedupe groups no record by pattern")


def test_log_text_is_masked_and_escaped(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = time.time_ns()
    ingest(store, ["login token=s3cr3tvalue ok \x1b[2J"] * 2, "auth", now - NS)
    stage(store).run_once(now)
    config = store_config(store, tmp_path)
    code, out, _ = run(capsys, "patterns", "--config", config)
    assert code == 0 and not CONTROL.search(out) and "s3cr3tvalue" not in out
    assert "e.g. login token=*** ok \\x1b[2J" in out
    code, out, _ = run(capsys, "patterns", "--config", config, "--json")
    assert json.loads(out)["patterns"][0]["example"] == "login token=*** ok \x1b[2J"


@pytest.mark.parametrize("since", ["1x", "0s", "10", "1y"])  # 1d is a day
def test_a_bad_since_is_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], since: str
) -> None:
    code, out, err = run(capsys, "patterns", "--config", write_config(tmp_path), "--since", since)
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert err.startswith("--since: ") and repr(since) in err


def test_patterns_without_a_database_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.db"
    code, out, err = run(
        capsys, "patterns", "--config", write_config(tmp_path, f"sqlite:///{missing}")
    )
    assert (code, out) == (1, "") and f"no database file at {missing}" in err
    assert err.count("\n") == 1 and not missing.exists()


# -- explain --body --------------------------------------------------------------------------


def explain(capsys: pytest.CaptureFixture[str], config: str, *argv: str) -> dict[str, Any]:
    code, out, _ = run(capsys, "explain", "--config", config, "--json", *argv)
    assert code == 0
    found: dict[str, Any] = json.loads(out)
    return found


def test_two_bodies_of_one_template_map_to_one_pattern_from_the_store(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(store, time.time_ns())
    config = store_config(store, tmp_path)
    first = explain(capsys, config, "--body", "Invalid user zed from 192.168.1.9")
    second = explain(capsys, config, "--body", "Invalid user root from 10.9.9.9")
    wanted = {"id": f"{pattern_id(INVALID):016x}", "template": INVALID}
    for found, user in ((first, "zed"), (second, "root")):
        pattern = found["pattern"]
        assert {key: pattern[key] for key in wanted} == wanted
        assert pattern["variables"][0] == user
        assert pattern["mined_from"] == "this body and 3 known patterns from the store"
        assert found["dedupe_key"] == {"pattern": wanted["id"], "severity": "UNSPECIFIED"}
    code, out, _ = run(capsys, "explain", "--config", config, "--body", "Invalid user x from ::1")
    assert code == 0 and re.search(r"grouping: +batch\.dedupe\.keys\n", out)
    assert f'dedupe key:  pattern="{wanted["id"]}" severity="UNSPECIFIED"\n' in out
    assert f"pattern id:  {wanted['id']}\ntemplate:    {INVALID}\n" in out
    assert 'variables:   "x" "::1"\n' in out


def test_explain_without_a_database_masks_the_typed_variables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.db"
    config = write_config(tmp_path, f"sqlite:///{missing}")
    found = [
        explain(capsys, config, "--body", f"cache warmed in {took}")["pattern"]
        for took in ("31 ms", "7 ms")
    ]
    template = "cache warmed in <DURATION>"
    assert [(p["id"], p["template"]) for p in found] == [
        (f"{pattern_id(template):016x}", template)
    ] * 2
    assert found[0]["mined_from"] == (
        f"this body alone: the store was not read (no database file at {missing})"
    )
    assert not missing.exists()


def test_explain_of_a_record_grouped_by_body_shows_no_pattern(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'none.db'}", ERRORS_BY_BODY)
    found = explain(capsys, config, "--body", "disk 3 failed", "--severity", "ERROR")
    assert found["pattern"] is None and found["dedupe_key"] == {
        "body": "disk 3 failed",
        "severity": "ERROR",
    }
    assert found["grouping"] == {
        "rule_index": 0,
        "rule": "batch.dedupe.rules[0]: severity_at_least=ERROR",
        "keys": ["body", "severity"],
    }
    code, out, _ = run(capsys, "explain", "--config", config, "--body", "x", "--severity", "ERROR")
    assert code == 0 and "pattern id:" not in out and "template:" not in out
    assert re.search(r"grouping: +batch\.dedupe\.rules\[0\]: severity_at_least=ERROR\n", out)
    found = explain(capsys, config, "--body", "disk 3 failed", "--severity", "INFO")
    assert found["grouping"] == {
        "rule_index": None,
        "rule": "batch.dedupe.keys (no rule in batch.dedupe.rules matches)",
        "keys": ["pattern", "severity"],
    }
    assert found["pattern"]["template"] == "disk <NUM> failed"


def test_explain_by_default_groups_by_body_without_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = explain(capsys, write_config(tmp_path, batch=""), "--body", "x")
    assert found["pattern"] is None and found["grouping"] == {
        "rule_index": None,
        "rule": "batch.dedupe.keys",
        "keys": ["body", "severity"],
    }
