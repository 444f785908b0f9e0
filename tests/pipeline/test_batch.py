"""The batch stage's run_once(now) and the export stage, with an injected clock."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from gateway.config.settings import parse_config
from gateway.export.logflare import PARTIALLY_INGESTED, event_json
from gateway.export.outbox import ExportStage
from gateway.export.outcome import ExportOutcome, OutcomeKind
from gateway.model import Entry
from gateway.otlp import rows_from_request
from gateway.pipeline.batch import NS, BatchSettings, BatchStage, Encode, Outbound
from gateway.pipeline.sampling import SamplingPolicy
from gateway.store import Store
from testkit.clock import FakeClock
from testkit.logflare import RecordingExporter
from tests.builders import T0, Rec, request

RULES = [
    {"match": {"severity_at_least": "ERROR"}, "keep": 1.0},
    {"match": {"severity": "INFO"}, "keep": 0.0},
]


def stage(
    store: Store,
    encode: Encode | None = event_json,
    max_outbox_events: int = 1_000_000,
    **settings: object,
) -> BatchStage:
    config = parse_config({"batch": {"sampling": {"rules": RULES}}}, env={})
    policy = SamplingPolicy.from_config(config.batch.sampling)
    outbound = [Outbound("logflare", encode, max_outbox_events)] if encode else []
    return BatchStage(store, policy, BatchSettings(**settings), outbound=outbound)  # type: ignore[arg-type]


def enqueue(store: Store, records: list[Rec], received_at: int = T0) -> None:
    store.enqueue(rows_from_request(request(records), received_at, store.origin_ids).rows)


def test_run_once_dedupes_samples_and_stores_results(store: Store) -> None:
    clock = FakeClock(T0)
    enqueue(store, [Rec("Error: Failed to connect", 17, time=T0 + i) for i in range(100)])
    enqueue(store, [Rec("chatty", 9)] * 50 + [Rec("warn", 13)] * 3)
    report = stage(store).run_once(clock.now_ns())
    assert (report.claimed, report.entries, report.kept, report.outboxed) == (153, 3, 2, 2)
    assert report.sampled_out_records == {"INFO": 50}
    assert store.queue_depth() == 0
    recent = store.recent_newest(clock.now_ns(), 10)
    assert [(r.entry.body, r.entry.count) for r in recent] == [
        ("Error: Failed to connect", 100),
        ("warn", 3),
    ]
    assert all(r.expires_at == T0 + 3600 * NS for r in recent)
    events = [json.loads(e) for _, e in store.outbox_peek("logflare", 10)]
    assert events[0]["metadata"]["count"] == 100 and events[0]["timestamp"] == T0 // 1000


def test_a_claim_never_takes_more_than_max_batch_records(store: Store) -> None:
    enqueue(store, [Rec(f"m{i}", 17) for i in range(25)])
    batch = stage(store, max_batch_records=10)
    assert [batch.run_once(T0).claimed for _ in range(4)] == [10, 10, 5, 0]
    enqueue(store, [Rec(f"n{i}", 17) for i in range(25)])
    assert batch.run_batches(T0).claimed == 25


def test_entries_expire_after_ttl(store: Store) -> None:
    clock = FakeClock(T0)
    enqueue(store, [Rec("e", 17)])
    stage(store, ttl_ns=60 * NS).run_once(clock.now_ns())
    assert store.recent_count(clock.now_ns()) == 1
    clock.advance(61)
    assert store.recent_count(clock.now_ns()) == 0 and store.recent_newest(clock.now_ns(), 5) == []


def test_no_outbox_when_export_is_off(store: Store) -> None:
    enqueue(store, [Rec("e", 17)])
    assert stage(store, encode=None).run_once(T0).outboxed == 0
    assert store.outbox_depth() == 0 and store.recent_count(T0) == 1


class RecordingEncoder:
    """An exporter's encoder that writes its own made-up format and remembers its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def __call__(self, entry: Entry, now: int) -> str:
        self.calls.append((entry.body, now))
        return f"<{entry.body}|{entry.count}|{entry.severity_number}>  not JSON"


def test_the_outbox_holds_exactly_what_the_encoder_wrote(store: Store) -> None:
    enqueue(store, [Rec("boom", 17)] * 3 + [Rec("odd", 13)])
    encoder = RecordingEncoder()
    assert stage(store, encode=encoder).run_once(T0 + NS).outboxed == 2
    assert sorted(encoder.calls) == [("boom", T0 + NS), ("odd", T0 + NS)]
    events = sorted(event for _, event in store.outbox_peek("logflare", 10))
    assert events == ["<boom|3|17>  not JSON", "<odd|1|13>  not JSON"]
    # The severity goes beside the text: the drop policy never reads an event.
    assert store.drop_outbox_lowest_severity("logflare", 10, 100) == {17: 1, 13: 1}


def fail_once(batch: BatchStage, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """One run_once whose finish_batch raises."""

    def explode(*_: object, **__: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store, "finish_batch", explode)
    with pytest.raises(RuntimeError):
        batch.run_once(T0)
    monkeypatch.undo()


def test_a_failing_batch_releases_its_claim(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    enqueue(store, [Rec("e", 17)] * 5)
    batch = stage(store)
    fail_once(batch, store, monkeypatch)
    assert batch.run_once(T0).claimed == 5  # released at once, not after the lease


def test_export_stage_sends_in_batches_and_acks(store: Store) -> None:
    enqueue(store, [Rec(f"e{i}", 17) for i in range(1200)])
    stage(store).run_once(T0)
    exporter = RecordingExporter()
    report = ExportStage(store, exporter).run_once(T0)
    assert (report.sent, report.requests) == (1200, 3)
    assert [len(call) for call in exporter.calls] == [500, 500, 200]
    assert store.outbox_depth() == 0


def test_export_stage_backs_off_keeps_data_and_recovers(store: Store) -> None:
    clock = FakeClock(T0)
    enqueue(store, [Rec("e", 17)])
    stage(store).run_once(clock.now_ns())
    exporter = RecordingExporter()
    exporter.script(ExportOutcome(OutcomeKind.RETRY, 503, retry_after=3.0, detail="HTTP 503"))
    export = ExportStage(store, exporter)
    assert export.run_once(clock.now_ns()).sent == 0
    assert store.outbox_depth() == 1
    clock.advance(2)
    assert export.run_once(clock.now_ns()).waiting  # Retry-After: 3 is honoured
    failed_at = clock.now_ns()
    clock.advance(2)
    assert export.run_once(clock.now_ns()).sent == 1
    assert store.outbox_depth() == 0 and len(exporter.events) == 1
    # What the live page's header shows, from the database (the viewer may be elsewhere).
    health = store.viewer_status(clock.now_ns()).exports["logflare"]
    assert (health.last_success, health.last_error) == (clock.now_ns(), failed_at - 2 * NS)
    assert health.last_error_text == "HTTP 503"


def test_refused_events_go_to_dead_letter_with_the_reason(store: Store) -> None:
    enqueue(store, [Rec("bad", 17)])
    stage(store).run_once(T0)
    exporter = RecordingExporter()
    exporter.script(ExportOutcome(OutcomeKind.REFUSED, 400, detail="HTTP 400: nope"))
    report = ExportStage(store, exporter).run_once(T0)
    assert report.dead_lettered == 1 and store.outbox_depth() == 0
    ((event, reason),) = store.dead_letters()
    assert json.loads(event)["event_message"] == "bad" and reason == "HTTP 400: nope"


def test_unauthorized_keeps_data_and_retries_slowly(store: Store) -> None:
    clock = FakeClock(T0)
    enqueue(store, [Rec("e", 17)])
    stage(store).run_once(clock.now_ns())
    exporter = RecordingExporter()
    exporter.script(ExportOutcome(OutcomeKind.UNAUTHORIZED, 401, detail="HTTP 401"))
    export = ExportStage(store, exporter)
    export.run_once(clock.now_ns())
    clock.advance(30)
    assert export.run_once(clock.now_ns()).waiting and store.outbox_depth() == 1
    clock.advance(31)
    assert export.run_once(clock.now_ns()).sent == 1


class RefusesBad:
    """Logflare that refuses, with `status`, any request holding an event whose body is 'bad'."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.delivered: list[str] = []
        self.requests = 0

    encode = staticmethod(event_json)

    def export(self, events: Sequence[str]) -> ExportOutcome:
        self.requests += 1
        messages = [json.loads(event)["event_message"] for event in events]
        if "bad" in messages:
            partly = self.status == PARTIALLY_INGESTED  # as Logflare's client reads a 406
            detail = f"HTTP {self.status}"
            return ExportOutcome(
                OutcomeKind.REFUSED, self.status, detail=detail, stored_others=partly
            )
        self.delivered.extend(messages)
        return ExportOutcome(OutcomeKind.OK, 200)


@pytest.mark.parametrize("status", [400, 413])
def test_a_refused_request_is_split_until_only_the_bad_event_is_left(
    store: Store, status: int
) -> None:
    enqueue(store, [Rec(f"good {i}", 17) for i in range(7)] + [Rec("bad", 17)])
    stage(store).run_once(T0)
    logflare = RefusesBad(status)
    report = ExportStage(store, logflare).run_once(T0)
    assert sorted(logflare.delivered) == [f"good {i}" for i in range(7)]
    assert report.sent == 7 and report.dead_lettered == 1
    ((event, reason),) = store.dead_letters()
    assert json.loads(event)["event_message"] == "bad" and reason == f"HTTP {status}"
    assert logflare.requests <= 1 + 2 * 3  # log2(8) levels of halving, two requests each
    assert store.outbox_depth() == 0


def test_a_406_is_not_resent_because_logflare_kept_the_valid_events(store: Store) -> None:
    enqueue(store, [Rec("good", 17), Rec("bad", 17)])
    stage(store).run_once(T0)
    logflare = RefusesBad(406)
    report = ExportStage(store, logflare).run_once(T0)
    assert logflare.requests == 1 and report.dead_lettered == 2
    assert all("ingested the valid events" in reason for _, reason in store.dead_letters())


def test_a_full_outbox_drops_its_oldest_events_below_error(store: Store) -> None:
    batch = stage(store, max_batch_records=4, max_outbox_events=5)
    enqueue(store, [Rec("old warn", 13), Rec("old error", 17)] * 2)
    batch.run_once(T0)  # two events: the duplicates were merged
    enqueue(store, [Rec(f"new {i}", 17) for i in range(4)])
    batch.run_once(T0)  # 2 waiting + up to 4 to come > 5: the oldest below ERROR goes
    events = [json.loads(event)["event_message"] for _, event in store.outbox_peek("logflare", 20)]
    assert events == ["old error", "new 0", "new 1", "new 2", "new 3"]
    assert store.counter("dropped_events/logflare") == 1


def test_an_outbox_full_of_errors_pauses_processing(store: Store) -> None:
    batch = stage(store, max_batch_records=4, max_outbox_events=4)
    enqueue(store, [Rec(f"error {i}", 17) for i in range(8)])
    assert batch.run_batches(T0).claimed == 4
    report = batch.run_once(T0)
    assert report.paused and report.claimed == 0
    assert store.queue_depth() == 4  # kept, waiting for Logflare to take some
    ExportStage(store, RecordingExporter()).run_once(T0)
    assert batch.run_once(T0).claimed == 4
