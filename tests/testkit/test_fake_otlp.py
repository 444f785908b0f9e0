"""The fake OTLP backend must hold to the OTLP specification over real gRPC and HTTP, with
plain clients (not logsieve's exporter): what it checks, how it answers, how faults look."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator

import grpc
import httpx
import pytest
from google.protobuf import json_format
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from testkit.otlp import FakeOtlp, Fault
from tests.builders import Rec, request

PROTOBUF = {"content-type": "application/x-protobuf"}


@pytest.fixture
def fake() -> Iterator[FakeOtlp]:
    with FakeOtlp() as server:
        yield server


@pytest.fixture
def client(fake: FakeOtlp) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.http_url, timeout=10.0) as opened:
        yield opened


@pytest.fixture
def stub(fake: FakeOtlp) -> Iterator[LogsServiceStub]:
    with grpc.insecure_channel(fake.grpc_url.removeprefix("http://")) as channel:
        yield LogsServiceStub(channel)


def two() -> ExportLogsServiceRequest:
    return request([Rec("a"), Rec("b", 17)], service="web")


# --- the happy path, both protocols ------------------------------------------------------------


def test_grpc_records_arrive_with_their_resource_and_scope(
    fake: FakeOtlp, stub: LogsServiceStub
) -> None:
    assert stub.Export(two(), timeout=10) == ExportLogsServiceResponse()
    assert [(r.body, r.resource["service.name"], r.scope) for r in fake.records] == [
        ("a", "web", "app"),
        ("b", "web", "app"),
    ]
    (recorded,) = fake.requests
    assert (recorded.protocol, recorded.answer, recorded.records, recorded.resource_groups) == (
        "grpc",
        "OK",
        2,
        1,
    )
    assert fake.violations == []


def test_http_protobuf_gzip_and_json_are_taken(fake: FakeOtlp, client: httpx.Client) -> None:
    body = gzip.compress(two().SerializeToString())
    answer = client.post("/v1/logs", content=body, headers=PROTOBUF | {"content-encoding": "gzip"})
    assert answer.status_code == 200 and answer.headers["content-type"] == PROTOBUF["content-type"]
    assert ExportLogsServiceResponse.FromString(answer.content) == ExportLogsServiceResponse()
    as_json = json_format.MessageToJson(two())
    answer = client.post("/v1/logs", content=as_json, headers={"content-type": "application/json"})
    assert answer.status_code == 200 and answer.json() == {}
    assert [r.gzip for r in fake.requests] == [True, False]
    assert len(fake.records) == 4 and fake.violations == []


# --- what the HTTP side checks, in the specification's order -----------------------------------


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "problem"),
    [
        ("GET", "/v1/logs", {}, b"", 405, "GET /v1/logs: OTLP/HTTP is POST"),
        ("POST", "/v1/traces", PROTOBUF, b"", 404, "POST to /v1/traces, not /v1/logs"),
        (
            "POST",
            "/v1/logs",
            {"content-type": "text/plain"},
            b"x",
            415,
            "Content-Type 'text/plain'",
        ),
        ("POST", "/v1/logs", PROTOBUF | {"content-encoding": "br"}, b"x", 415, "Encoding 'br'"),
        ("POST", "/v1/logs", PROTOBUF | {"content-encoding": "gzip"}, b"x", 400, "not gzip"),
        ("POST", "/v1/logs", PROTOBUF, b"\xff\xff\xff", 400, "not an ExportLogsServiceRequest"),
    ],
)
def test_http_requests_outside_the_specification_are_refused_and_noted(
    fake: FakeOtlp,
    client: httpx.Client,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    status: int,
    problem: str,
) -> None:
    answer = client.request(method, path, content=body, headers=headers)
    assert answer.status_code == status
    (violation,) = fake.violations
    assert problem in violation
    assert fake.records == []


def test_breaches_of_the_data_model_are_noted_and_the_records_kept(
    fake: FakeOtlp, stub: LogsServiceStub
) -> None:
    bad = request([Rec("x", trace_id=b"\x01" * 15, span_id=bytes(8), time=0)])
    record = bad.resource_logs[0].scope_logs[0].log_records[0]
    record.severity_number = 30
    record.attributes.extend([KeyValue(key="k", value=AnyValue(int_value=1))] * 2)
    bad.resource_logs[0].scope_logs.add()  # a scope without records
    stub.Export(bad, timeout=10)
    assert len(fake.records) == 1
    joined = "\n".join(fake.violations)
    for problem in (
        "trace_id of 15 bytes",
        "span_id of 8 bytes (8, not all zero)",
        "severity_number 30 is not 0-24",
        "neither time_unix_nano nor observed_time_unix_nano",
        "attribute 'k' given twice",
        "scope_logs[1] holds no log_records",
    ):
        assert problem in joined, joined


# --- faults --------------------------------------------------------------------------------------


def test_grpc_unavailable_carries_retry_info(fake: FakeOtlp, stub: LogsServiceStub) -> None:
    fake.fail_next(Fault.unavailable(2.5), Fault.throttled(4.0))
    for code, delay in (
        (grpc.StatusCode.UNAVAILABLE, 2.5),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 4.0),
    ):
        with pytest.raises(grpc.RpcError) as raised:
            stub.Export(two(), timeout=10)
        assert raised.value.code() is code
        status = rpc_status.from_call(raised.value)  # type: ignore[arg-type]
        assert status is not None
        info = error_details_pb2.RetryInfo()
        assert status.details[0].Unpack(info)
        assert info.retry_delay.ToNanoseconds() == delay * 1e9
    assert fake.records == []


def test_http_faults_carry_retry_after_and_a_status_body(
    fake: FakeOtlp, client: httpx.Client
) -> None:
    fake.fail_next(Fault.throttled(2.2), Fault.unavailable(None), Fault.invalid("bad field"))
    body = two().SerializeToString()
    throttled, unavailable, invalid = (
        client.post("/v1/logs", content=body, headers=PROTOBUF) for _ in range(3)
    )
    assert (throttled.status_code, throttled.headers["retry-after"]) == (429, "3")  # whole seconds
    assert (unavailable.status_code, "retry-after" in unavailable.headers) == (503, False)
    assert invalid.status_code == 400
    assert status_pb2.Status.FromString(invalid.content).message == "bad field"


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_a_partial_success_names_the_count_and_keeps_the_others(
    fake: FakeOtlp, client: httpx.Client, stub: LogsServiceStub, protocol: str
) -> None:
    fake.fail_next(Fault.partial(lambda record: record.body == "b", "b is invalid"))
    if protocol == "grpc":
        response = stub.Export(two(), timeout=10)
    else:
        answer = client.post("/v1/logs", content=two().SerializeToString(), headers=PROTOBUF)
        response = ExportLogsServiceResponse.FromString(answer.content)
    partial = response.partial_success
    assert (partial.rejected_log_records, partial.error_message) == (1, "b is invalid")
    assert [r.body for r in fake.records] == ["a"]


def test_required_headers_are_checked_and_never_recorded(fake: FakeOtlp) -> None:
    with FakeOtlp(required_headers={"X-API-Key": "k-123"}) as guarded, httpx.Client() as client:
        url = guarded.http_url + "/v1/logs"
        body = two().SerializeToString()
        assert client.post(url, content=body, headers=PROTOBUF).status_code == 401
        assert client.post(url, content=body, headers=PROTOBUF | {"x-api-key": "k-123"}).is_success
        assert [r.headers.get("x-api-key") for r in guarded.requests] == [None, "***"]


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_a_reset_is_a_reset(
    fake: FakeOtlp, client: httpx.Client, stub: LogsServiceStub, protocol: str
) -> None:
    fake.fail_next(Fault.reset())
    if protocol == "grpc":
        with pytest.raises(grpc.RpcError) as raised:
            stub.Export(two(), timeout=10)
        assert raised.value.code() is grpc.StatusCode.UNAVAILABLE
        # The client sees the dropped connection as whichever transport error it met first.
        transport_errors = ("connection reset", "broken pipe", "socket closed", "stream removed")
        details = str(raised.value.details()).lower()
        assert any(words in details for words in transport_errors), details
    else:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.post("/v1/logs", content=two().SerializeToString(), headers=PROTOBUF)
    assert fake.records == [] and fake.requests[0].answer == "reset"


def test_a_stall_holds_the_answer_until_released(fake: FakeOtlp, client: httpx.Client) -> None:
    answers: list[int] = []

    def post() -> None:
        body = two().SerializeToString()
        answers.append(client.post("/v1/logs", content=body, headers=PROTOBUF).status_code)

    fake.fail_next(Fault.stall())
    posting = threading.Thread(target=post)
    posting.start()
    fake.wait_for_arrivals(1)
    assert answers == [] and fake.requests == []
    fake.release()
    posting.join(30)
    assert answers == [200] and len(fake.records) == 2
