"""The fake Logflare's fault injection, waiting, and the other test doubles."""

from __future__ import annotations

import socket
import threading
import uuid

import httpx
import pytest

from gateway.export.outcome import ExportOutcome, OutcomeKind
from testkit.clock import FakeClock
from testkit.logflare import FakeLogflare, Fault, RecordingExporter
from tests.logflare_fixtures import NOW_NS, event, post

# --- fault injection ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error_fault(fake: FakeLogflare, client: httpx.Client, status: int) -> None:
    fake.fail_next(Fault.server_error(status))
    assert post(client, fake, [event()]).status_code == status
    assert fake.events == []
    assert post(client, fake, [event()]).status_code == 200  # one fault, one request


def test_faults_apply_before_auth_and_in_order(fake: FakeLogflare, client: httpx.Client) -> None:
    fake.fail_next(Fault.server_error(503), Fault.unauthorized())
    statuses = [post(client, fake, [event()], headers={"x-api-key": "bad"}).status_code]
    statuses += [post(client, fake, [event()]).status_code for _ in range(2)]
    assert statuses == [503, 401, 200]


def test_buffer_full_429_has_retry_after(fake: FakeLogflare, client: httpx.Client) -> None:
    fake.fail_next(Fault.buffer_full())
    response = post(client, fake, [event()])
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert response.json() == {"error": "Buffer Full: Too Many Requests"}


def test_quota_429_has_no_retry_after(fake: FakeLogflare, client: httpx.Client) -> None:
    fake.fail_next(Fault.quota())
    response = post(client, fake, [event()])
    assert response.status_code == 429
    assert "retry-after" not in response.headers
    assert response.headers["x-rate-limit-source_remaining"] == "0"


def test_reset_fault_raises_a_transport_error(fake: FakeLogflare, client: httpx.Client) -> None:
    fake.fail_next(Fault(0, reset=True))
    with pytest.raises(httpx.TransportError):
        post(client, fake, [event()])
    assert fake.requests[-1].status == 0
    assert post(client, fake, [event()]).status_code == 200  # the client recovers


def test_406_partial_ingest_keeps_the_events(fake: FakeLogflare, client: httpx.Client) -> None:
    fake.fail_next(Fault(406, {"message": ["Type error!"]}, ingest_valid=True))
    response = post(client, fake, [event(message="kept")])
    assert response.status_code == 406
    assert response.json() == {"message": ["Type error!"]}
    assert [e["event_message"] for e in fake.events] == ["kept"]


def test_delay_fault_makes_the_client_time_out(fake: FakeLogflare) -> None:
    fake.fail_next(Fault(200, delay=0.5, ingest_valid=True))
    with (
        httpx.Client(base_url=fake.url, timeout=0.1) as impatient,
        pytest.raises(httpx.ReadTimeout),
    ):
        post(impatient, fake, [event()])
    fake.wait_for_events(1, timeout=5)  # the slow answer still ingested, as Logflare would


def test_drip_head_sends_the_head_a_byte_at_a_time(fake: FakeLogflare) -> None:
    fake.fail_next(Fault.drip_head(seconds_per_byte=0.25))
    request = b"POST /api/logs HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    port = int(fake.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as peer:
        peer.sendall(request)
        chunks = [peer.recv(1024) for _ in range(4)]  # each recv returns what has arrived
    assert b"".join(chunks) == b"HTTP"
    assert [len(chunk) for chunk in chunks] == [1] * 4  # really one byte, then a pause
    assert fake.requests[0].status == 503 and fake.events == []


def test_drip_head_completes_into_a_whole_answer(fake: FakeLogflare) -> None:
    fake.fail_next(Fault.drip_head(seconds_per_byte=0.001, status=500))
    with httpx.Client(base_url=fake.url, timeout=0.5) as patient:  # each read gets a byte
        response = post(patient, fake, [event()])
    assert response.status_code == 500 and response.json() == {"error": "Internal Server Error"}
    assert fake.events == []


def test_a_text_body_is_sent_as_an_html_page(fake: FakeLogflare, client: httpx.Client) -> None:
    fake.fail_next(Fault(502, "<html><h1>502 Bad Gateway</h1></html>"))
    response = post(client, fake, [event()])
    assert response.status_code == 502 and response.headers["content-type"].startswith("text/html")
    assert response.text == "<html><h1>502 Bad Gateway</h1></html>"


def test_redirect_fault_names_where(fake: FakeLogflare, client: httpx.Client) -> None:
    fake.fail_next(Fault.redirect("https://logflare.app/login", 301))
    response = post(client, fake, [event()])
    assert (
        response.status_code == 301 and response.headers["location"] == "https://logflare.app/login"
    )
    assert fake.events == []


# --- waiting and the other doubles ---------------------------------------------------------------


def test_wait_for_events_blocks_until_they_arrive(fake: FakeLogflare) -> None:
    def send() -> None:
        with httpx.Client(base_url=fake.url, timeout=5.0) as other:
            post(other, fake, [event(), event()])

    sender = threading.Thread(target=send)
    sender.start()
    assert len(fake.wait_for_events(2, timeout=5)) == 2
    sender.join()


def test_wait_for_events_times_out_with_a_clear_message(fake: FakeLogflare) -> None:
    with pytest.raises(AssertionError, match="wanted 1 events, got 0"):
        fake.wait_for_events(1, timeout=0.05)


def test_shutdown_is_idempotent() -> None:
    server = FakeLogflare().start()
    assert server.url.startswith("http://127.0.0.1:")
    uuid.UUID(server.source_id)
    server.shutdown()
    server.shutdown()


def test_fake_clock() -> None:
    clock = FakeClock()
    assert clock.now_ns() == NOW_NS
    clock.advance(1.5)
    assert clock.now_ns() == NOW_NS + 1_500_000_000
    clock.set(42)
    assert clock.now_ns() == 42


def test_recording_exporter_scripts_outcomes() -> None:
    exporter = RecordingExporter()
    retry = ExportOutcome(OutcomeKind.RETRY, status=503)
    exporter.script(retry)
    assert exporter.export(['{"n": 1}']) == retry
    assert exporter.export(['{"n":2}']).ok
    assert exporter.export(['{"n":3}']) == ExportOutcome(OutcomeKind.OK, status=200)
    assert exporter.calls == [[{"n": 1}], [{"n": 2}], [{"n": 3}]]
    assert exporter.events == [{"n": 2}, {"n": 3}]
