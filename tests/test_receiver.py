"""The OTLP/gRPC receiver on a real server at 127.0.0.1:0: status codes and durability."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub

from gateway.config import GrpcReceiverConfig
from gateway.receiver import OtlpGrpcReceiver
from gateway.store import Store
from gateway.testing import FakeClock
from tests.builders import T0, Rec, request

EXPORT = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"


@pytest.fixture
def receiver(store: Store) -> Iterator[OtlpGrpcReceiver]:
    config = GrpcReceiverConfig(endpoint="127.0.0.1:0", max_recv_msg_size_mib=1)
    started = OtlpGrpcReceiver(store, config, FakeClock(T0))
    started.start()
    yield started
    started.shutdown(grace=1)


@pytest.fixture
def channel(receiver: OtlpGrpcReceiver) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(receiver.address) as opened:
        yield opened


def raw_export(channel: grpc.Channel, payload: bytes) -> bytes:
    return channel.unary_unary(EXPORT)(payload, timeout=10)  # type: ignore[no-any-return]


def test_records_are_committed_before_ok(channel: grpc.Channel, store: Store) -> None:
    response = LogsServiceStub(channel).Export(request([Rec("a"), Rec("b", 17)]), timeout=10)
    assert response == ExportLogsServiceResponse()
    assert store.queue_depth() == 2  # visible the moment OK arrives
    claim = store.claim_batch(1, T0, 1, 10)
    assert [(row[2], row[1]) for row in claim.rows] == [(9, T0), (17, T0)]


def test_empty_request_is_ok_and_writes_nothing(channel: grpc.Channel, store: Store) -> None:
    assert raw_export(channel, b"") == b""
    LogsServiceStub(channel).Export(ExportLogsServiceRequest(), timeout=10)
    assert store.queue_depth() == 0


@pytest.mark.parametrize(
    "garbage", [b"\xff\xff\xff\xff", b"\x0a\x05abc", b"\x0a\xff\xff\xff\xff\x0f"]
)
def test_garbage_is_invalid_argument_and_writes_nothing(
    channel: grpc.Channel, store: Store, garbage: bytes
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        raw_export(channel, garbage)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert store.queue_depth() == 0


def test_oversize_is_resource_exhausted(channel: grpc.Channel, store: Store) -> None:
    big = request([Rec("x" * (2 * 1024 * 1024))])
    with pytest.raises(grpc.RpcError) as raised:
        LogsServiceStub(channel).Export(big, timeout=10)
    assert raised.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert store.queue_depth() == 0


def test_database_failure_is_unavailable_never_ok(tmp_path: Path) -> None:
    broken = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    broken.create_schema()
    broken.drop_all()  # every insert now fails
    receiver = OtlpGrpcReceiver(broken, GrpcReceiverConfig(endpoint="127.0.0.1:0"), FakeClock(T0))
    receiver.start()
    try:
        with (
            grpc.insecure_channel(receiver.address) as channel,
            pytest.raises(grpc.RpcError) as raised,
        ):
            LogsServiceStub(channel).Export(request([Rec("a")]), timeout=10)
        assert raised.value.code() is grpc.StatusCode.UNAVAILABLE
    finally:
        receiver.shutdown(grace=1)
        broken.dispose()


def test_gzip_compressed_requests_are_accepted(receiver: OtlpGrpcReceiver, store: Store) -> None:
    with grpc.insecure_channel(receiver.address, compression=grpc.Compression.Gzip) as channel:
        LogsServiceStub(channel).Export(request([Rec("zipped")] * 10), timeout=10)
    assert store.queue_depth() == 10
