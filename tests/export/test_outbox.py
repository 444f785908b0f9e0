"""The export stage with a real store: what it keeps, what it stores and logs when Logflare
answers badly (a redirect, an answer that echoes a secret)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from gateway import redact
from gateway.config.settings import LogflareConfig
from gateway.export.logflare import LogflareExporter
from gateway.export.outbox import Backoff, ExportStage
from gateway.export.outcome import ExportOutcome, OutcomeKind
from gateway.otlp import rows_from_request
from gateway.pipeline.batch import NS, BatchSettings, BatchStage
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
    BatchStage(store, SamplingPolicy(), BatchSettings()).run_once(T0)
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
    last_error = store.viewer_status(T0).export.last_error_text
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
    assert store.viewer_status(T0).export.last_error_text == "HTTP 503: Bearer ***"
    assert stage.last_error == "HTTP 503: Bearer ***"
    assert store.outbox_depth() == 1
    assert stage.run_once(T0 + 2 * NS).sent == 1
