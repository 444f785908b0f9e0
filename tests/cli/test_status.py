"""`logsieve status`: the queue, then every exporter with its outbox, dead letters and health."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from gateway.cli import status as shown
from gateway.config.settings import ExportersConfig
from gateway.model import OutboxEvent
from gateway.pipeline.batch import NS
from gateway.store import Store
from tests.builders import T0, Rec
from tests.cli.test_admin import CONTROL, REFUSED, enqueue, fill, run, store_config, write_config

LOGFLARE_ON = "exporters: {logflare: {source: 00000000-0000-4000-8000-000000000000, api_key: k}}\n"
BOTH_ON = (
    "exporters: {logflare: {source: 00000000-0000-4000-8000-000000000000, api_key: k},"
    " otlp: {endpoint: 'http://127.0.0.1:4317'}}\n"
)
LOGFLARE_OFF = "no source and api_key configured"


def test_status_reads_every_table(store: Store) -> None:
    queue_bytes = fill(store, T0)
    status = shown.read_status(store, T0 + 80 * NS)
    assert (status.queue.depth, status.queue.oldest_received_at) == (3, T0 + 20 * NS)
    assert status.queue.payload_bytes == queue_bytes  # bytes, not characters: "é" is two
    logflare = status.exporters["logflare"]
    outbox = logflare.outbox
    assert (outbox.depth, outbox.oldest_created_at, outbox.claimed) == (1, T0 + 5 * NS, 0)
    assert logflare.dead_letters == 1 and status.recent_entries == 2
    assert (logflare.health.last_success, logflare.health.last_error) == (T0 + 10 * NS, T0 + NS)
    assert status.counters == {"dropped_records": 1}


def test_every_exporter_has_its_own_outbox_dead_letters_and_health(store: Store) -> None:
    fill(store, T0)
    enqueue(store, [Rec("x", 9)], T0)
    claim = store.claim_batch(1, NS, 1)
    store.finish_batch(claim, [], [OutboxEvent("otlp", "a", 9), OutboxEvent("otlp", "b", 9)], T0)
    store.record_export_result("otlp", T0 + 2 * NS, "gRPC UNAVAILABLE: down")
    off = shown.off_reasons(ExportersConfig.model_validate({"otlp": {"endpoint": "http://h:1"}}))
    status = shown.read_status(store, T0 + 80 * NS, off)
    assert {name: e.outbox.depth for name, e in status.exporters.items()} == {
        "logflare": 1,
        "otlp": 2,
    }
    text = "\n".join(shown.status_lines(status))
    assert "exporter logflare: off (no source and api_key configured)" in text
    assert re.search(r"^exporter otlp: +on$", text, re.M)
    assert re.search(
        r"^  last error: +78 s ago \(2026-01-01 00:00:02 UTC\): gRPC UNAVAILABLE", text, re.M
    )
    assert status.outbox_depth == 3


def test_status_in_text_has_aligned_lines_and_human_ages(store: Store) -> None:
    fill(store, T0)
    lines = shown.status_lines(shown.read_status(store, T0 + 80 * NS))
    assert lines[:2] == [
        "queue depth:       3 records",
        "queue oldest:      60 s ago (2026-01-01 00:00:20 UTC)",
    ]
    text = "\n".join(lines)
    assert "exporter logflare: on\n" in text
    assert "  outbox depth:    1 event (0 being sent)" in text
    assert "  outbox oldest:   75 s ago" in text
    assert "  dead letters:    1\n" in text
    assert "  last success:    70 s ago" in text
    assert "  last error:      79 s ago (2026-01-01 00:00:01 UTC): HTTP 400: nope\\x1b[2J" in text
    assert "recent entries:    2 (live view, unexpired)" in text
    assert lines[-1] == "counters:          dropped_records=1"
    assert not CONTROL.search(text)


def test_status_command_in_text_and_json(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start = time.time_ns() - 600 * NS  # the command reads the system clock
    queue_bytes = fill(store, start)
    config = store_config(store, tmp_path, LOGFLARE_ON)
    code, out, _ = run(capsys, "status", "--config", config)
    assert code == 0 and re.search(r"queue oldest: +9 min ago", out)
    assert re.search(r"queue bytes: +\d+ B \(bodies and records\)", out)
    code, out, _ = run(capsys, "status", "--config", config, "--json")
    found = json.loads(out)
    assert code == 0 and found["queue"]["depth"] == 3
    assert found["queue"]["payload_bytes"] == queue_bytes
    assert found["queue"]["oldest_received_at_unix_nano"] == start + 20 * NS
    assert 580 <= found["queue"]["oldest_age_seconds"] < 600 + 60
    logflare = found["exporters"]["logflare"]
    assert (logflare["outbox"]["depth"], logflare["dead_letters"]) == (1, 1)
    assert logflare["last_error_text"] == REFUSED.detail and found["recent_entries"] == 2
    assert logflare["last_success_unix_nano"] == start + 10 * NS
    assert found["exporters"]["otlp"] == {
        "state": "off",
        "off_reason": "no endpoint configured",
        "outbox": {
            "depth": 0,
            "claimed": 0,
            "oldest_created_at_unix_nano": None,
            "oldest_age_seconds": None,
        },
        "dead_letters": 0,
        "budget": {
            "state": "off",
            "rate_events_per_second": None,
            "limit_events_per_second": None,
            "held_entries": 0,
            "oldest_held_unix_nano": None,
            "oldest_wait_seconds": None,
        },
        "last_success_unix_nano": None,
        "last_error_unix_nano": None,
        "last_error_text": "",
    }
    assert found["counters"] == {"dropped_records": 1}


def test_status_of_an_empty_database(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "status", "--config", store_config(store, tmp_path), "--json")
    found = json.loads(out)
    assert code == 0 and found["queue"] == {
        "depth": 0,
        "oldest_received_at_unix_nano": None,
        "oldest_age_seconds": None,
        "payload_bytes": 0,
    }
    assert set(found["exporters"]) == {"logflare", "otlp"} and found["counters"] == {}
    code, out, _ = run(capsys, "status", "--config", store_config(store, tmp_path))
    assert re.search(r"queue oldest: +empty", out)


def test_status_says_an_exporter_is_off_not_never(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No source and api_key: the exporter is off, which is no failure to export."""
    code, out, _ = run(capsys, "status", "--config", store_config(store, tmp_path))
    assert code == 0
    assert re.search(r"^exporter logflare: +off \(no source and api_key configured\)$", out, re.M)
    assert re.search(r"^exporter otlp: +off \(no endpoint configured\)$", out, re.M)
    assert "last success" not in out  # "never" would read like a failure
    code, out, _ = run(capsys, "status", "--config", store_config(store, tmp_path), "--json")
    logflare = json.loads(out)["exporters"]["logflare"]
    assert (logflare["state"], logflare["off_reason"]) == ("off", LOGFLARE_OFF)


def test_status_with_both_exporters_on_says_never(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = store_config(store, tmp_path, BOTH_ON)
    code, out, _ = run(capsys, "status", "--config", config)
    assert code == 0
    assert re.search(r"^exporter logflare: +on$", out, re.M)
    assert re.search(r"^exporter otlp: +on$", out, re.M)
    assert len(re.findall(r"^  last success: +never$", out, re.M)) == 2
    code, out, _ = run(capsys, "status", "--config", config, "--json")
    exporters = json.loads(out)["exporters"]
    assert {name: found["state"] for name, found in exporters.items()} == {
        "logflare": "on",
        "otlp": "on",
    }


def test_an_exporter_turned_off_keeps_what_it_did(store: Store) -> None:
    """Off now but on before: its outbox, last success and error are still worth seeing."""
    fill(store, T0)
    status = shown.read_status(store, T0 + 80 * NS, {"logflare": LOGFLARE_OFF})
    text = "\n".join(shown.status_lines(status))
    assert "exporter logflare: off (no source and api_key configured)" in text
    assert "  last success:    70 s ago" in text and "  last error:      79 s ago" in text


def test_status_of_an_unreachable_database_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, "postgresql+psycopg://postgres@127.0.0.1:1/test")
    code, out, err = run(capsys, "status", "--config", config)
    assert code == 1 and out == "" and "cannot use the database in storage.url" in err


def test_status_never_creates_a_missing_sqlite_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "q.db"
    code, _, err = run(capsys, "status", "--config", write_config(tmp_path, f"sqlite:///{missing}"))
    assert code == 1 and f"no database file at {missing}" in err
    assert not missing.parent.exists()
