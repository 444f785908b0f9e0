"""The Logflare exporter against a fake Logflare that is a real HTTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from gateway.config.settings import LogflareConfig
from gateway.export.logflare import (
    LogflareExporter,
    classify,
    event_json,
    logflare_event,
    logflare_timestamp,
)
from gateway.export.outcome import OutcomeKind
from gateway.model import Entry, PatternRef, VariableValues
from testkit.logflare import FakeLogflare, Fault

T0 = 1_767_225_600_000_000_000


@pytest.fixture
def logflare() -> Iterator[FakeLogflare]:
    with FakeLogflare(api_key="k-123") as fake:
        yield fake


def exporter_for(fake: FakeLogflare, **overrides: Any) -> LogflareExporter:
    settings = {"endpoint": fake.url, "source": fake.source_id, "api_key": fake.api_key}
    settings.update(overrides)
    return LogflareExporter(LogflareConfig.model_validate(settings))


def exporter_at(endpoint: str, timeout: str = "10s") -> LogflareExporter:
    source = "9dd9a6f6-8e9b-4fa4-b682-4f2f5cd99da3"
    settings = {"endpoint": endpoint, "source": source, "api_key": "k", "timeout": timeout}
    return LogflareExporter(LogflareConfig.model_validate(settings))


def event(body: str = "Error: Failed to connect", count: int = 1, **attributes: Any) -> str:
    """An event's text as the batch stage stores it in the outbox."""
    entry = Entry(
        body, 17, "ERROR", "checkout", count, T0, T0 + 5_000, attributes, "ab" * 16, "cd" * 8
    )
    return event_json(entry, T0)


def test_a_batch_follows_logflare_contract(logflare: FakeLogflare) -> None:
    outcome = exporter_for(logflare).export([event(count=100, db={"host": "db"}), event("second")])
    assert outcome.ok and outcome.status == 200
    assert logflare.violations == []
    first, _ = logflare.events
    assert first["event_message"] == "Error: Failed to connect"
    assert first["timestamp"] == T0 // 1000  # integer microseconds of the first occurrence
    metadata = first["metadata"]
    assert metadata["count"] == 100 and metadata["level"] == "error"
    assert metadata["first_seen"] == T0 // 1000 and metadata["last_seen"] == (T0 + 5_000) // 1000
    assert metadata["service"] == {"name": "checkout"} and metadata["attributes"] == {
        "db": {"host": "db"}
    }
    (request,) = logflare.requests
    assert request.path == "/api/logs" and request.headers["x-api-key"] == "***"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"


def test_a_pattern_entry_carries_its_template_and_values_in_metadata(
    logflare: FakeLogflare,
) -> None:
    entry = Entry("took 5 ms", 9, "INFO", "api", 3, T0, T0 + 9)
    took = VariableValues(top=(("5", 2),), other=1, distinct=2)
    entry.pattern = PatternRef(0x7ABC_0000_0000_0001, "took <NUM> ms", (took,))
    assert exporter_for(logflare).export([event_json(entry, T0)]).ok
    assert logflare.violations == []
    (sent,) = logflare.events
    assert sent["event_message"] == "took 5 ms"  # a real line: Logflare's search finds it
    assert sent["metadata"]["pattern"] == {
        "id": "7abc000000000001",
        "template": "took <NUM> ms",
        "variables": [{"top": [["5", 2]], "other": 1, "distinct": 2}],
    }


def test_an_aggregate_carries_its_services_and_resource_in_metadata(
    logflare: FakeLogflare,
) -> None:
    entry = Entry("card declined", 17, "ERROR", "payments", 14, T0, T0 + 9)
    entry.services = {"payments": 6, "checkout": 3, "": 1}
    entry.services_other = 4
    entry.resource = {
        "service.name": "payments",
        "service.version": "1.4.2",
        "deployment.environment": "prod",
        "host.name": "web-3",
        "k8s.pod.name": "payments-7d9f",
        "process.pid": 42,
    }
    assert exporter_for(logflare).export([event_json(entry, T0)]).ok
    assert logflare.violations == []
    (sent,) = logflare.events
    metadata = sent["metadata"]
    assert metadata["services"] == [
        {"name": "payments", "count": 6},
        {"name": "checkout", "count": 3},
        {"count": 1},  # Logflare drops an empty name
    ]
    assert metadata["services_other"] == 4
    assert metadata["resource"] == {
        "service": {"name": "payments", "version": "1.4.2"},
        "deployment": {"environment": "prod"},
        "host": {"name": "web-3"},
        "k8s": {"pod": {"name": "payments-7d9f"}},
        "process": {"pid": 42},
    }
    assert metadata["service"] == {"name": "payments"}  # the first record's, as before


def test_an_entry_of_one_service_names_it_and_no_others() -> None:
    entry = Entry("x", 9, "INFO", "api", 2, T0, T0, services={"api": 2})
    metadata = logflare_event(entry, T0)["metadata"]
    assert metadata["services"] == [{"name": "api", "count": 2}]
    assert "services_other" not in metadata and "resource" not in metadata


def test_the_stored_text_is_the_event_and_the_body_joins_them() -> None:
    entry = Entry("m é", 13, "WARN", "api", 2, T0, T0, {"k": [1, 2.5]})
    assert orjson.loads(event_json(entry, T0)) == logflare_event(entry, T0)
    with FakeLogflare(api_key="k", keep_bodies=True) as fake:
        texts = [event_json(entry, T0), event("second")]
        assert exporter_for(fake).export(texts).ok
    # What the exporter sent before it stopped parsing and writing the events again.
    parsed = [orjson.loads(text) for text in texts]
    assert fake.requests[0].body == orjson.dumps({"batch": parsed})
    assert fake.events[0]["event_message"] == "m é" and fake.violations == []


def test_large_batches_are_gzipped(logflare: FakeLogflare) -> None:
    assert exporter_for(logflare).export([event(f"message {i} " + "x" * 50) for i in range(500)]).ok
    (request,) = logflare.requests
    assert request.gzip and request.event_count == 500


def test_small_batches_are_not(logflare: FakeLogflare) -> None:
    assert exporter_for(logflare).export([event()]).ok
    assert not logflare.requests[0].gzip


def test_source_name_is_sent_instead_of_uuid() -> None:
    with FakeLogflare(
        api_key="k", sources={"9dd9a6f6-8e9b-4fa4-b682-4f2f5cd99da3": "prod"}
    ) as fake:
        exporter = exporter_for(fake, source="", source_name="prod")
        assert exporter.export([event()]).ok


def test_wrong_key_is_unauthorized(logflare: FakeLogflare) -> None:
    outcome = exporter_for(logflare, api_key="wrong").export([event()])
    assert outcome.kind is OutcomeKind.UNAUTHORIZED and outcome.status == 401


def test_unknown_source_is_unauthorized(logflare: FakeLogflare) -> None:
    outcome = exporter_for(logflare, source="00000000-0000-4000-8000-000000000000").export(
        [event()]
    )
    assert outcome.kind is OutcomeKind.UNAUTHORIZED


@pytest.mark.parametrize(
    ("fault", "kind", "retry_after"),
    [
        (Fault.server_error(500), OutcomeKind.RETRY, None),
        (Fault.server_error(503), OutcomeKind.RETRY, None),
        (Fault.buffer_full(), OutcomeKind.RETRY, 3.0),
        (Fault.quota(), OutcomeKind.RETRY, None),
        (Fault(406, {"message": ["Type error!"]}), OutcomeKind.REFUSED, None),
        (Fault(413), OutcomeKind.REFUSED, None),
        (Fault(400), OutcomeKind.REFUSED, None),
    ],
)
def test_faults_become_outcomes_not_exceptions(
    logflare: FakeLogflare, fault: Fault, kind: OutcomeKind, retry_after: float | None
) -> None:
    logflare.fail_next(fault)
    outcome = exporter_for(logflare).export([event()])
    assert (outcome.kind, outcome.status, outcome.retry_after) == (kind, fault.status, retry_after)


def test_connection_reset_is_retryable(logflare: FakeLogflare) -> None:
    logflare.fail_next(Fault(0, reset=True))
    outcome = exporter_for(logflare).export([event()])
    assert outcome.kind is OutcomeKind.RETRY and outcome.status is None


def test_slow_server_times_out_as_retryable(logflare: FakeLogflare) -> None:
    logflare.fail_next(Fault(200, delay=1.0))
    outcome = exporter_for(logflare, timeout="100ms").export([event()])
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.detail == "timed out: no complete answer within 0.1 s"


def test_unreachable_endpoint_is_retryable() -> None:
    exporter = exporter_at("http://127.0.0.1:9")
    assert exporter.export([event()]).kind is OutcomeKind.RETRY


def test_api_key_never_in_repr_or_url(logflare: FakeLogflare) -> None:
    exporter = exporter_for(logflare, api_key="s3cret-key")
    assert "s3cret-key" not in repr(exporter)
    exporter.export([event()])
    assert all("s3cret" not in request.path for request in logflare.requests)


def test_zero_timestamps_are_replaced() -> None:
    entry = Entry("m", 9, "INFO", "", 1, 0, 0)
    built = logflare_event(entry, T0)
    assert built["timestamp"] == T0 // 1000 and built["metadata"]["last_seen"] == T0 // 1000


@pytest.mark.parametrize(
    ("ns", "micros"),
    [
        (1, 1),  # 1-999 ns: 1 µs, never 0
        (999, 1),
        (1_000, 1),
        (999_999_999_999, 999_999_999),  # 9 digits: read as µs
        (1_000_000_000_000, 10_000_000_000),  # 10 digits would be read as seconds
        (1_000_000_000_000_000, 10_000_000_000_000),  # 13 digits would be read as ms
        (T0, T0 // 1000),  # every time since 1970-04-26 is sent as it is
    ],
)
def test_timestamps_are_never_0_nor_read_in_another_unit(ns: int, micros: int) -> None:
    assert logflare_timestamp(ns) == micros
    assert logflare_event(Entry("m", 9, "INFO", "", 1, ns, ns), T0)["timestamp"] == micros


def test_early_times_reach_logflare_as_microseconds() -> None:
    early = [1, 999, 2_000_000_000_000, 5_000_000_000_000_000]  # ns after 1970-01-01
    with FakeLogflare(api_key="k") as fake:
        entries = [Entry(f"m{ns}", 9, "INFO", "", 1, ns, ns) for ns in early]
        assert exporter_for(fake).export([event_json(e, T0) for e in entries]).ok
        # Read as µs by Logflare's digit rule; as seconds or ms they would lie in the future,
        # which Logflare drops without a word.
        assert [event["timestamp"] for event in fake.events] == [1, 1, 10**10, 10**13]
        assert fake.violations == []  # no timestamp 0


def test_retry_after_dates_and_junk_are_tolerated() -> None:
    date_s = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert classify(503, "Wed, 21 Oct 2015 07:28:00 GMT", "", now_s=date_s - 7).retry_after == 7.0
    assert classify(503, "Wed, 21 Oct 2015 07:28:00 GMT", "", now_s=date_s + 9).retry_after == 0.0
    assert classify(503, "soon", "").retry_after is None
    assert classify(429, "-4", "").retry_after == 0.0
    assert classify(418, None, "teapot").kind is OutcomeKind.REFUSED


def test_a_trickling_response_is_cut_at_the_deadline() -> None:
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle() -> None:
        connection, _ = listener.accept()
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
        while not stop.wait(0.05):  # a byte every 50 ms: never slow enough for a read timeout
            try:
                connection.sendall(b"x")
            except OSError:
                break
        connection.close()

    threading.Thread(target=trickle, daemon=True).start()
    port = listener.getsockname()[1]
    exporter = exporter_at(f"http://127.0.0.1:{port}", timeout="200ms")
    try:
        outcome = exporter.export([event()])
    finally:
        stop.set()
        listener.close()
    assert outcome.kind is OutcomeKind.RETRY and outcome.detail.startswith("timed out")


def test_a_dripping_response_head_is_abandoned_at_the_deadline(logflare: FakeLogflare) -> None:
    # ~120 bytes of head at a byte every 100 ms: 12 s, while every read gets a byte in time.
    logflare.fail_next(Fault.drip_head(seconds_per_byte=0.1))
    exporter = exporter_for(logflare, timeout="300ms")
    outcome = exporter.export([event()])
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.detail == "timed out: no complete answer within 0.3 s"
    assert exporter.export([event()]).ok  # the next request gets a fresh connection
    assert len(logflare.events) == 1


def test_the_deadline_holds_on_a_kept_alive_connection(logflare: FakeLogflare) -> None:
    exporter = exporter_for(logflare, timeout="300ms")
    assert exporter.export([event()]).ok  # opens the connection the next request reuses
    logflare.fail_next(Fault.drip_head(seconds_per_byte=0.1))
    assert exporter.export([event()]).detail.startswith("timed out")
    assert exporter.export([event()]).ok
    assert [r.status for r in logflare.requests] == [200, 503, 200]


def test_the_deadline_covers_sending_to_a_peer_that_never_reads() -> None:
    import secrets
    import socket

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills at once
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    exporter = exporter_at(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout="300ms")
    big = [event(secrets.token_hex(500_000)) for _ in range(24)]  # ~12 MB gzipped
    try:
        outcome = exporter.export(big)  # accepted by the kernel, never read
    finally:
        listener.close()
    assert outcome.kind is OutcomeKind.RETRY and outcome.detail.startswith("timed out")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_wrong_endpoint_not_a_refusal(logflare: FakeLogflare, status: int) -> None:
    logflare.fail_next(Fault.redirect("https://logflare.app/login?next=/api/logs", status))
    outcome = exporter_for(logflare).export([event()])
    assert outcome.kind is OutcomeKind.REDIRECTED and outcome.status == status
    assert outcome.detail == f"HTTP {status} to https://logflare.app/login?next=/api/logs"
    assert len(logflare.requests) == 1  # not followed: the key stays with the endpoint


KEY = "lf_live_0123456789abcdefABCDEF"


@pytest.mark.parametrize(
    "fault",
    [
        Fault(400, {"error": f"bad request with x-api-key: {KEY}"}),
        Fault(401, {"message": "Invalid API key", "api_key": KEY}),
        Fault(403, f"<html><body>Forbidden for {KEY}</body></html>"),
        Fault(500, f"<pre>{'x' * 150} headers: X-API-KEY={KEY}</pre>"),
        Fault(502, "<h1>Bad gateway</h1>" + "." * 179 + KEY),  # the detail's cut is inside it
        Fault.redirect(f"https://login.example/?api_key={KEY}"),
    ],
)
def test_an_answer_that_echoes_the_key_is_masked(fault: Fault) -> None:
    with FakeLogflare(api_key=KEY) as fake:
        fake.fail_next(fault)
        outcome = exporter_for(fake).export([event()])
    assert outcome.kind is not OutcomeKind.OK
    assert KEY[:4] not in outcome.detail  # nor any start of it where the text was cut
    assert "*" in outcome.detail  # the mask, maybe cut short itself


def test_an_answer_cut_at_the_cap_inside_the_key_is_masked() -> None:
    from gateway.export.logflare import MAX_RESPONSE_BYTES

    echoes = f"{KEY} " * (MAX_RESPONSE_BYTES // (len(KEY) + 1))  # the cap falls inside one
    with FakeLogflare(api_key=KEY) as fake:
        fake.fail_next(Fault(500, "<p>" + echoes + "</p>"))
        outcome = exporter_for(fake).export([event()])
    assert outcome.detail.startswith("HTTP 500: <p>*** *** ***")
    assert KEY[:4] not in outcome.detail


def test_the_deadline_holds_over_tls() -> None:
    import socket
    import ssl
    import threading

    import httpx
    import trustme

    ca = trustme.CA()
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_side)
    client_side = ssl.create_default_context()
    ca.configure_trust(client_side)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip() -> None:  # a TLS peer sending its answer's head a byte every 100 ms
        raw, _ = listener.accept()
        with server_side.wrap_socket(raw, server_side=True) as connection:
            connection.recv(65536)
            for byte in b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n":
                if stop.wait(0.1):
                    break
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    break

    threading.Thread(target=drip, daemon=True).start()
    settings = {
        "endpoint": f"https://127.0.0.1:{listener.getsockname()[1]}",
        "source": "9dd9a6f6-8e9b-4fa4-b682-4f2f5cd99da3",
        "api_key": "k",
        "timeout": "300ms",
    }
    client = httpx.Client(verify=client_side, timeout=5.0)  # each read would wait 5 s
    try:
        outcome = LogflareExporter(LogflareConfig.model_validate(settings), client).export(
            [event()]
        )
    finally:
        stop.set()
        listener.close()
    assert outcome.kind is OutcomeKind.RETRY and outcome.detail.startswith("timed out")
