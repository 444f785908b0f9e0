"""gateway/receivers/ingest.py: the enqueue path both receivers share. A request's records are
admitted, converted and committed, and its outcome is a value: accepted (maybe with records
left out for their size), overloaded (the queue is full) or unavailable (the database failed).
Against a real store: the `store` fixture runs on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from google.rpc import code_pb2, error_details_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from gateway.config.settings import QueueConfig
from gateway.receivers.admission import UNKNOWN_DRAIN_RETRY_S, Admission
from gateway.receivers.ingest import (
    ACCEPTED,
    STORE_RETRY_S,
    BearerCheck,
    Ingest,
    IngestOutcome,
    ReceiverIngest,
    Verdict,
    rpc_status,
)
from gateway.store import Store
from gateway.telemetry.metrics import Metrics
from testkit.clock import FakeClock
from tests.builders import T0, Rec, request

S = 1_000_000_000
NOW = T0 + 5 * S  # the clock when requests arrive: distinct from the records' own time
FULL = "the queue is full; retry in 5.0 s"  # no drain seen yet: the default delay
UNAVAILABLE = "the queue's database is unavailable; retry"


def receiver(
    store: Store,
    *,
    admission: Admission | None = None,
    max_record_bytes: int = 1024 * 1024,
    metrics: Metrics | None = None,
    name: str = "grpc",
) -> ReceiverIngest:
    """The enqueue path as receiver `name` uses it."""
    ingest = Ingest(
        store,
        FakeClock(NOW),
        admission=admission,
        max_record_bytes=max_record_bytes,
        metrics=metrics,
    )
    return ingest.for_receiver(name)


def admission(store: Store, max_records: int, when_full: str = "refuse") -> Admission:
    config = QueueConfig(max_records=max_records, when_full=when_full)  # type: ignore[arg-type]
    return Admission(store, config, FakeClock(NOW), protect_head=0, refresh_s=0)


def sized(*records: Rec) -> tuple[ExportLogsServiceRequest, int]:
    """A request and its decoded size, as a receiver hands them over."""
    built = request(records)
    return built, built.ByteSize()


def queued(store: Store) -> list[tuple[str, int, int]]:
    """(body, severity number, seen_at) of every queued row, oldest first."""
    return [(body, number, seen_at) for _, seen_at, number, body, _ in claimed(store)]


def claimed(store: Store) -> Sequence[tuple[int, int, int, str, int]]:
    claim = store.claim_batch(1, 60 * S, 1000)
    store.release(claim)
    return claim.rows


def counted(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(f"logsieve_receiver_{name}_total", labels)


# -- accepted ----------------------------------------------------------------------------------


def test_an_accepted_request_is_committed_record_by_record(store: Store) -> None:
    outcome = receiver(store).enqueue(
        *sized(Rec("a", 9), Rec("b", 17, time=T0 + 1), Rec("c", 0, "warning", time=0))
    )
    assert outcome == ACCEPTED
    assert (outcome.rejected, outcome.message, outcome.retry_after_s) == (0, "", 0.0)
    assert queued(store) == [
        ("a", 9, T0),
        ("b", 17, T0 + 1),
        ("c", 13, NOW),  # no number: its text's band; no time: when it was received
    ]


def test_an_accepted_requests_response_has_no_partial_success(store: Store) -> None:
    response = receiver(store).enqueue(*sized(Rec("a"))).response()
    assert not response.HasField("partial_success")


def test_an_empty_request_is_accepted_and_commits_nothing(store: Store) -> None:
    assert receiver(store).enqueue(ExportLogsServiceRequest(), 0) == ACCEPTED
    assert store.queue_depth() == 0


# -- records over max_record_bytes -------------------------------------------------------------


def test_records_over_the_limit_are_left_out_and_counted_the_others_committed(
    store: Store,
) -> None:
    path = receiver(store, max_record_bytes=200)
    outcome = path.enqueue(*sized(Rec("small"), Rec("x" * 500), Rec("also small"), Rec("y" * 201)))
    assert outcome.verdict is Verdict.ACCEPTED
    assert outcome.rejected == 2
    assert outcome.message == "2 log records larger than 200 bytes were not accepted"
    partial = outcome.response().partial_success
    assert (partial.rejected_log_records, partial.error_message) == (2, outcome.message)
    assert [body for body, _, _ in queued(store)] == ["small", "also small"]


def test_a_request_whose_every_record_is_too_large_commits_nothing(store: Store) -> None:
    outcome = receiver(store, max_record_bytes=100).enqueue(*sized(Rec("x" * 200), Rec("y" * 300)))
    assert (outcome.verdict, outcome.rejected) == (Verdict.ACCEPTED, 2)
    assert store.queue_depth() == 0


# -- a full queue ------------------------------------------------------------------------------


def test_a_full_queue_refuses_the_request_with_a_delay(store: Store) -> None:
    path = receiver(store, admission=admission(store, max_records=5))
    assert path.enqueue(*sized(*[Rec("first")] * 5)) == ACCEPTED  # exactly full
    refused = path.enqueue(*sized(Rec("one too many")))
    assert refused == IngestOutcome(Verdict.OVERLOADED, 0, FULL, UNKNOWN_DRAIN_RETRY_S)
    assert [body for body, _, _ in queued(store)] == ["first"] * 5  # nothing of it written


def test_past_the_cap_the_drop_policy_makes_room_from_the_oldest_below_error(
    store: Store,
) -> None:
    path = receiver(store, admission=admission(store, 10, "drop_lowest_severity"))
    path.enqueue(*sized(*[Rec("old info", 9)] * 8, *[Rec("old error", 17)] * 2))
    assert path.enqueue(*sized(*[Rec("new error", 17)] * 3)) == ACCEPTED
    assert store.counter("dropped_records") == 3
    assert [body for body, _, _ in queued(store)] == (
        ["old info"] * 5 + ["old error"] * 2 + ["new error"] * 3
    )


def test_the_drop_policy_refuses_when_only_errors_are_left(store: Store) -> None:
    path = receiver(store, admission=admission(store, 4, "drop_lowest_severity"))
    path.enqueue(*sized(*[Rec("error", 17)] * 4))
    refused = path.enqueue(*sized(Rec("info", 9)))
    assert (refused.verdict, refused.message) == (Verdict.OVERLOADED, FULL)
    assert store.counter("dropped_records") == 0 and store.queue_depth() == 4


# -- several requests in one commit ------------------------------------------------------------


def test_several_requests_commit_together_each_with_its_own_outcome(store: Store) -> None:
    path = receiver(store, admission=admission(store, max_records=5), max_record_bytes=200)
    outcomes = path.enqueue_many(
        [
            sized(Rec("a1"), Rec("a2")),
            sized(*[Rec("b")] * 6),  # more than the whole queue holds: refused
            sized(Rec("c1"), Rec("x" * 300)),  # one record too large
        ]
    )
    assert outcomes == [
        ACCEPTED,
        IngestOutcome(Verdict.OVERLOADED, 0, FULL, UNKNOWN_DRAIN_RETRY_S),
        IngestOutcome(Verdict.ACCEPTED, 1, "1 log records larger than 200 bytes were not accepted"),
    ]
    assert [body for body, _, _ in queued(store)] == ["a1", "a2", "c1"]  # in request order


def test_no_requests_no_outcomes(store: Store) -> None:
    assert receiver(store).enqueue_many([]) == []
    assert store.queue_depth() == 0


# -- the database fails ------------------------------------------------------------------------


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'queue.db'}", pool_size=2)
    store.create_schema()
    yield store
    store.dispose()


def delete_database(store: Store) -> None:
    for suffix in ("", "-wal", "-shm"):
        os.unlink(store.path + suffix)


def test_a_failed_commit_fails_every_request_it_held(sqlite_store: Store) -> None:
    path = receiver(sqlite_store)
    path.enqueue(*sized(Rec("before")))  # the origin is now known: no read before the commit
    delete_database(sqlite_store)
    outcomes = path.enqueue_many([sized(Rec("a")), sized(Rec("b"), Rec("c"))])
    unavailable = IngestOutcome(Verdict.UNAVAILABLE, 0, UNAVAILABLE, STORE_RETRY_S)
    assert outcomes == [unavailable, unavailable]
    assert outcomes[0].retry_after_s == 1.0


def test_a_request_refused_before_a_failed_commit_keeps_its_refusal(
    sqlite_store: Store,
) -> None:
    config = QueueConfig(max_records=5)
    gauge_reads_once = Admission(sqlite_store, config, FakeClock(NOW), protect_head=0)
    path = receiver(sqlite_store, admission=gauge_reads_once)
    path.enqueue(*sized(Rec("before")))  # the queue's depth and the origin, read before
    delete_database(sqlite_store)
    outcomes = path.enqueue_many([sized(Rec("a")), sized(*[Rec("b")] * 5), sized(Rec("c"))])
    assert [outcome.verdict for outcome in outcomes] == [
        Verdict.UNAVAILABLE,
        Verdict.OVERLOADED,
        Verdict.UNAVAILABLE,
    ]


def test_a_database_failure_during_admission_is_unavailable(sqlite_store: Store) -> None:
    path = receiver(sqlite_store, admission=admission(sqlite_store, max_records=100))
    delete_database(sqlite_store)  # the admission reads the queue's depth from it
    outcome = path.enqueue(*sized(Rec("a")))
    assert (outcome.verdict, outcome.message) == (Verdict.UNAVAILABLE, UNAVAILABLE)


# -- metrics -----------------------------------------------------------------------------------


def test_accepted_and_too_large_records_are_counted_under_the_receivers_name(
    store: Store,
) -> None:
    metrics = Metrics()
    path = receiver(store, max_record_bytes=200, metrics=metrics, name="http")
    path.enqueue(*sized(Rec("a"), Rec("b"), Rec("c")))
    path.enqueue(*sized(Rec("d"), Rec("x" * 300)))
    assert counted(metrics, "records_received", receiver="http") == 5
    assert counted(metrics, "records_accepted", receiver="http") == 4
    assert counted(metrics, "records_refused", receiver="http", reason="record_too_large") == 1
    assert counted(metrics, "records_received", receiver="grpc") == 0  # present from the start


def test_a_full_queue_counts_every_record_of_the_request_as_refused(store: Store) -> None:
    metrics = Metrics()
    path = receiver(store, admission=admission(store, max_records=2), metrics=metrics)
    path.enqueue_many([sized(Rec("a"), Rec("b")), sized(Rec("c"), Rec("d"), Rec("e"))])
    assert counted(metrics, "records_received", receiver="grpc") == 5
    assert counted(metrics, "records_accepted", receiver="grpc") == 2
    assert counted(metrics, "records_refused", receiver="grpc", reason="queue_full") == 3


def test_a_failed_commit_counts_its_records_as_database_unavailable(sqlite_store: Store) -> None:
    metrics = Metrics()
    path = receiver(sqlite_store, metrics=metrics)
    path.enqueue(*sized(Rec("before")))
    delete_database(sqlite_store)
    path.enqueue_many([sized(Rec("a")), sized(Rec("b"), Rec("c"))])
    assert counted(metrics, "records_received", receiver="grpc") == 4
    assert counted(metrics, "records_accepted", receiver="grpc") == 1  # "before"
    reason = "database_unavailable"
    assert counted(metrics, "records_refused", receiver="grpc", reason=reason) == 3


def test_requests_refused_before_reading_and_abandoned_ones_are_counted(store: Store) -> None:
    metrics = Metrics()
    path = receiver(store, metrics=metrics, name="http")
    path.refused_request("unauthenticated")
    path.refused_request("unauthenticated")
    path.refused_request("too_large")
    path.abandoned_request()
    assert counted(metrics, "requests_refused", receiver="http", reason="unauthenticated") == 2
    assert counted(metrics, "requests_refused", receiver="http", reason="too_large") == 1
    assert counted(metrics, "requests_abandoned", receiver="http") == 1


def test_receivers_sharing_one_ingest_share_its_queue_and_count_under_their_own_names(
    store: Store,
) -> None:
    metrics = Metrics()
    ingest = Ingest(store, FakeClock(NOW), admission=admission(store, 3), metrics=metrics)
    grpc, http = ingest.for_receiver("grpc"), ingest.for_receiver("http")
    assert grpc.enqueue(*sized(Rec("by grpc"), Rec("by grpc"))) == ACCEPTED
    assert http.enqueue(*sized(Rec("by http"))) == ACCEPTED  # the queue is now full
    assert grpc.enqueue(*sized(Rec("late"))).verdict is Verdict.OVERLOADED
    assert http.enqueue(*sized(Rec("late"))).verdict is Verdict.OVERLOADED
    assert [body for body, _, _ in queued(store)] == ["by grpc", "by grpc", "by http"]
    assert counted(metrics, "records_accepted", receiver="grpc") == 2
    assert counted(metrics, "records_accepted", receiver="http") == 1
    for name in ("grpc", "http"):
        assert counted(metrics, "records_refused", receiver=name, reason="queue_full") == 1


def test_without_metrics_the_counting_calls_do_nothing(store: Store) -> None:
    path = receiver(store)
    path.refused_request("invalid")
    path.abandoned_request()
    assert path.enqueue(*sized(Rec("a"))) == ACCEPTED
    assert store.queue_depth() == 1


# -- the answers both receivers give -----------------------------------------------------------


def test_rpc_status_carries_a_retry_delay_only_when_there_is_one() -> None:
    plain = rpc_status(code_pb2.INVALID_ARGUMENT, "bad request")
    assert (plain.code, plain.message, len(plain.details)) == (3, "bad request", 0)
    later = rpc_status(code_pb2.UNAVAILABLE, FULL, 2.5)
    assert (later.code, later.message) == (14, FULL)
    (detail,) = later.details
    info = error_details_pb2.RetryInfo()
    assert detail.Unpack(info)
    assert (info.retry_delay.seconds, info.retry_delay.nanos) == (2, 500_000_000)


def test_the_bearer_check_takes_only_the_configured_token() -> None:
    check = BearerCheck("s3cret")
    assert check.enabled
    assert check.allows("Bearer s3cret")
    assert check.allows("  Bearer s3cret ")  # blanks around the header are not the token
    assert not check.allows("Bearer wrong")
    assert not check.allows("s3cret")
    assert not check.allows("")
    assert not check.allows(None)
    assert "s3cret" not in repr(check) and "***" in repr(check)


def test_without_a_token_the_bearer_check_is_open() -> None:
    for token in (None, ""):
        check = BearerCheck(token)
        assert not check.enabled
        assert check.allows(None) and check.allows("Bearer anything")
        assert repr(check) == "BearerCheck(token=None)"
