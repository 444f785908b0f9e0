"""What both deploy tests check on a pair of running gateways, whether started from the
image's command line outside a container or as containers of the image: each is ready, a
log sent to one is stored once in the shared PostgreSQL, and the other's live page shows it."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import httpx
import psycopg
import websocket
from sqlalchemy.engine import make_url

from tests.harness import wait_until

ERROR = 17  # kept by every sampling rule of the image's config


@dataclass(frozen=True)
class Endpoints:
    """Where one running gateway answers, as seen from the test."""

    http: str  # OTLP/HTTP receiver, http://host:port
    viewer: str  # http://host:port
    telemetry: str  # http://host:port (/metrics /healthz /readyz)


def ready(gateway: Endpoints) -> bool:
    try:
        return httpx.get(f"{gateway.telemetry}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def send_one_log(gateway: Endpoints) -> str:
    """POST one ERROR record as OTLP/JSON; returns its body, unique to this call."""
    body = f"deploy check {uuid.uuid4()}"
    record = {"severityNumber": ERROR, "severityText": "ERROR", "body": {"stringValue": body}}
    service = {"key": "service.name", "value": {"stringValue": "deploy-test"}}
    payload = {
        "resourceLogs": [
            {"resource": {"attributes": [service]}, "scopeLogs": [{"logRecords": [record]}]}
        ]
    }
    answer = httpx.post(f"{gateway.http}/v1/logs", json=payload, timeout=10)
    assert answer.status_code == 200, answer.text
    return body


def _stored(url: str, body: str) -> tuple[int, int, int]:
    """(entries, their summed count, rows still queued) with this body in the database."""
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, connect_timeout=5) as conn:
        entries = conn.execute(
            "SELECT count(*), coalesce(sum(count), 0) FROM recent_log_entries WHERE body = %s",
            (body,),
        ).fetchone()
        queued = conn.execute("SELECT count(*) FROM log_queue WHERE body = %s", (body,)).fetchone()
    assert entries is not None and queued is not None
    return int(entries[0]), int(entries[1]), int(queued[0])


def stored_once(url: str, body: str, timeout: float = 60) -> None:
    """Wait for one gateway's batch stage to process the record; then it must be one entry
    of count 1, with nothing of it left in the queue."""
    wait_until(lambda: _stored(url, body)[0] > 0, timeout, f"{body!r} processed")
    wait_until(lambda: _stored(url, body)[2] == 0, timeout, f"{body!r} gone from the queue")
    assert _stored(url, body) == (1, 1, 0)


def _page_answers(gateway: Endpoints) -> bool:
    try:
        httpx.get(gateway.viewer + "/logs", timeout=5)
    except httpx.TransportError:
        return False
    return True


def shown_by(gateway: Endpoints, body: str, timeout: float = 60) -> int:
    """How many entries with this body the gateway's live page receives on connect. The
    viewer runs in a child of its own and /readyz does not wait for it (a container's
    published port accepts, then resets, until it listens): wait for the page first."""
    wait_until(lambda: _page_answers(gateway), timeout, f"the live page at {gateway.viewer}")
    stream = gateway.viewer.replace("http://", "ws://") + "/logs/stream"
    socket = websocket.create_connection(stream, timeout=10)
    try:
        socket.send(json.dumps({"after": "0"}))
        frames = [json.loads(socket.recv()) for _ in range(2)]  # hello, then the backfill
    finally:
        socket.close()
    return sum(entry["body"] == body for entry in frames[1]["entries"]["entries"])
