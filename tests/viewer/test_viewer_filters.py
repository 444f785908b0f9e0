"""Server-side filters: a filtered subscription never receives what it would hide."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import websocket
from logsieve.v1 import stream_pb2

from gateway.model import Entry, LearnedPattern, PatternRef, RecentEntry
from gateway.store import Store
from testkit.clock import FakeClock
from tests.live_viewer import running_viewer, stream_url
from tests.viewer_rig import Rig, close_code, make_entry, open_stream, recv
from viewer.filters import StreamFilter

T0 = 1_767_225_600_000_000_000
HOUR = 3600 * 10**9


PACKETS = PatternRef(0x0123456789ABCDEF, "PacketResponder <NUM> terminating")
LOGINS = PatternRef(0x0123456789ABCDEE, "Invalid user <*> from <IP>")


def add(
    store: Store,
    body: str,
    band: str,
    service: str = "checkout",
    pattern: PatternRef | None = None,
) -> None:
    number = {"INFO": 9, "WARN": 13, "ERROR": 17}[band]
    entry = Entry(body, number, band, service, 1, T0, T0, pattern=pattern)
    store.add_recent([(entry, T0 + HOUR)])


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


def pattern_filter(hex_id: str) -> StreamFilter:
    return StreamFilter.from_subscribe(stream_pb2.Subscribe(pattern=hex_id))


def recent(pattern: PatternRef | None) -> RecentEntry:
    return RecentEntry(1, make_entry("PacketResponder 1 terminating", pattern=pattern), T0)


def test_a_pattern_filter_keeps_only_the_entries_of_that_pattern() -> None:
    only = pattern_filter("0123456789ABCDEF")  # any case: the page may be given either
    assert only.pattern == PACKETS.hex_id and only.active
    assert only.keeps(recent(PACKETS))
    assert not only.keeps(recent(LOGINS))
    assert not only.keeps(recent(None))  # grouped by body: no pattern to match
    assert not pattern_filter("").active
    assert pattern_filter("").keeps(recent(None))


@pytest.mark.parametrize(
    "hex_id",
    ["0123", "0123456789abcdeg", "0x23456789abcdef", "0123456789abcdef0", " 0123456789abcdef"],
)
def test_a_pattern_that_is_no_pattern_id_is_refused(hex_id: str) -> None:
    with pytest.raises(ValueError, match="16 hex digits"):
        pattern_filter(hex_id)


def test_a_pattern_filter_applies_to_the_backfill_and_live_entries(
    viewer_stream: tuple[Store, str],
) -> None:
    store, url = viewer_stream
    add(store, "PacketResponder 1 terminating", "INFO", pattern=PACKETS)
    add(store, "Invalid user admin from 10.0.0.1", "WARN", pattern=LOGINS)
    add(store, "PacketResponder 1 terminating", "INFO")  # the same line grouped by body
    socket = subscribe(url, pattern=PACKETS.hex_id)
    backfill = recv(socket)
    assert bodies(backfill) == ["PacketResponder 1 terminating"] and backfill["cursor"] == "3"
    assert backfill["entries"]["entries"][0]["pattern"]["id"] == PACKETS.hex_id
    add(store, "Invalid user root from 10.0.0.2", "WARN", pattern=LOGINS)
    add(store, "PacketResponder 2 terminating", "INFO", pattern=PACKETS)
    live = recv(socket)
    assert bodies(live) == ["PacketResponder 2 terminating"] and live["cursor"] == "5"
    socket.close()


def test_a_pattern_filter_keeps_the_entries_of_ids_merged_into_it(
    viewer_stream: tuple[Store, str],
) -> None:
    store, url = viewer_stream
    narrow = PatternRef(0x00000000000000AA, "Invalid user admin from <IP>")
    add(store, "Invalid user admin from 10.0.0.1", "WARN", pattern=narrow)  # before the merge
    store.add_patterns(
        [LearnedPattern(narrow.id, narrow.template, T0, T0, 1, "x"),
         LearnedPattern(LOGINS.id, LOGINS.template, T0, T0, 1, "y")],
        {narrow.id: LOGINS.id},
    )  # fmt: skip
    add(store, "Invalid user root from 10.0.0.2", "WARN", pattern=LOGINS)
    for chosen in (narrow, LOGINS):  # a link to either id shows both entries
        socket = subscribe(url, pattern=chosen.hex_id)
        assert bodies(recv(socket)) == [
            "Invalid user admin from 10.0.0.1",
            "Invalid user root from 10.0.0.2",
        ]
        socket.close()


def test_a_subscribe_with_a_bad_pattern_is_refused(viewer_stream: tuple[Store, str]) -> None:
    _, url = viewer_stream
    socket = subscribe(url, pattern="<img src=x>")
    assert close_code(socket) == 1008
