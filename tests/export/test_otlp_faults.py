"""What the OTLP exporter makes of a backend's troubles, over gRPC and HTTP: each answer of the
OTLP specification becomes the outcome the outbox needs (retry after the server's delay,
refuse for good, count a partial success), and the outbox finds refused records one by one."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
import trustme

from gateway.config.otlp_exporter import OtlpExporterConfig
from gateway.export.otlp import OtlpExporter
from gateway.export.otlp_answers import grpc_outcome, http_outcome
from gateway.export.otlp_record import decode, encode
from gateway.export.outbox import ExportStage
from gateway.export.outcome import ExportOutcome, OutcomeKind
from gateway.otlp import rows_from_request
from gateway.pipeline.batch import BatchSettings, BatchStage, Outbound
from gateway.pipeline.sampling import SamplingPolicy
from gateway.store import Store
from testkit.otlp import FakeOtlp, Fault
from tests.builders import Rec, request
from tests.export.otlp_kit import PROTOCOLS, T0, entry, exporter

FAULTS = {
    "unavailable": (Fault.unavailable(2.0), OutcomeKind.RETRY, 2.0),
    "throttled": (Fault.throttled(3.0), OutcomeKind.RETRY, 3.0),
    "invalid": (Fault.invalid(), OutcomeKind.REFUSED, None),
    "unauthenticated": (Fault.unauthenticated(), OutcomeKind.UNAUTHORIZED, None),
}


@pytest.fixture
def fake() -> Iterator[FakeOtlp]:
    with FakeOtlp() as server:
        yield server


def texts(count: int, prefix: str = "line") -> list[str]:
    return [encode(entry(f"{prefix} {i}", count=i + 1), T0) for i in range(count)]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("name", FAULTS)
def test_each_fault_is_its_outcome(fake: FakeOtlp, protocol: str, name: str) -> None:
    fault, kind, delay = FAULTS[name]
    fake.fail_next(fault)
    outcome = exporter(fake, protocol).export(texts(3))
    assert (outcome.kind, outcome.retry_after) == (kind, delay)
    assert fault.message in outcome.detail
    assert fake.records == [] and fake.violations == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_partial_success_is_counted_logged_and_not_sent_again(
    fake: FakeOtlp, protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake.reject = lambda record: record.body in ("line 1", "line 3")
    with caplog.at_level(logging.WARNING, logger="logsieve.exporter"):
        outcome = exporter(fake, protocol).export(texts(5))
    assert (outcome.kind, outcome.rejected) == (OutcomeKind.OK, 2)
    assert outcome.detail == "rejected 2 of 5 records: records refused"
    assert [r.body for r in fake.records] == ["line 0", "line 2", "line 4"]
    assert len(fake.requests) == 1
    (line,) = caplog.messages
    assert line.endswith("rejected 2 of 5 records: records refused")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_request_rejected_whole_is_a_refusal(fake: FakeOtlp, protocol: str) -> None:
    fake.fail_next(Fault.partial(lambda record: True, "schema mismatch"))
    outcome = exporter(fake, protocol).export(texts(2))
    assert (outcome.kind, outcome.rejected) == (OutcomeKind.REFUSED, 2)
    assert outcome.detail == "rejected all 2 records: schema mismatch"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_outbox_isolates_the_records_a_backend_refuses(
    store: Store, fake: FakeOtlp, protocol: str
) -> None:
    """A backend refusing a whole request for one bad record (400, INVALID_ARGUMENT): the
    outbox halves the request until each bad record is alone, dead-letters exactly those and
    delivers the rest once each."""
    bodies = [f"event {i}" for i in range(8)]
    sender = exporter(fake, protocol)
    _outbox(store, bodies)
    fake.invalid_if = lambda record: record.body in ("event 2", "event 5")
    report = ExportStage(store, sender).run_once(T0)
    assert (report.sent, report.dead_lettered) == (6, 2)
    assert sorted(r.body for r in fake.records) == [
        b for b in bodies if b not in ("event 2", "event 5")
    ]
    dead = store.dead_letters()
    assert sorted(_body_of(text) for text, _ in dead) == ["event 2", "event 5"]
    assert all("the request holds an invalid record" in reason for _, reason in dead)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_reset_connection_is_retried_and_the_next_call_reconnects(
    fake: FakeOtlp, protocol: str
) -> None:
    sender = exporter(fake, protocol)
    fake.fail_next(Fault.reset())
    outcome = sender.export(texts(1))
    assert outcome.kind is OutcomeKind.RETRY and outcome.status is None
    # gRPC may try the dead connection once more before it notices (a broken pipe that never
    # reaches the server, itself a RETRY): the outbox's next tries then go through.
    assert any(sender.export(texts(1)).ok for _ in range(3))
    assert [r.answer for r in fake.requests] == ["reset", "OK" if protocol == "grpc" else "200"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_stall_ends_at_the_timeout(fake: FakeOtlp, protocol: str) -> None:
    fake.fail_next(Fault.stall())
    outcome = exporter(fake, protocol, timeout="300ms").export(texts(1))
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.detail.endswith("timed out: no complete answer within 0.3 s")
    fake.release()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_stalled_request_completes_once_released(fake: FakeOtlp, protocol: str) -> None:
    fake.fail_next(Fault.stall())
    outcomes: list[ExportOutcome] = []
    sending = threading.Thread(
        target=lambda: outcomes.append(exporter(fake, protocol).export(texts(2)))
    )
    sending.start()
    fake.wait_for_arrivals(1)
    assert fake.records == [] and outcomes == []  # held: no answer yet
    fake.release()
    sending.join(30)
    assert outcomes[0].ok and len(fake.records) == 2


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_unreachable_backend_is_retried(protocol: str) -> None:
    with FakeOtlp() as gone:
        url = gone.url(protocol)
    settings = {"endpoint": url, "protocol": protocol, "timeout": "5s"}
    outcome = OtlpExporter(OtlpExporterConfig.model_validate(settings)).export(texts(1))
    assert outcome.kind is OutcomeKind.RETRY


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_tls_with_a_self_signed_ca(tmp_path: Path, protocol: str) -> None:
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    chain = b"".join(blob.bytes() for blob in server.cert_chain_pems)
    with FakeOtlp(tls=(chain, server.private_key_pem.bytes())) as fake:
        assert fake.url(protocol).startswith("https://")
        trusted = exporter(fake, protocol, tls={"ca_file": str(ca_file)})
        assert trusted.export(texts(2)).ok and len(fake.records) == 2
        untrusted = exporter(fake, protocol, timeout="5s").export(texts(1))
        assert untrusted.kind is OutcomeKind.RETRY and len(fake.records) == 2


def test_http_bodies_are_gzipped_unless_told_not_to(fake: FakeOtlp) -> None:
    assert exporter(fake, "http").export(texts(2)).ok
    assert exporter(fake, "http", compression="none").export(texts(2)).ok
    assert [r.gzip for r in fake.requests] == [True, False]
    assert fake.violations == []


def test_grpc_requests_are_gzipped_on_the_wire(fake: FakeOtlp) -> None:
    """grpcio does not tell a handler how a message came; the relay in front counts bytes."""
    repetitive = [encode(entry("x" * 20_000), T0)]
    before = fake.grpc_bytes_in
    assert exporter(fake, "grpc", compression="none").export(repetitive).ok
    plain = fake.grpc_bytes_in - before
    assert exporter(fake, "grpc").export(repetitive).ok
    gzipped = fake.grpc_bytes_in - before - plain
    assert plain > 20_000 > 2_000 > gzipped, (plain, gzipped)


HTTP_TABLE = [
    (200, OutcomeKind.OK),
    (301, OutcomeKind.REDIRECTED),
    (400, OutcomeKind.REFUSED),
    (401, OutcomeKind.UNAUTHORIZED),
    (403, OutcomeKind.UNAUTHORIZED),
    (404, OutcomeKind.RETRY),  # no OTLP service there: a wrong endpoint keeps the records
    (413, OutcomeKind.REFUSED),  # too large: the outbox halves it
    (429, OutcomeKind.RETRY),
    (500, OutcomeKind.REFUSED),  # the specification: not retryable
    (502, OutcomeKind.RETRY),
    (503, OutcomeKind.RETRY),
    (504, OutcomeKind.RETRY),
]


@pytest.mark.parametrize(("status", "kind"), HTTP_TABLE[1:])
def test_http_statuses_per_the_specification(status: int, kind: OutcomeKind) -> None:
    assert http_outcome(status, "7", "why").kind is kind


Code = grpc.StatusCode
GRPC_TABLE = [
    (Code.UNAVAILABLE, None, OutcomeKind.RETRY),
    (Code.CANCELLED, None, OutcomeKind.RETRY),
    (Code.DEADLINE_EXCEEDED, None, OutcomeKind.RETRY),
    (Code.ABORTED, None, OutcomeKind.RETRY),
    (Code.OUT_OF_RANGE, None, OutcomeKind.RETRY),
    (Code.DATA_LOSS, None, OutcomeKind.RETRY),
    (Code.RESOURCE_EXHAUSTED, 1.5, OutcomeKind.RETRY),  # RetryInfo: the server can recover
    (Code.RESOURCE_EXHAUSTED, None, OutcomeKind.REFUSED),  # e.g. past its message size
    (Code.INVALID_ARGUMENT, None, OutcomeKind.REFUSED),
    (Code.INTERNAL, None, OutcomeKind.REFUSED),
    (Code.UNKNOWN, None, OutcomeKind.REFUSED),
    (Code.UNAUTHENTICATED, None, OutcomeKind.UNAUTHORIZED),
    (Code.PERMISSION_DENIED, None, OutcomeKind.UNAUTHORIZED),
    (Code.UNIMPLEMENTED, None, OutcomeKind.RETRY),  # no logs service there
]


@pytest.mark.parametrize(("code", "delay", "kind"), GRPC_TABLE)
def test_grpc_codes_per_the_specification(
    code: grpc.StatusCode, delay: float | None, kind: OutcomeKind
) -> None:
    outcome = grpc_outcome(code, "why", delay)
    assert (outcome.kind, outcome.retry_after) == (
        kind,
        delay if kind is OutcomeKind.RETRY else None,
    )
    assert outcome.detail.startswith(f"gRPC {code.name}: why")


def _outbox(store: Store, bodies: list[str]) -> None:
    records = [Rec(body, 17) for body in bodies]
    store.enqueue(rows_from_request(request(records), T0, store.origin_ids).rows)
    outbound = [Outbound("logflare", encode)]
    BatchStage(store, SamplingPolicy(), BatchSettings(), outbound=outbound).run_once(T0)
    assert store.outbox_depth() == len(bodies)


def _body_of(text: str) -> str:
    body: str = decode(text).scope_logs[0].log_records[0].body.string_value
    return body


PARTIAL_JSON = b'{"partialSuccess": {"rejectedLogRecords": "2", "errorMessage": "x"}}'


@pytest.mark.parametrize(
    ("kind", "answer", "rejected"),
    [
        (
            "application/json",
            b'{"partialSuccess":{"rejectedLogRecords":"2","errorMessage":"x"}}',
            2,
        ),
        ("application/json", b"{}", 0),
        ("text/plain", b"OK", 0),  # not an ExportLogsServiceResponse: taken all the same
        ("application/x-protobuf", b"", 0),
    ],
)
def test_a_success_answer_in_json_or_junk_is_still_a_success(
    kind: str, answer: bytes, rejected: int
) -> None:
    def backend(sent: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": kind}, content=answer)

    config = OtlpExporterConfig(endpoint="http://backend.test:4318", protocol="http")
    client = httpx.Client(transport=httpx.MockTransport(backend))
    outcome = OtlpExporter(config, client).export(texts(3))
    assert (outcome.kind, outcome.rejected) == (OutcomeKind.OK, rejected)
    assert bool(outcome.detail) == bool(rejected)


def test_only_logflares_406_says_the_others_were_stored() -> None:
    """An OTLP backend's 406 is a plain refusal (halved to find the record); Logflare's means
    it ingested the valid events, so the request is never sent again."""
    from gateway.export.logflare import classify
    from gateway.export.otlp_answers import http_outcome

    otlp = http_outcome(406, None, "not acceptable")
    assert otlp.kind is OutcomeKind.REFUSED and not otlp.stored_others
    assert classify(406, None, "Type error!").stored_others
    assert not classify(400, None, "bad").stored_others
