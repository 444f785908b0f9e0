"""Server-side filters: a filtered subscription never receives what it would hide."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import websocket

from gateway.model import Entry
from gateway.store import Store
from testkit.clock import FakeClock
from tests.live_viewer import running_viewer, stream_url
from tests.viewer_rig import Rig, close_code, make_entry, open_stream, recv

T0 = 1_767_225_600_000_000_000
HOUR = 3600 * 10**9


def add(store: Store, body: str, band: str, service: str = "checkout") -> None:
    number = {"INFO": 9, "WARN": 13, "ERROR": 17}[band]
    store.add_recent([(Entry(body, number, band, service, 1, T0, T0), T0 + HOUR)])


def subscribe(url: str, **fields: Any) -> websocket.WebSocket:
    socket = websocket.create_connection(url, timeout=10)
    socket.send(json.dumps({"after": "0", **fields}))
    assert "hello" in recv(socket)
    return socket


def bodies(frame: dict[str, Any]) -> list[str]:
    return [entry["body"] for entry in frame.get("entries", {}).get("entries", [])]


def test_backfill_and_live_entries_are_filtered_on_the_server(
    viewer_stream: tuple[Store, str],
) -> None:
    store, url = viewer_stream
    add(store, "disk failed", "ERROR")
    add(store, "disk fine", "INFO")
    add(store, "disk failed", "ERROR", service="search")
    socket = subscribe(url, minSeverity="WARN", service="checkout", text="FAIL")
    backfill = recv(socket)
    assert bodies(backfill) == ["disk failed"] and backfill["cursor"] == "3"
    add(store, "hidden", "INFO")
    add(store, "payment failed", "WARN")
    live = recv(socket)
    assert bodies(live) == ["payment failed"]
    assert live["cursor"] == "5"  # past the hidden entry too
    socket.close()


def test_an_unknown_severity_filter_is_refused(viewer_stream: tuple[Store, str]) -> None:
    _, url = viewer_stream
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


def test_severity_toggles_keep_only_the_bands_chosen(viewer_stream: tuple[Store, str]) -> None:
    store, url = viewer_stream
    for band in ("INFO", "WARN", "ERROR"):
        add(store, f"a {band.lower()}", band)
    socket = subscribe(url, severities=["INFO", "ERROR"])
    assert bodies(recv(socket)) == ["a info", "a error"]
    socket.close()


def test_a_filtered_backfill_looks_past_the_newest_for_matches(rig: Rig) -> None:
    rig.add(make_entry("the one error", severity="ERROR", severity_number=17))
    rig.add(*(make_entry(f"chatter {i}") for i in range(2500)))
    socket, backfill = open_stream(rig.serve(backfill=10), minSeverity="ERROR")
    assert bodies(backfill) == ["the one error"]
    assert backfill["cursor"] == "2501"  # past every entry looked at, shown or not
    socket.close()
