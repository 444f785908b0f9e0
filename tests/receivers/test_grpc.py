"""The OTLP/gRPC receiver on a real server at 127.0.0.1:0: status codes and durability."""

from __future__ import annotations

import gzip
import socket
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import grpc
import h2.config
import h2.connection
import h2.events
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub

from gateway.config.receivers import GrpcReceiverConfig
from gateway.receivers.grpc import OtlpGrpcReceiver
from gateway.receivers.ingest import Ingest
from gateway.store import Store
from testkit.clock import FakeClock
from tests.builders import T0, Rec, request

EXPORT = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"


@pytest.fixture
def receiver(store: Store) -> Iterator[OtlpGrpcReceiver]:
    config = GrpcReceiverConfig(endpoint="127.0.0.1:0", max_recv_msg_size_mib=1)
    started = OtlpGrpcReceiver(Ingest(store, FakeClock(T0)), config)
    started.start()
    yield started
    started.shutdown(grace=1)


@pytest.fixture
def channel(receiver: OtlpGrpcReceiver) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(receiver.address) as opened:
        yield opened


def raw_export(channel: grpc.Channel, payload: bytes) -> bytes:
    return channel.unary_unary(EXPORT, None, None)(payload, timeout=10)  # type: ignore[no-any-return]


def test_records_are_committed_before_ok(channel: grpc.Channel, store: Store) -> None:
    response = LogsServiceStub(channel).Export(request([Rec("a"), Rec("b", 17)]), timeout=10)
    assert response == ExportLogsServiceResponse()
    assert store.queue_depth() == 2  # visible the moment OK arrives
    claim = store.claim_batch(1, 1, 10)
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
    receiver = OtlpGrpcReceiver(
        Ingest(broken, FakeClock(T0)), GrpcReceiverConfig(endpoint="127.0.0.1:0")
    )
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


def test_a_record_over_the_size_limit_is_left_out_and_reported(store: Store) -> None:
    receiver = OtlpGrpcReceiver(
        Ingest(store, FakeClock(T0), max_record_bytes=1024 * 1024),
        GrpcReceiverConfig(endpoint="127.0.0.1:0", max_recv_msg_size_mib=16),
    )
    receiver.start()
    try:
        with grpc.insecure_channel(receiver.address) as channel:
            big = request([Rec("fine"), Rec("x" * (10 * 1024 * 1024)), Rec("also fine")])
            response = LogsServiceStub(channel).Export(big, timeout=30)
    finally:
        receiver.shutdown(grace=1)
    assert response.partial_success.rejected_log_records == 1
    assert "larger than 1048576 bytes" in response.partial_success.error_message
    claim = store.claim_batch(1, 1, 10)
    assert [row[3] for row in claim.rows] == ["fine", "also fine"]


def test_invalid_utf8_is_invalid_argument(channel: grpc.Channel, store: Store) -> None:
    valid = request([Rec("caf\u00e9")]).SerializeToString()
    broken = valid.replace("caf\u00e9".encode(), b"caf\xff\xfe")
    with pytest.raises(grpc.RpcError) as raised:
        raw_export(channel, broken)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert store.queue_depth() == 0


@pytest.mark.parametrize(
    ("time", "expected"),
    [(0, T0), (2**64 - 1, T0), (T0 + 7200 * 10**9, T0), (T0 - 5, T0 - 5)],
    ids=["zero", "year-2262-and-beyond", "two-hours-ahead", "past"],
)
def test_odd_timestamps_are_stored_by_rule(
    channel: grpc.Channel, store: Store, time: int, expected: int
) -> None:
    LogsServiceStub(channel).Export(request([Rec("t", time=time)]), timeout=10)
    (row,) = store.claim_batch(1, 1, 10).rows
    assert row[1] == expected  # seen_at: else receive time (the fake clock's T0)


def test_nul_and_escape_bytes_are_stored_on_both_databases(
    channel: grpc.Channel, store: Store
) -> None:
    LogsServiceStub(channel).Export(request([Rec("a\x00b\x1b[31mred")]), timeout=10)
    (row,) = store.claim_batch(1, 1, 10).rows
    assert row[3] == "a\ufffdb\x1b[31mred"


def _field(tag: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (wire type 2)."""
    size, length = bytearray(), len(payload)
    while True:
        size.append((length & 0x7F) | (0x80 if length > 0x7F else 0))
        length >>= 7
        if not length:
            return bytes([tag << 3 | 2]) + bytes(size) + payload


def test_deep_nesting_is_refused_whole_not_a_crash(channel: grpc.Channel, store: Store) -> None:
    value = _field(1, b"leaf")  # AnyValue{string_value}
    for _ in range(200):  # deeper than protobuf's recursion limit of 100
        key_value = _field(1, b"k") + _field(2, value)  # KeyValue{key, value}
        value = _field(6, _field(1, key_value))  # AnyValue{kvlist_value{values}}
    record = _field(5, value)  # LogRecord{body}
    payload = _field(1, _field(2, _field(2, record)))  # request{resource_logs{scope_logs{...}}}
    with pytest.raises(grpc.RpcError) as raised:
        raw_export(channel, payload)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert store.queue_depth() == 0


def test_a_gzip_bomb_is_resource_exhausted_after_decompression(
    receiver: OtlpGrpcReceiver, store: Store
) -> None:
    bomb = request([Rec("\0" * (8 * 1024 * 1024))])  # 8 MiB of zeros: a few kB compressed
    gzip = grpc.Compression.Gzip
    with (
        grpc.insecure_channel(receiver.address, compression=gzip) as channel,
        pytest.raises(grpc.RpcError) as raised,
    ):
        LogsServiceStub(channel).Export(bomb, timeout=30)
    assert raised.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED  # limit is 1 MiB
    assert store.queue_depth() == 0


# -- grpc-encoding ---------------------------------------------------------------------------


def raw_grpc_call(address: str, message: bytes, encoding: str, compressed: bool) -> dict[str, str]:
    """One unary call over a hand-driven HTTP/2 connection: grpcio's client sends no
    grpc-encoding but its own. Returns the response's headers and trailers."""
    host, port = address.rsplit(":", 1)
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    connection.initiate_connection()
    stream = connection.get_next_available_stream_id()
    headers = [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", EXPORT),
        (":authority", address),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
        ("grpc-encoding", encoding),
    ]
    connection.send_headers(stream, headers)
    framed = struct.pack(">?I", compressed, len(message)) + message
    connection.send_data(stream, framed, end_stream=True)
    answer: dict[str, str] = {}
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(connection.data_to_send())
        while not answer.get("ended"):
            received = sock.recv(65536)
            assert received, "the server closed the connection without answering"
            for event in connection.receive_data(received):
                if isinstance(event, h2.events.ResponseReceived | h2.events.TrailersReceived):
                    answer.update((k.decode(), v.decode()) for k, v in event.headers)
                if isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
                    answer["ended"] = type(event).__name__
            sock.sendall(connection.data_to_send())
    return answer


def test_supported_grpc_encodings_are_read(receiver: OtlpGrpcReceiver, store: Store) -> None:
    message = request([Rec("compressed by hand")]).SerializeToString()
    for encoding, body in [("gzip", gzip.compress(message)), ("deflate", zlib.compress(message))]:
        answer = raw_grpc_call(receiver.address, body, encoding, compressed=True)
        assert answer["grpc-status"] == str(grpc.StatusCode.OK.value[0]), answer
        # What a client may use instead, advertised on every answer.
        assert set(answer["grpc-accept-encoding"].replace(" ", "").split(",")) == {
            "identity",
            "deflate",
            "gzip",
        }
    assert store.queue_depth() == 2


@pytest.mark.parametrize("encoding", ["zstd", "snappy", "br"])
def test_an_unknown_grpc_encoding_is_refused_by_grpcs_core_before_the_receiver_runs(
    receiver: OtlpGrpcReceiver, store: Store, encoding: str
) -> None:
    # gRPC's protocol says UNIMPLEMENTED; grpcio's core (its HPACK parser) answers INTERNAL
    # "Error parsing 'grpc-encoding' metadata" while it reads the headers, before any Python
    # code can see the call or change its answer (docs/how-it-works.md: "gRPC compression"). So
    # that a grpcio that answers otherwise is noticed and the docs updated, it is pinned.
    answer = raw_grpc_call(receiver.address, b"not really compressed", encoding, compressed=True)
    assert answer["grpc-status"] == str(grpc.StatusCode.INTERNAL.value[0]), answer
    assert answer["grpc-message"] == "Error parsing 'grpc-encoding' metadata"
    assert store.queue_depth() == 0
    # The connection-level failure is the call's alone: the receiver goes on serving.
    with grpc.insecure_channel(receiver.address) as channel:
        LogsServiceStub(channel).Export(request([Rec("next")]), timeout=10)
    assert store.queue_depth() == 1
