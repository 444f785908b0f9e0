"""A full queue: refused with RetryInfo, or room made by dropping the oldest low-severity rows."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub

from gateway.config.receivers import GrpcReceiverConfig
from gateway.config.settings import QueueConfig
from gateway.receivers.admission import Admission
from gateway.receivers.grpc import OtlpGrpcReceiver
from gateway.receivers.ingest import Ingest
from gateway.store import Store
from testkit.clock import FakeClock
from tests.builders import T0, Rec, request


def serve(store: Store, when_full: str, protect_head: int = 0) -> OtlpGrpcReceiver:
    config = QueueConfig(max_records=100, when_full=when_full)  # type: ignore[arg-type]
    clock = FakeClock(T0)
    admission = Admission(store, config, clock, protect_head=protect_head, refresh_s=0)
    ingest = Ingest(store, clock, admission=admission)
    receiver = OtlpGrpcReceiver(ingest, GrpcReceiverConfig(endpoint="127.0.0.1:0"))
    receiver.start()
    return receiver


@pytest.fixture
def stub(request: pytest.FixtureRequest, store: Store) -> Iterator[LogsServiceStub]:
    receiver = serve(store, request.param)
    with grpc.insecure_channel(receiver.address) as channel:
        yield LogsServiceStub(channel)
    receiver.shutdown(grace=1)


def retry_delay(error: grpc.RpcError) -> float:
    trailers = dict(error.trailing_metadata() or ())  # type: ignore[attr-defined]
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    info = error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(info)
    return info.retry_delay.seconds + info.retry_delay.nanos / 1e9


@pytest.mark.parametrize("stub", ["refuse"], indirect=True)
def test_past_the_cap_requests_are_refused_with_retry_info(
    stub: LogsServiceStub, store: Store
) -> None:
    stub.Export(request([Rec("a", 9)] * 60), timeout=10)
    stub.Export(request([Rec("b", 9)] * 40), timeout=10)  # exactly full
    with pytest.raises(grpc.RpcError) as refused:
        stub.Export(request([Rec("c", 9)]), timeout=10)
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
    assert 1.0 <= retry_delay(refused.value) <= 30.0
    assert store.queue_depth() == 100  # nothing of the refused request was written


@pytest.mark.parametrize("stub", ["drop_lowest_severity"], indirect=True)
def test_drop_policy_drops_oldest_lowest_severity_first_and_counts(
    stub: LogsServiceStub, store: Store
) -> None:
    stub.Export(request([Rec("warn", 13)] * 30), timeout=10)
    stub.Export(request([Rec("debug", 5)] * 30), timeout=10)
    stub.Export(request([Rec("error", 17)] * 40), timeout=10)
    stub.Export(request([Rec("new info", 9)] * 20), timeout=10)  # 20 over the cap
    assert store.counter("dropped_records") == 20
    claim = store.claim_batch(1, 1, 1000)
    kept = {row[3]: sum(1 for r in claim.rows if r[3] == row[3]) for row in claim.rows}
    assert kept == {"warn": 30, "debug": 10, "error": 40, "new info": 20}


@pytest.mark.parametrize("stub", ["drop_lowest_severity"], indirect=True)
def test_errors_are_never_dropped_the_request_is_refused_instead(
    stub: LogsServiceStub, store: Store
) -> None:
    stub.Export(request([Rec("error", 17)] * 100), timeout=10)
    with pytest.raises(grpc.RpcError) as refused:
        stub.Export(request([Rec("info", 9)]), timeout=10)
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
    assert store.queue_depth() == 100 and store.counter("dropped_records") == 0


def test_the_head_a_batch_may_hold_is_never_dropped(store: Store) -> None:
    receiver = serve(store, "drop_lowest_severity", protect_head=100)
    try:
        with grpc.insecure_channel(receiver.address) as channel:
            stub = LogsServiceStub(channel)
            stub.Export(request([Rec("info", 9)] * 100), timeout=10)
            with pytest.raises(grpc.RpcError):
                stub.Export(request([Rec("more", 9)] * 10), timeout=10)
    finally:
        receiver.shutdown(grace=1)
    assert store.counter("dropped_records") == 0


def test_retry_delay_follows_how_fast_the_queue_drains(store: Store) -> None:
    from gateway.otlp import rows_from_request

    clock = FakeClock(T0)
    config = QueueConfig(max_records=1000)
    admission = Admission(store, config, clock, protect_head=0, refresh_s=0)
    store.enqueue(rows_from_request(request([Rec("x", 9)] * 1000), T0, store.origin_ids).rows)
    assert admission.admit(500) == admission.admit(500)  # no drain seen yet: a default delay
    assert admission.admit(500).retry_after_s == 5.0
    store.finish_batch(store.claim_batch(1, 10**12, 100), [], [], T0)
    clock.advance(10)  # 100 rows drained in 10 s: 10 rows/s
    refused = admission.admit(400)
    assert not refused.accept and refused.retry_after_s == 30.0  # 300 over at 10/s, capped
    assert admission.admit(100).accept
