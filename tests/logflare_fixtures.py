"""Fixtures and helpers for the fake Logflare's own tests (a pytest plugin of tests/)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from testkit.clock import FakeClock
from testkit.logflare import FakeLogflare

NOW_NS = 1_767_225_600_000_000_000  # FakeClock's default start
NOW_US = NOW_NS // 1000
KEY = "sekrit-ingest-key-123"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeLogflare]:
    with FakeLogflare(api_key=KEY, clock=clock) as server:
        yield server


@pytest.fixture
def client(fake: FakeLogflare) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.url, timeout=5.0) as c:
        yield c


def post(
    client: httpx.Client,
    fake: FakeLogflare,
    payload: Any = None,
    *,
    raw: bytes | None = None,
    encoding: str | None = "gzip",
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    path: str = "/api/logs",
) -> httpx.Response:
    """Send like logsieve should: gzip JSON, X-API-KEY, source UUID, Accept JSON."""
    body = raw if raw is not None else json.dumps(payload).encode()
    sent = {"x-api-key": KEY, "content-type": "application/json", "accept": "application/json"}
    if encoding == "gzip":
        body = gzip.compress(body)
    if encoding:
        sent["content-encoding"] = encoding
    sent.update(headers or {})
    query = {"source": fake.source_id} if params is None else params
    return client.post(path, content=body, headers=sent, params=query)


def event(ts: Any = NOW_US, message: str = "hello", **metadata: Any) -> dict[str, Any]:
    return {"event_message": message, "timestamp": ts, "metadata": metadata}
