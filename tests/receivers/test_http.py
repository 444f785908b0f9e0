"""The OTLP/HTTP receiver on a real server at 127.0.0.1:0: content types, compression, limits,
status codes with google.rpc.Status bodies, partial success, CORS, the browser rate limit."""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from gateway.config.receivers import HttpReceiverConfig
from gateway.config.settings import QueueConfig
from gateway.receivers.admission import Admission
from gateway.receivers.http import OtlpHttpReceiver
from gateway.receivers.ingest import Ingest
from gateway.store import Store
from testkit.clock import FakeClock
from testkit.logflare import FakeLogflare
from tests.builders import T0, Rec, request
from tests.harness import GatewayProcess, gateway_config

PROTOBUF, JSON = "application/x-protobuf", "application/json"
SHOP = "https://shop.example.com"
TRACE, SPAN = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"

Start = Callable[..., OtlpHttpReceiver]


@pytest.fixture
def start(store: Store) -> Iterator[Start]:
    started: list[OtlpHttpReceiver] = []

    def run(clock: FakeClock | None = None, **settings: Any) -> OtlpHttpReceiver:
        options = settings.pop("_options", {})
        config = HttpReceiverConfig.model_validate({"endpoint": "127.0.0.1:0", **settings})
        clock = clock or FakeClock(T0)
        receiver = OtlpHttpReceiver(Ingest(store, clock, **options), config, clock)
        receiver.start()
        started.append(receiver)
        return receiver

    yield run
    for receiver in started:
        receiver.shutdown()


def post(
    receiver: OtlpHttpReceiver, body: bytes, kind: str = PROTOBUF, **headers: str
) -> httpx.Response:
    return httpx.post(
        receiver.url + "/v1/logs",
        content=body,
        headers={"Content-Type": kind, **headers},
        timeout=10,
    )


def protobuf(*records: Rec) -> bytes:
    return request(list(records)).SerializeToString()


def json_body() -> bytes:
    record = {
        "timeUnixNano": str(T0),
        "observedTimeUnixNano": T0,  # int64 as a number is accepted too
        "severityNumber": 17,  # enums by number
        "severityText": "ERROR",
        "body": {"stringValue": "payment failed"},
        "attributes": [{"key": "order", "value": {"intValue": "42"}}],
        "traceId": TRACE,
        "spanId": SPAN,
        "someFutureField": {"ignored": True},
    }
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]}
    tree = {"resourceLogs": [{"resource": resource, "scopeLogs": [{"logRecords": [record]}]}]}
    return json.dumps(tree).encode()


def status_of(response: httpx.Response) -> status_pb2.Status:
    if response.headers["content-type"].startswith(JSON):
        payload = response.json()
        return status_pb2.Status(code=payload.get("code", 0), message=payload.get("message", ""))
    return status_pb2.Status.FromString(response.content)


def stored_records(store: Store) -> list[LogRecord]:
    claim = store.claim_batch(1, 10**9, 100)
    records = store.claimed_records([row[0] for row in claim.rows])
    store.release(claim)
    return [LogRecord.FromString(records[row[0]]) for row in claim.rows]


def test_protobuf_is_committed_before_200_in_protobuf(start: Start, store: Store) -> None:
    response = post(start(), protobuf(Rec("a"), Rec("b", 17)))
    assert response.status_code == 200
    assert response.headers["content-type"] == PROTOBUF
    assert ExportLogsServiceResponse.FromString(response.content) == ExportLogsServiceResponse()
    assert store.queue_depth() == 2


def test_otlp_json_with_hex_ids_numbers_as_strings_and_enums_by_number(
    start: Start, store: Store
) -> None:
    response = post(start(), json_body(), JSON)
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.json() == {}
    (record,) = stored_records(store)
    assert (record.trace_id.hex(), record.span_id.hex()) == (TRACE, SPAN)
    assert (record.severity_number, record.time_unix_nano) == (17, T0)
    assert record.attributes[0].value.int_value == 42


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-15)),  # raw deflate, as some send
    ],
)
def test_compressed_bodies(
    start: Start, store: Store, encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    response = post(start(), compress(protobuf(Rec("zipped"))), **{"Content-Encoding": encoding})
    assert response.status_code == 200
    assert store.queue_depth() == 1


def test_the_size_limit_counts_decompressed_bytes(start: Start, store: Store) -> None:
    receiver = start(max_request_mib=1)
    bomb = gzip.compress(b"\x00" * (8 * 1024 * 1024))  # 8 KiB on the wire, 8 MiB inflated
    response = post(receiver, bomb, **{"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert status_of(response).code == code_pb2.RESOURCE_EXHAUSTED
    assert post(receiver, b"x" * (1024 * 1024 + 1)).status_code == 413
    assert store.queue_depth() == 0


@pytest.mark.parametrize(
    ("body", "kind", "extra"),
    [
        (b"\xff\xff\xff\xff", PROTOBUF, {}),
        (b"{not json", JSON, {}),
        (b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "zz"}]}]}]}', JSON, {}),
        (b'{"resourceLogs": "no"}', JSON, {}),
        (b"\x1f\x8b\x08\x00garbage", PROTOBUF, {"Content-Encoding": "gzip"}),
        # mtime=0: the header's time is in the test's id, which every xdist worker must agree on
        (gzip.compress(b"truncated", mtime=0)[:-6], PROTOBUF, {"Content-Encoding": "gzip"}),
    ],
)
def test_bad_data_is_400_with_a_status_in_the_requests_content_type(
    start: Start, store: Store, body: bytes, kind: str, extra: dict[str, str]
) -> None:
    response = post(start(), body, kind, **extra)
    assert response.status_code == 400
    assert response.headers["content-type"] == kind
    status = status_of(response)
    assert status.code == code_pb2.INVALID_ARGUMENT and status.message
    assert store.queue_depth() == 0


def test_other_media_types_methods_and_paths(start: Start) -> None:
    receiver = start()
    assert post(receiver, b"hello", "text/plain").status_code == 415
    assert post(receiver, protobuf(Rec()), **{"Content-Encoding": "br"}).status_code == 415
    assert httpx.get(receiver.url + "/v1/logs").status_code == 405
    assert httpx.post(receiver.url + "/v1/profiles", content=b"").status_code == 404


def test_records_too_big_are_reported_in_partial_success(start: Start, store: Store) -> None:
    receiver = start(_options={"max_record_bytes": 1024})
    response = post(
        receiver, protobuf(Rec("small"), Rec("x" * 4000)), JSON.replace("json", "x-protobuf")
    )
    partial = ExportLogsServiceResponse.FromString(response.content).partial_success
    assert response.status_code == 200
    assert partial.rejected_log_records == 1 and "1024 bytes" in partial.error_message
    assert store.queue_depth() == 1


def test_a_full_queue_is_503_with_retry_after(start: Start, store: Store) -> None:
    clock = FakeClock(T0)
    admission = Admission(store, QueueConfig(max_records=1), clock, protect_head=0)
    receiver = start(clock, _options={"admission": admission})
    assert post(receiver, protobuf(Rec("first"))).status_code == 200
    response = post(receiver, protobuf(Rec("second")))
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    status = status_of(response)
    assert status.code == code_pb2.UNAVAILABLE
    retry = error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(retry) and retry.retry_delay.seconds >= 1
    assert store.queue_depth() == 1


def test_cors_preflight_for_an_allowed_origin_and_refusal_of_others(
    start: Start, store: Store
) -> None:
    receiver = start(cors={"allowed_origins": [SHOP], "max_age": "1h"})
    ask = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    preflight = httpx.options(receiver.url + "/v1/logs", headers={"Origin": SHOP, **ask})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == SHOP
    assert preflight.headers["Access-Control-Allow-Methods"] == "POST"
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    assert preflight.headers["Access-Control-Max-Age"] == "3600"
    assert "Origin" in preflight.headers["Vary"]
    evil = httpx.options(
        receiver.url + "/v1/logs", headers={"Origin": "https://evil.example", **ask}
    )
    assert evil.status_code == 403 and "Access-Control-Allow-Origin" not in evil.headers

    sent = post(receiver, json_body(), JSON, Origin=SHOP)
    assert sent.status_code == 200 and sent.headers["Access-Control-Allow-Origin"] == SHOP
    refused = post(receiver, json_body(), JSON, Origin="https://evil.example")
    assert refused.status_code == 403
    assert store.queue_depth() == 1


def test_browser_pages_have_a_smaller_body_limit(start: Start, store: Store) -> None:
    receiver = start(cors={"allowed_origins": ["*"]}, browser={"max_request_kib": 1})
    body = protobuf(Rec("x" * 2000))
    assert post(receiver, body, Origin=SHOP).status_code == 413
    assert post(receiver, body).status_code == 200  # a server, without Origin: the big limit


def test_each_browser_address_is_rate_limited(start: Start, store: Store) -> None:
    clock = FakeClock(T0)
    receiver = start(
        clock, cors={"allowed_origins": [SHOP]}, browser={"requests_per_second": 1, "burst": 2}
    )
    body = protobuf(Rec("hi"))
    assert [post(receiver, body, Origin=SHOP).status_code for _ in range(2)] == [200, 200]
    limited = post(receiver, body, Origin=SHOP)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert limited.headers["Access-Control-Allow-Origin"] == SHOP  # so the page can read it
    assert status_of(limited).code == code_pb2.RESOURCE_EXHAUSTED
    assert post(receiver, body).status_code == 200  # servers are not limited
    clock.advance(1)
    assert post(receiver, body, Origin=SHOP).status_code == 200
    assert store.queue_depth() == 4


# -- every gzip member; nothing after the data -------------------------------------------


def test_every_gzip_member_of_a_body_is_stored(start: Start, store: Store) -> None:
    # `cat a.gz b.gz`: two members, each a whole request; both halves' records are stored.
    first, second = protobuf(Rec("first"), Rec("second")), protobuf(Rec("third"))
    body = gzip.compress(first) + gzip.compress(second)
    response = post(start(), body, **{"Content-Encoding": "gzip"})
    assert response.status_code == 200
    assert sorted(row[3] for row in store.claim_batch(1, 10**9, 100).rows) == [
        "first",
        "second",
        "third",
    ]


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-15)),
    ],
    ids=["gzip", "deflate-zlib", "deflate-raw"],
)
def test_bytes_after_the_compressed_data_are_400(
    start: Start, store: Store, encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    body = compress(protobuf(Rec("not stored"))) + b"trailing garbage"
    response = post(start(), body, **{"Content-Encoding": encoding})
    assert response.status_code == 400
    status = status_of(response)
    assert status.code == code_pb2.INVALID_ARGUMENT and "16 bytes" in status.message
    assert store.queue_depth() == 0


def test_a_bomb_split_across_gzip_members_is_413(start: Start, store: Store) -> None:
    receiver = start(max_request_mib=1)
    member = gzip.compress(b"\x00" * (512 * 1024))  # half the limit each, inflated
    response = post(receiver, member * 3, **{"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert status_of(response).code == code_pb2.RESOURCE_EXHAUSTED
    assert store.queue_depth() == 0


def test_the_browser_limit_counts_every_gzip_member(start: Start, store: Store) -> None:
    receiver = start(cors={"allowed_origins": [SHOP]}, browser={"max_request_kib": 64})
    member = gzip.compress(b"\x00" * (40 * 1024))
    response = post(receiver, member * 2, **{"Content-Encoding": "gzip", "Origin": SHOP})
    assert response.status_code == 413
    assert store.queue_depth() == 0


def test_a_real_gateway_stores_both_members_of_a_two_member_body(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    with FakeLogflare() as logflare:
        # Ingest alone: the records stay in the queue, where this test reads them.
        config = gateway_config(tmp_path, url, logflare, components="[ingest]")
        gateway = GatewayProcess(config)
        try:
            (endpoint,) = re.findall(r"OTLP/HTTP receiver listening on (\S+)", "".join(gateway.log))
            first = protobuf(Rec("member one"), Rec("member one, again"))
            body = gzip.compress(first) + gzip.compress(protobuf(Rec("member two")))
            response = httpx.post(
                endpoint + "/v1/logs",
                content=body,
                headers={"Content-Type": PROTOBUF, "Content-Encoding": "gzip"},
                timeout=10,
            )
            assert response.status_code == 200
        finally:
            assert gateway.terminate() == 0
    queue = Store(url)
    try:
        bodies = sorted(row[3] for row in queue.claim_batch(1, 10**9, 100).rows)
    finally:
        queue.dispose()
    assert bodies == ["member one", "member one, again", "member two"]
