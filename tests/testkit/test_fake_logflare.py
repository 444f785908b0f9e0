"""The fake Logflare must hold to the contract in logflare-ingest.md, over real HTTP."""

from __future__ import annotations

import gzip
import json
import socket
import uuid
import zlib
from typing import Any

import httpx
import pytest

from testkit.clock import FakeClock
from testkit.logflare import FakeLogflare
from tests.logflare_fixtures import KEY, NOW_US, event, post

# --- the happy path ----------------------------------------------------------------------------


def test_gzip_batch_is_stored_with_microsecond_timestamps(
    fake: FakeLogflare, client: httpx.Client
) -> None:
    batch = [event(NOW_US + 1, "a", level="info"), event(NOW_US + 2, "b", level="error")]
    response = post(client, fake, {"batch": batch})

    assert response.status_code == 200
    assert response.json() == {"message": "Logged!"}
    for name in ("user_limit", "user_remaining", "source_limit", "source_remaining"):
        assert f"x-rate-limit-{name}" in response.headers
    assert response.headers["x-rate-limit-source_remaining"] == "1498"
    assert fake.events == batch
    (request,) = fake.requests
    assert (request.status, request.path, request.event_count, request.gzip) == (
        200,
        "/api/logs",
        2,
        True,
    )
    assert request.body_size == len(gzip.compress(json.dumps({"batch": batch}).encode()))
    assert fake.violations == []


def test_bodies_are_kept_decoded_only_when_asked(fake: FakeLogflare, client: httpx.Client) -> None:
    raw = b'{"batch": [ ' + json.dumps(event()).encode() + b" ]}"
    keeping = FakeLogflare(api_key=KEY, keep_bodies=True).start()
    with keeping, httpx.Client(base_url=keeping.url, timeout=5.0) as other:
        assert post(other, keeping, raw=raw).status_code == 200  # gzipped
    assert post(client, fake, raw=raw).status_code == 200
    assert keeping.requests[0].gzip and keeping.requests[0].body == raw  # as Logflare reads it
    assert fake.requests[0].body is None


@pytest.mark.parametrize("path", ["/api/logs", "/logs", "/api/events"])
def test_all_ingest_paths_work(fake: FakeLogflare, client: httpx.Client, path: str) -> None:
    assert post(client, fake, [event()], path=path).status_code == 200


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        ({"authorization": f"Bearer {KEY}", "x-api-key": ""}, None),
        ({"x-api-key": KEY}, None),
        ({"x-api-key": ""}, {"api_key": KEY}),
    ],
    ids=["bearer", "x-api-key", "query"],
)
def test_token_lookup_places(
    fake: FakeLogflare,
    client: httpx.Client,
    headers: dict[str, str],
    params: dict[str, str] | None,
) -> None:
    query = {"source": fake.source_id, **(params or {})}
    assert post(client, fake, [event()], headers=headers, params=query).status_code == 200


def test_bearer_wins_over_x_api_key(fake: FakeLogflare, client: httpx.Client) -> None:
    headers = {"authorization": "Bearer wrong", "x-api-key": KEY}
    assert post(client, fake, [event()], headers=headers).status_code == 401


@pytest.mark.parametrize("how", ["source_name", "x-source", "body"])
def test_other_ways_to_name_the_source(fake: FakeLogflare, client: httpx.Client, how: str) -> None:
    payload: Any = {"batch": [event()]}
    params: dict[str, str] = {}
    headers: dict[str, str] = {}
    if how == "source_name":
        params["source_name"] = "logsieve-test"
    elif how == "x-source":
        headers["x-source"] = fake.source_id
    else:
        payload["source"] = fake.source_id
    response = post(client, fake, payload, headers=headers, params=params)
    assert response.status_code == 200
    assert len(fake.events) == 1


# --- refusals, in Logflare's order -------------------------------------------------------------


def test_wrong_method_or_path_is_404(fake: FakeLogflare, client: httpx.Client) -> None:
    assert post(client, fake, [event()], path="/api/nope").status_code == 404
    assert client.get("/api/logs", headers={"x-api-key": KEY}).status_code == 404


@pytest.mark.parametrize("token", [None, "not-the-key"], ids=["missing", "unknown"])
def test_bad_token_is_401_before_the_body_is_read(
    fake: FakeLogflare, client: httpx.Client, token: str | None
) -> None:
    response = post(client, fake, raw=b"not even json", headers={"x-api-key": token or ""})
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}
    assert fake.requests[-1].body_size is None
    assert fake.events == []


def test_401_arrives_while_the_body_is_still_unsent(fake: FakeLogflare) -> None:
    """Proof the fake decides on headers alone: the body is only sent after the answer."""
    port = int(fake.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        head = "POST /api/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        sock.sendall(f"{head}Content-Length: 11\r\n\r\n".encode())
        answer = b""
        while b"Unauthorized" not in answer:
            chunk = sock.recv(4096)
            assert chunk, f"connection closed early: {answer!r}"
            answer += chunk
        sock.sendall(b'{"batch":[]}'[:11])
    assert answer.startswith(b"HTTP/1.1 401")


@pytest.mark.parametrize(
    "params",
    [
        {"source": str(uuid.uuid4())},
        {"source": "not-a-uuid"},
        {"source_name": "no-such-source"},
        {},
    ],
    ids=["unknown-uuid", "non-uuid", "unknown-name", "missing"],
)
def test_bad_source_is_401(
    fake: FakeLogflare, client: httpx.Client, params: dict[str, str]
) -> None:
    response = post(client, fake, {"batch": [event()]}, params=params)
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}
    assert fake.events == []


def test_unknown_source_in_body_is_401(fake: FakeLogflare, client: httpx.Client) -> None:
    payload = {"batch": [event()], "source": str(uuid.uuid4())}
    assert post(client, fake, payload, params={}).status_code == 401


def test_brotli_encoding_is_400(fake: FakeLogflare, client: httpx.Client) -> None:
    response = post(client, fake, raw=b"\x0b\x02\x80[]\x03", encoding="br")
    assert response.status_code == 400
    assert fake.events == []


def test_deflate_encoding_is_accepted(fake: FakeLogflare, client: httpx.Client) -> None:
    raw = zlib.compress(json.dumps([event()]).encode())
    assert post(client, fake, raw=raw, encoding="deflate").status_code == 200
    assert len(fake.events) == 1


def test_corrupt_gzip_is_400(fake: FakeLogflare, client: httpx.Client) -> None:
    assert post(client, fake, raw=b"\x1f\x8b garbage", encoding="").status_code == 400


@pytest.mark.parametrize(
    ("ctype", "status"),
    [("text/plain", 415), ("application/x-ndjson", 415), ("application/vnd.logs+json", 200)],
)
def test_content_type_must_be_json(
    fake: FakeLogflare, client: httpx.Client, ctype: str, status: int
) -> None:
    response = post(client, fake, [event()], headers={"content-type": ctype})
    assert response.status_code == status


def test_missing_content_type_is_a_violation(fake: FakeLogflare, client: httpx.Client) -> None:
    body = gzip.compress(json.dumps([event()]).encode())
    headers = {"x-api-key": KEY, "content-encoding": "gzip"}
    response = client.post(
        "/api/logs", content=body, headers=headers, params={"source": fake.source_id}
    )
    assert response.status_code == 400
    assert any("Content-Type" in violation for violation in fake.violations)
    assert fake.events == []


@pytest.mark.parametrize(
    ("accept", "status"),
    [
        ("text/plain", 406),
        ("*/*", 200),
        ("application/*", 200),
        ("text/html, application/json", 200),
    ],
)
def test_accept_must_allow_json(
    fake: FakeLogflare, client: httpx.Client, accept: str, status: int
) -> None:
    response = post(client, fake, [event()], headers={"accept": accept})
    assert response.status_code == status
    assert len(fake.events) == (1 if status == 200 else 0)


def test_body_over_12mb_after_decompression_is_413(
    fake: FakeLogflare, client: httpx.Client
) -> None:
    def padded(size: int) -> bytes:
        head = b'{"batch":[],"pad":"'
        return head + b"a" * (size - len(head) - 2) + b'"}'

    assert post(client, fake, raw=padded(12_000_000)).status_code == 200
    response = post(client, fake, raw=padded(12_000_001))
    assert response.status_code == 413
    assert fake.requests[-1].body_size is not None
    assert fake.requests[-1].body_size < 100_000  # it is the decoded size that counts


def test_bad_json_is_400(fake: FakeLogflare, client: httpx.Client) -> None:
    assert post(client, fake, raw=b'{"batch": [').status_code == 400
    assert fake.events == []


@pytest.mark.parametrize("payload", [[1, 2], {"batch": ["text"]}, {"batch": {"a": 1}}, "x"])
def test_non_object_items_are_a_violation(
    fake: FakeLogflare, client: httpx.Client, payload: Any
) -> None:
    assert post(client, fake, payload).status_code == 400
    assert len(fake.violations) == 1
    assert fake.events == []


# --- normalisation -----------------------------------------------------------------------------


def test_future_events_are_dropped_but_answered_200(
    fake: FakeLogflare, client: httpx.Client, clock: FakeClock
) -> None:
    hour_us = 3_600_000_000
    batch = [event(NOW_US + hour_us, "edge"), event(NOW_US + hour_us + 1, "too far")]
    response = post(client, fake, {"batch": batch})
    assert response.status_code == 200
    assert [e["event_message"] for e in fake.events] == ["edge"]
    assert fake.requests[-1].event_count == 1

    clock.advance(60)  # the same event is acceptable once the clock has moved on
    assert post(client, fake, {"batch": batch[1:]}).status_code == 200
    assert len(fake.events) == 2


def test_single_object_loses_timestamp_and_id(
    fake: FakeLogflare, client: httpx.Client, clock: FakeClock
) -> None:
    clock.advance(5)
    payload = {"event_message": "solo", "timestamp": NOW_US - 10**9, "id": "x", "level": "info"}
    assert post(client, fake, payload).status_code == 200
    (stored,) = fake.events
    assert stored == {
        "event_message": "solo",
        "timestamp": NOW_US + 5_000_000,
        "metadata": {},
        "level": "info",
    }
    assert any("single-object" in violation for violation in fake.violations)


def test_message_is_used_when_event_message_is_absent(
    fake: FakeLogflare, client: httpx.Client
) -> None:
    post(client, fake, [{"message": "old style", "timestamp": NOW_US}])
    assert fake.events[0]["event_message"] == "old style"


def test_empty_values_are_deep_dropped(fake: FakeLogflare, client: httpx.Client) -> None:
    metadata = {
        "none": None,
        "blank": "",
        "obj": {},
        "arr": [],
        "nested": {"gone": None, "emptied": {"x": ""}, "kept": 0},
        "list": [None, "", 1, {}, {"y": None}],
        "zero": 0,
        "false": False,
    }
    post(client, fake, [{"event_message": "m", "timestamp": NOW_US, "metadata": metadata, "e": ""}])
    (stored,) = fake.events
    assert stored == {
        "event_message": "m",
        "timestamp": NOW_US,
        "metadata": {"nested": {"kept": 0}, "list": [1], "zero": 0, "false": False},
    }


def test_keys_are_rewritten_to_bigquery_column_names(
    fake: FakeLogflare, client: httpx.Client
) -> None:
    metadata = {"service.name": "a", "top-level": "b", "1st": "c", "ok_key": "d"}
    post(client, fake, [event(**metadata)])
    assert fake.events[0]["metadata"] == {
        "_service_name": "a",
        "_top_level": "b",
        "_1st": "c",
        "ok_key": "d",
    }


@pytest.mark.parametrize(
    ("sent", "stored_us"),
    [
        (1_767_225_600, 1_767_225_600_000_000),  # 10 digits: seconds
        (1_767_225_600_123, 1_767_225_600_123_000),  # 13 digits: milliseconds
        (1_767_225_600_123_456, 1_767_225_600_123_456),  # 16 digits: microseconds
        (1_767_225_600_123_456_789, 1_767_225_600_123_456),  # 19 digits: nanoseconds
        (176_722_560_012_345, 176_722_560_012_345),  # 15 digits: taken as microseconds
        (1_767_225_600_123.6, 1_767_225_600_124_000),  # a float is rounded first
    ],
)
def test_timestamp_digit_count_rule(
    fake: FakeLogflare, client: httpx.Client, sent: float, stored_us: int
) -> None:
    assert post(client, fake, [event(sent)]).status_code == 200
    assert fake.events[0]["timestamp"] == stored_us
    assert fake.violations == []


@pytest.mark.parametrize("item", [event(0), {"event_message": "no time"}, event("yesterday")])
def test_zero_missing_or_bad_timestamp_is_a_violation(
    fake: FakeLogflare, client: httpx.Client, item: dict[str, Any]
) -> None:
    assert post(client, fake, [item]).status_code == 200  # Logflare accepts it silently
    assert len(fake.violations) == 1
    assert "timestamp" in fake.violations[0]


def test_api_key_never_appears_in_recorded_requests(
    fake: FakeLogflare, client: httpx.Client
) -> None:
    post(client, fake, [event()], headers={"authorization": f"Bearer {KEY}"})
    post(client, fake, [event()], headers={"x-api-key": KEY, "x-debug": f"key={KEY}"})
    post(client, fake, [event()], headers={"x-api-key": ""}, params={"api_key": KEY})
    post(client, fake, [event()], headers={"x-api-key": "wrong-but-secret"})
    assert [r.status for r in fake.requests] == [200, 200, 401, 401]
    recorded = repr(fake.requests)
    assert KEY not in recorded
    assert "wrong-but-secret" not in recorded
    assert fake.requests[0].headers["authorization"] == "***"
    assert fake.requests[1].headers["x-debug"] == "key=***"
