"""The operator commands: `logsieve explain` and `dead-letter`, on both databases (`status`:
test_status.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gateway import severity
from gateway.cli import admin
from gateway.cli.main import main
from gateway.export.logflare import event_json
from gateway.export.outbox import ExportStage
from gateway.export.outcome import ExportOutcome, OutcomeKind
from gateway.model import Entry
from gateway.otlp import rows_from_request
from gateway.pipeline.batch import NS, BatchSettings, BatchStage, Encode, Outbound
from gateway.pipeline.sampling import SamplingPolicy
from gateway.store import Store, _admin
from gateway.text import human_duration
from testkit.logflare import RecordingExporter
from tests.builders import T0, Rec, request
from tests.conftest import PG_URL

SAMPLING = """
batch:
  dedupe: {keys: [body, severity, service.name]}
  sampling:
    default_keep: 0.5
    rules:
      - {match: {severity_at_least: ERROR}, keep: 1.0}
      - {match: {severity: INFO, service: checkout}, keep: 0.25}
      - {match: {body_matches: '^health'}, keep: 0}
"""
REFUSED = ExportOutcome(OutcomeKind.REFUSED, 400, detail="HTTP 400: nope\x1b[2J")
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # anything but a newline


def write_config(tmp_path: Path, url: str = "", extra: str = "") -> str:
    config = tmp_path / "gateway.yaml"
    storage = f"storage: {{url: '{url}'}}\n" if url else ""
    config.write_text(storage + extra)
    return str(config)


def store_config(store: Store, tmp_path: Path, extra: str = "") -> str:
    """A config file whose storage.url is the test store's database."""
    url = f"sqlite:///{store.path}" if store.dialect == "sqlite" else PG_URL
    return write_config(tmp_path, url, extra)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def enqueue(store: Store, records: list[Rec], received_at: int) -> int:
    """Queue records; returns their payload bytes (UTF-8 body plus encoded record)."""
    rows = rows_from_request(request(records), received_at, store.origin_ids).rows
    store.enqueue(rows)
    return sum(len(row[3].encode()) + len(row[4]) for row in rows)


def batch(store: Store, encode: Encode = event_json) -> BatchStage:
    return BatchStage(
        store, SamplingPolicy(), BatchSettings(), outbound=[Outbound("logflare", encode)]
    )


def dead_letter(store: Store, records: list[Rec], now: int, encode: Encode = event_json) -> None:
    """Through the pipeline: queue, batch, and a Logflare that refuses every event for good."""
    enqueue(store, records, now)
    batch(store, encode).run_once(now)
    exporter = RecordingExporter()
    exporter.script(*[REFUSED] * (2 * len(records)))  # the stage halves down to single events
    ExportStage(store, exporter).run_once(now)


def fill(store: Store, t: int) -> int:
    """A gateway's tables in a known state at time t; returns the queue's payload bytes."""
    dead_letter(store, [Rec("refused", 17)], t + 1 * NS)
    enqueue(store, [Rec("waiting", 9)] * 2, t + 5 * NS)
    batch(store).run_once(t + 5 * NS)  # one outbox event, created at t + 5 s
    store.record_export_result("logflare", t + 10 * NS, None)
    enqueue(store, [Rec("chatty", 5)], t + 15 * NS)
    store.drop_lowest_severity(1, 0, 17)  # the overload policy: counted as dropped_records
    return enqueue(store, [Rec("queued é", 9)] * 3, t + 20 * NS)


# -- explain ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "service", "body", "index", "keep"),
    [
        ("ERROR", "checkout", "boom", 0, 1.0),
        ("FATAL", "", "healthz", 0, 1.0),  # first match wins
        ("INFO", "checkout", "paid", 1, 0.25),
        ("info", "checkout", "paid", 1, 0.25),  # any case
        ("INFO", "search", "paid", None, 0.5),
        ("WARNING", "search", "health ok", 2, 0.0),  # a producer's word for WARN
        (None, "checkout", "healthz", None, 0.5),  # no severity meets no rule
    ],
)
def test_explain_names_the_first_matching_rule(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    severity: str | None,
    service: str,
    body: str,
    index: int | None,
    keep: float,
) -> None:
    argv = ["explain", "--config", write_config(tmp_path, extra=SAMPLING), "--json"]
    argv += ["--service", service, "--body", body] + (["--severity", severity] if severity else [])
    code, out, _ = run(capsys, *argv)
    found = json.loads(out)
    assert code == 0 and (found["rule_index"], found["keep"]) == (index, keep)
    assert found["sample_rate"] == (1 / keep if keep else None)
    assert found["dedupe_key"]["body"] == body and found["dedupe_key"]["service.name"] == service


def test_explain_in_text_shows_rule_rate_and_dedupe_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, extra=SAMPLING)
    argv = ["--severity", "INFO", "--service", "checkout", "--body", "paid\x1b[2J"]
    code, out, _ = run(capsys, "explain", "--config", config, *argv)
    assert code == 0 and not CONTROL.search(out)
    assert re.search(r"rule: +batch\.sampling\.rules\[1\]: severity=INFO service=checkout", out)
    assert re.search(r"keep: +0\.25 \(25% of entries\)", out)
    assert re.search(r"sample rate: +4 ", out)
    assert 'body="paid\\u001b[2J" severity="INFO" service.name="checkout"' in out


def test_explain_with_default_dedupe_keys_and_no_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    code, out, _ = run(capsys, "explain", "--config", config, "--severity", "DEBUG", "--body", "x")
    assert code == 0 and re.search(r"rule: +no rule: default_keep\n", out)
    assert re.search(r"keep: +1 \(100% of entries\)", out)
    assert 'dedupe key:  body="x" severity="DEBUG"\n' in out


def test_explain_names_every_exporter_a_kept_entry_goes_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["explain", "--severity", "ERROR", "--body", "x", "--config"]
    code, out, _ = run(capsys, *argv, write_config(tmp_path))
    assert code == 0 and re.search(r"sent to: +the live page only \(no exporter is on\)", out)
    both = (
        "exporters: {logflare: {source: 00000000-0000-4000-8000-000000000000, api_key: k},"
        " otlp: {endpoint: 'http://127.0.0.1:4317'}}\n"
    )
    config = write_config(tmp_path, extra=both)
    code, out, _ = run(capsys, *argv, config)
    assert re.search(r"sent to: +exporters\.logflare, exporters\.otlp and the live page", out)
    code, out, _ = run(capsys, *argv, config, "--json")
    assert json.loads(out)["exporters"] == ["logflare", "otlp"]


def test_explain_refuses_an_unknown_severity_or_a_bad_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, extra=SAMPLING)
    code, _, err = run(capsys, "explain", "--config", config, "--severity", "LOUD", "--body", "x")
    assert code == 2 and "unknown severity 'LOUD'" in err
    bad = write_config(tmp_path, extra="batch: {sampling: {rules: [{keep: 2}]}}\n")
    code, _, err = run(capsys, "explain", "--config", bad, "--body", "x")
    assert code == 2 and "batch.sampling.rules[0].keep" in err


def test_human_durations_in_short_words() -> None:
    ages = [0, 45, 119, 120, 7199, 7200, 3 * 86_400, -5]
    assert [human_duration(s, short=True) for s in ages] == [
        "0 s",
        "45 s",
        "119 s",
        "2 min",
        "119 min",
        "2 h",
        "3 d",
        "0 s",
    ]


# -- dead letters ----------------------------------------------------------------------------

THREE = [Rec("bad error", 17), Rec("bad info", 9), Rec("evil \x85\x1b[2J", 5)]


def test_dead_letters_list_retry_and_export(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dead_letter(store, THREE, T0)
    config = store_config(store, tmp_path)
    code, out, _ = run(capsys, "dead-letter", "list", "--config", config)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 4 and lines[-1] == "3 dead letters in all"
    assert "HTTP 400: nope\\x1b[2J" in lines[0] and '"event_message":"bad error"' in lines[0]
    assert "evil \\x85" in lines[2] and not CONTROL.search(out)
    code, out, _ = run(capsys, "dead-letter", "list", "--config", config, "--json", "--limit", "2")
    page = json.loads(out)
    ids = [letter["id"] for letter in page["dead_letters"]]
    assert (len(ids), page["total"], page["next_after"]) == (2, 3, ids[-1])
    assert page["dead_letters"][1]["event"]["event_message"] == "bad info"
    assert page["dead_letters"][1]["reason"] == REFUSED.detail

    code, out, _ = run(capsys, "dead-letter", "retry", "--config", config, "--all")
    assert code == 0 and out == "retried 3 dead letters into the outbox\n"
    assert store.dead_letter_count() == 0 and store.outbox_depth() == 3
    logflare = RecordingExporter()
    assert ExportStage(store, logflare).run_once(T0 + NS).sent == 3
    assert [e["event_message"] for e in logflare.events] == [r.body for r in THREE]


def test_retried_events_keep_their_severity_for_the_drop_policy(store: Store) -> None:
    dead_letter(store, THREE, T0)
    assert admin.retry(store, None, T0 + NS, size=2) == 3  # two transactions
    assert store.drop_outbox_lowest_severity("logflare", 10, 100) == {17: 1, 9: 1, 5: 1}


def body_only(entry: Entry, now: int) -> str:
    """An event text that says nothing of its severity: only the outbox row's column does."""
    return json.dumps({"event_message": entry.body})


def test_a_retried_error_is_still_spared_by_the_drop_policy(store: Store) -> None:
    dead_letter(store, THREE, T0, encode=body_only)
    assert store.dead_letter_count() == 3 and store.outbox_depth() == 0
    assert admin.retry(store, None, T0 + NS) == 3
    dropped = store.drop_outbox_lowest_severity("logflare", 10, severity.ERROR_NUMBER)
    assert dropped == {9: 1, 5: 1}  # from the severities the outbox rows had, not the texts
    assert [json.loads(e)["event_message"] for _, e in store.outbox_peek("logflare", 10)] == [
        "bad error"
    ]


def test_retry_and_drop_by_id(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dead_letter(store, THREE, T0)
    config = store_config(store, tmp_path)
    first, second, third = (letter.id for letter in store.dead_letter_page(0, 10))
    code, out, _ = run(capsys, "dead-letter", "retry", "--config", config, "--id", str(second))
    assert code == 0 and out == "retried 1 dead letter into the outbox\n"
    argv = ["--id", str(first), str(second), "--json"]
    code, out, _ = run(capsys, "dead-letter", "drop", "--config", config, *argv)
    assert code == 0 and json.loads(out) == {"dropped": 1, "not_found": 1}
    assert [letter.id for letter in store.dead_letter_page(0, 10)] == [third]
    assert [json.loads(e)["event_message"] for _, e in store.outbox_peek("logflare", 10)] == [
        "bad info"
    ]
    code, out, _ = run(capsys, "dead-letter", "drop", "--config", config, "--all")
    assert code == 0 and out == "dropped 1 dead letter\n" and store.dead_letter_count() == 0


@pytest.mark.parametrize("choice", [[], ["--all", "--id", "1"]])
def test_retry_and_drop_need_one_explicit_choice(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str], choice: list[str]
) -> None:
    dead_letter(store, THREE[:1], T0)
    config = store_config(store, tmp_path)
    for action in ("retry", "drop"):
        code, out, err = run(capsys, "dead-letter", action, "--config", config, *choice)
        assert code == 2 and out == "" and "choose with --id N [N ...] or --all" in err
    assert store.dead_letter_count() == 1


def test_a_failed_retry_loses_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    dead_letter(store, THREE, T0)
    ids = [letter.id for letter in store.dead_letter_page(0, 10)]

    def broken(*_: object) -> None:  # fails after the dead letters were deleted
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(_admin, "insert", broken)
    with pytest.raises(RuntimeError):
        store.retry_dead_letters(ids, T0)
    monkeypatch.undo()
    assert store.dead_letter_count() == 3 and store.outbox_depth() == 0


def test_all_means_the_dead_letters_present_when_it_starts(store: Store) -> None:
    dead_letter(store, THREE[:2], T0)
    chunks = admin.chosen_chunks(store, None, size=1)
    first = next(chunks)
    dead_letter(store, [Rec("refused again", 17)], T0)  # e.g. a retried event, refused again
    assert len(first + [i for chunk in chunks for i in chunk]) == 2
    assert store.dead_letter_count() == 3
