"""The export stage with a real store: what it keeps, what it stores and logs when Logflare
answers badly (a redirect, an answer that echoes a secret)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from gateway import redact
from gateway.config.settings import LogflareConfig
from gateway.export.logflare import GZIP_ABOVE_BYTES, LogflareExporter, event_json
from gateway.export.outbox import Backoff, ExportStage
from gateway.export.outcome import ExportOutcome, OutcomeKind
from gateway.model import Entry
from gateway.otlp import rows_from_request
from gateway.pipeline.batch import NS, BatchSettings, BatchStage, Outbound
from gateway.pipeline.sampling import SamplingPolicy
from gateway.store import Store
from testkit.clock import FakeClock
from testkit.logflare import FakeLogflare, Fault, RecordingExporter
from tests.builders import T0, Rec, request

KEY = "lf_live_0123456789abcdefABCDEF"
TOKEN = "receiver-token-0123456789"  # a configured secret the exporter never sees


@pytest.fixture
def installed() -> Iterator[None]:
    """This process's redactor knows TOKEN, as `logsieve run` installs its config's secrets."""
    redact.install([TOKEN])
    yield
    redact.install([])


def outbox_one(store: Store, body: str = "e") -> None:
    """One event in the outbox, the way it gets there: a record through the batch stage."""
    store.enqueue(rows_from_request(request([Rec(body, 17)]), T0, store.origin_ids).rows)
    BatchStage(
        store, SamplingPolicy(), BatchSettings(), outbound=[Outbound("logflare", event_json)]
    ).run_once(T0)
    assert store.outbox_depth() == 1


def exporter_for(fake: FakeLogflare) -> LogflareExporter:
    settings = {"endpoint": fake.url, "source": fake.source_id, "api_key": fake.api_key}
    return LogflareExporter(LogflareConfig.model_validate(settings))


def test_a_redirect_keeps_the_events_and_retries_slowly(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(T0)
    outbox_one(store)
    with FakeLogflare(api_key=KEY) as fake:
        fake.fail_next(Fault.redirect("https://logflare.app/login"))
        export = ExportStage(store, exporter_for(fake), backoff=Backoff(misconfigured=60.0))
        with caplog.at_level(logging.ERROR, logger="logsieve.export"):
            last = export.run_once(clock.now_ns()).last
        assert last is not None and last.kind is OutcomeKind.REDIRECTED
        assert store.dead_letters() == [] and store.outbox_depth() == 1
        (line,) = [r.getMessage() for r in caplog.records]
        assert "exporters.logflare.endpoint" in line and "https://logflare.app/login" in line
        clock.advance(30)
        assert export.run_once(clock.now_ns()).waiting  # slowly: not before a minute
        clock.advance(31)
        assert export.run_once(clock.now_ns()).sent == 1
        assert len(fake.events) == 1


def test_what_the_stage_stores_and_logs_is_masked(
    store: Store, installed: None, caplog: pytest.LogCaptureFixture
) -> None:
    outbox_one(store, "refused")
    exporter = RecordingExporter()
    exporter.script(
        ExportOutcome(OutcomeKind.REFUSED, 400, detail=f"HTTP 400: echo {TOKEN} api_key=abc123")
    )
    with caplog.at_level(logging.INFO):
        report = ExportStage(store, exporter).run_once(T0)
    assert report.dead_lettered == 1
    ((_, reason),) = store.dead_letters()
    assert reason == "HTTP 400: echo *** api_key=***"
    last_error = store.viewer_status(T0).exports["logflare"].last_error_text
    assert last_error == "HTTP 400: echo *** api_key=***"
    assert report.last is not None and TOKEN not in report.last.detail
    assert all(
        TOKEN not in r.getMessage() and "abc123" not in r.getMessage() for r in caplog.records
    )


def test_a_retried_failure_is_masked_before_it_is_stored(store: Store, installed: None) -> None:
    outbox_one(store)
    exporter = RecordingExporter()
    exporter.script(ExportOutcome(OutcomeKind.RETRY, 503, detail=f"HTTP 503: Bearer {TOKEN}"))
    stage = ExportStage(store, exporter)
    stage.run_once(T0)
    assert store.viewer_status(T0).exports["logflare"].last_error_text == "HTTP 503: Bearer ***"
    assert stage.last_error == "HTTP 503: Bearer ***"
    assert store.outbox_depth() == 1
    assert stage.run_once(T0 + 2 * NS).sent == 1


def spaced_event(entry: Entry, now: int) -> str:
    """A Logflare event in valid JSON that no serialiser of ours would write: spaces around
    every token, a newline, escapes where none are needed, a float written long."""
    timestamp = (entry.first_seen or now) // 1000
    return (
        f'{{ "event_message" : "{entry.body}\\u0021" ,\n  "timestamp" :{timestamp},'
        f' "metadata":{{"count": {entry.count}, "sample_rate" : 1.50 , "level":"error"}} }}'
    )


@pytest.mark.parametrize("records", [1, 40])  # 40 events are above the gzip threshold
def test_stored_event_texts_reach_logflare_byte_for_byte(store: Store, records: int) -> None:
    rows = [Rec(f"spaced {i} " + "x" * 100, 17) for i in range(records)]
    store.enqueue(rows_from_request(request(rows), T0, store.origin_ids).rows)
    BatchStage(
        store, SamplingPolicy(), BatchSettings(), outbound=[Outbound("logflare", spaced_event)]
    ).run_once(T0)
    stored = [event for _, event in store.outbox_peek("logflare", 100)]
    with FakeLogflare(keep_bodies=True) as fake:
        assert ExportStage(store, exporter_for(fake)).run_once(T0).sent == records
        (request_seen,) = fake.requests
        assert fake.violations == []
        events = fake.events
    assert request_seen.body == b'{"batch":[' + ",".join(stored).encode() + b"]}"
    assert request_seen.gzip == (len(request_seen.body) > GZIP_ABOVE_BYTES)
    assert request_seen.gzip == (records > 1)
    assert events[0]["event_message"] == "spaced 0 " + "x" * 100 + "!"
    assert events[0]["metadata"]["sample_rate"] == 1.5
