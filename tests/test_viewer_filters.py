"""Server-side filters: a filtered subscription never receives what it would hide."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket

from gateway.model import Entry
from gateway.store import Store
from gateway.testing import FakeClock
from tests.live_viewer import running_viewer, stream_url
from tests.test_viewer import close_code

T0 = 1_767_225_600_000_000_000
HOUR = 3600 * 10**9


@pytest.fixture
def viewer(tmp_path: Path) -> Iterator[tuple[Store, str]]:
    with running_viewer(tmp_path, FakeClock(T0), poll_interval=0.05) as (server, store):
        yield store, stream_url(server)


def add(store: Store, body: str, band: str, service: str = "checkout") -> None:
    number = {"INFO": 9, "WARN": 13, "ERROR": 17}[band]
    store.add_recent([(Entry(body, number, band, service, 1, T0, T0), T0 + HOUR)])


def subscribe(url: str, **fields: str) -> websocket.WebSocket:
    socket = websocket.create_connection(url, timeout=10)
    socket.send(json.dumps({"after": "0", **fields}))
    assert "hello" in json.loads(socket.recv())
    return socket


def bodies(frame: dict[str, Any]) -> list[str]:
    return [entry["body"] for entry in frame.get("entries", {}).get("entries", [])]


def test_backfill_and_live_entries_are_filtered_on_the_server(
    viewer: tuple[Store, str],
) -> None:
    store, url = viewer
    add(store, "disk failed", "ERROR")
    add(store, "disk fine", "INFO")
    add(store, "disk failed", "ERROR", service="search")
    socket = subscribe(url, minSeverity="WARN", service="checkout", text="FAIL")
    backfill = json.loads(socket.recv())
    assert bodies(backfill) == ["disk failed"] and backfill["cursor"] == "3"
    add(store, "hidden", "INFO")
    add(store, "payment failed", "WARN")
    live = json.loads(socket.recv())
    assert bodies(live) == ["payment failed"]
    assert live["cursor"] == "5"  # past the hidden entry too
    socket.close()


def test_an_unknown_severity_filter_is_refused(viewer: tuple[Store, str]) -> None:
    _, url = viewer
    socket = subscribe(url, minSeverity="LOUD")
    assert close_code(socket) == 1008


def test_past_the_connection_cap_a_page_is_told_why(tmp_path: Path) -> None:
    with running_viewer(tmp_path, FakeClock(T0), max_connections=2) as (server, _):
        url = stream_url(server)
        first, second = subscribe(url), subscribe(url)
        third = websocket.create_connection(url, timeout=10)
        assert close_code(third) == 1013
        first.close()
        second.close()
