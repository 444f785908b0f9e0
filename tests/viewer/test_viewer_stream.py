"""The viewer's websocket stream against a real SQLite store: hello, backfill, resume, live
entries, notices and status, heartbeats, and the ways a socket is refused or closed."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import websocket

from gateway.model import RecentEntry
from tests.viewer_rig import (
    NS,
    RECV_SECONDS,
    T0,
    Rig,
    add,
    bodies,
    close_code,
    connect,
    ids,
    make_entry,
    open_stream,
    recv,
)
from viewer.feed import LiveFeed
from viewer.session import RESUME_LIMIT


def test_hello_then_backfill_of_unexpired_entries(rig: Rig) -> None:
    store, clock, serve = rig.store, rig.clock, rig.serve
    add(store, clock, make_entry("expired"), ttl=-1)
    add(
        store,
        clock,
        make_entry(
            "Error: Failed to connect to db:5432",
            count=100,
            severity="ERROR",
            severity_number=17,
            attributes={"db": {"port": 5432}},
        ),
        make_entry("started", service="api"),
    )
    server = serve()
    ws = connect(server)

    hello = recv(ws)["hello"]
    assert hello == {"ttlSeconds": 3600, "sampling": "DEBUG: keep 1 in 10", "backfillLimit": 300}
    ws.send(json.dumps({"after": 0}))
    message = recv(ws)
    batch = message["entries"]
    assert batch["backfill"] is True
    first, second = batch["entries"]
    assert first["body"] == "Error: Failed to connect to db:5432"
    assert (first["count"], first["severity"], first["severityNumber"]) == ("100", "ERROR", 17)
    assert first["attributes"] == {"db": {"port": 5432}}
    assert (second["body"], second["service"], second["count"]) == ("started", "api", "1")
    assert message["cursor"] == second["id"]
    ws.close()


def test_a_silent_client_gets_the_backfill(rig: Rig) -> None:
    store, clock, serve = rig.store, rig.clock, rig.serve
    add(store, clock, make_entry("hi"))
    ws = connect(serve(subscribe_wait_seconds=0.05))
    assert "hello" in recv(ws)
    message = recv(ws)
    assert message["entries"]["backfill"] is True
    assert [e["body"] for e in message["entries"]["entries"]] == ["hi"]
    ws.close()


def test_backfill_is_limited_to_the_newest(rig: Rig) -> None:
    store, clock, serve = rig.store, rig.clock, rig.serve
    add(store, clock, *(make_entry(f"m{i}") for i in range(10)))
    ws, first = open_stream(serve(backfill=3))
    assert [e["body"] for e in first["entries"]["entries"]] == ["m7", "m8", "m9"]
    ws.close()


def test_live_entry_arrives_after_it_is_stored(rig: Rig) -> None:
    store, clock, feed, serve = rig.store, rig.clock, rig.feed, rig.serve
    ws, first = open_stream(serve())
    assert ids(first) == []

    add(store, clock, make_entry("Error: Failed to connect to db:5432", count=100))
    feed.poll_once(clock.now)
    message = recv(ws)

    batch = message["entries"]
    assert "backfill" not in batch  # false is the proto3 default, so omitted
    assert [(e["body"], e["count"]) for e in batch["entries"]] == [
        ("Error: Failed to connect to db:5432", "100")
    ]
    assert message["cursor"] == batch["entries"][0]["id"]
    ws.close()


def test_resume_after_cursor_sends_no_duplicates(rig: Rig) -> None:
    store, clock, feed, serve = rig.store, rig.clock, rig.feed, rig.serve
    server = serve()
    add(store, clock, *(make_entry(f"m{i}") for i in range(1, 4)))
    ws, first = open_stream(server)
    assert ids(first) == [1, 2, 3]
    cursor = first["cursor"]
    ws.close()

    add(store, clock, make_entry("m4"), make_entry("m5"))
    ws, catch_up = open_stream(server, after=cursor)
    assert "backfill" not in catch_up["entries"]
    # The feed delivers 1..5 too (its cursor predates them): the socket must drop them.
    feed.poll_once(clock.now)
    add(store, clock, make_entry("m6"))
    feed.poll_once(clock.now)
    live = recv(ws)

    assert ids(catch_up) + ids(live) == [4, 5, 6]
    assert live["cursor"] == "6"
    ws.close()


def test_resume_with_nothing_new_keeps_the_cursor(rig: Rig) -> None:
    store, clock, serve = rig.store, rig.clock, rig.serve
    add(store, clock, make_entry("m1"), make_entry("m2"))
    ws, message = open_stream(serve(), after=2)
    assert ids(message) == []
    assert message["cursor"] == "2"
    ws.close()


def test_expired_entries_are_never_sent_live(rig: Rig) -> None:
    store, clock, feed, serve = rig.store, rig.clock, rig.feed, rig.serve
    ws, _ = open_stream(serve())
    add(store, clock, make_entry("already expired"), ttl=0)
    add(store, clock, make_entry("fresh"))
    feed.poll_once(clock.now)
    assert [e["body"] for e in recv(ws)["entries"]["entries"]] == ["fresh"]
    ws.close()


def test_heartbeat_when_idle(rig: Rig) -> None:
    ws, _ = open_stream(rig.serve(heartbeat_seconds=0.1))
    message = recv(ws)
    assert message["heartbeat"]["serverTime"] == "2023-11-14T22:13:20Z"
    ws.close()


def test_cross_origin_handshake_is_rejected(rig: Rig) -> None:
    serve = rig.serve
    server = serve()
    for origin in ("http://evil.example", f"http://127.0.0.1:{server.port + 1}"):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            connect(server, origin=origin)
        assert refused.value.status_code == 403
    ws = connect(server, origin=server.url)  # the page's own origin is fine
    assert "hello" in recv(ws)
    ws.close()


def test_oversized_frame_closes_the_socket(rig: Rig) -> None:
    serve = rig.serve
    ws = connect(serve())
    recv(ws)
    ws.send("x" * 5000)
    assert close_code(ws) == 1009


@pytest.mark.parametrize(
    "frame_text", ["not json", '{"after": -1}', '{"after": "18446744073709551615"}']
)
def test_garbage_subscribe_closes_the_socket(rig: Rig, frame_text: str) -> None:
    serve = rig.serve
    ws = connect(serve())
    recv(ws)
    ws.send(frame_text)
    assert close_code(ws) == 1008


def test_a_slow_client_is_told_how_many_entries_it_missed(rig: Rig) -> None:
    small = LiveFeed(rig.store, rig.clock, queue_capacity=2)
    try:
        ws, _ = open_stream(rig.serve(feed=small))
        rig.add(*(make_entry(f"m{i}") for i in range(5)))
        small.poll_once(rig.clock.now)  # five entries into a buffer of two: three are lost

        notice = recv(ws)
        assert notice["notice"]["kind"] == "MISSED"
        assert notice["notice"]["missed"] == "3"
        assert "3 entries were not sent" in notice["notice"]["text"]
        assert bodies(recv(ws)) == ["m3", "m4"]  # then the stream goes on with the newest
    finally:
        small.shutdown()


def test_a_cursor_the_table_does_not_know_gets_a_fresh_backfill_and_a_notice(rig: Rig) -> None:
    rig.add(make_entry("m1"), make_entry("m2"))
    ws = connect(rig.serve())
    assert "hello" in recv(ws)
    ws.send(json.dumps({"after": "999"}))  # from before the database was reset
    notice = recv(ws)["notice"]
    assert notice["kind"] == "CURSOR_EXPIRED"
    assert "newest entries instead" in notice["text"]
    backfill = recv(ws)
    assert backfill["entries"]["backfill"] is True
    assert bodies(backfill) == ["m1", "m2"]
    ws.close()


def test_a_page_away_too_long_gets_the_newest_instead_of_the_oldest_missed(rig: Rig) -> None:
    rig.add(make_entry("seen"))
    rig.add(*(make_entry(f"m{i}") for i in range(RESUME_LIMIT + 1)))
    ws = connect(rig.serve(backfill=5))
    assert "hello" in recv(ws)
    ws.send(json.dumps({"after": "1"}))
    assert recv(ws)["notice"]["kind"] == "CURSOR_EXPIRED"
    newest = [f"m{i}" for i in range(RESUME_LIMIT - 4, RESUME_LIMIT + 1)]
    assert bodies(recv(ws)) == newest
    ws.close()


def test_status_on_connect_then_whenever_it_changes(rig: Rig) -> None:
    rig.add(make_entry("a", service="checkout"), make_entry("b", service="api"))
    rig.add(make_entry("gone", service="old"), ttl=-1)
    rig.store.record_export_result("logflare", T0 - NS, None)
    ws, _ = open_stream(rig.serve(exporter_enabled=True))
    status = recv(ws, skip=())["status"]
    assert status["windowEntries"] == "2"
    assert status["services"] == ["api", "checkout"]
    assert status["exporter"]["enabled"] is True
    assert status["exporter"]["lastSuccess"] == "2023-11-14T22:13:19Z"
    assert "lastError" not in status["exporter"]

    rig.store.record_export_result("logflare", T0, "HTTP 503: Service Unavailable")
    rig.add(make_entry("c", service="billing"))
    rig.feed.poll_once(rig.clock.now)
    rig.feed.poll_status(rig.clock.now)
    assert bodies(recv(ws, skip=())) == ["c"]
    status = recv(ws, skip=())["status"]
    assert status["windowEntries"] == "3"
    assert status["services"] == ["api", "billing", "checkout"]
    assert status["exporter"]["lastError"] == "2023-11-14T22:13:20Z"
    assert status["exporter"]["lastErrorText"] == "HTTP 503: Service Unavailable"
    assert status["exporter"]["lastSuccess"] == "2023-11-14T22:13:19Z"
    ws.close()


def test_new_entries_bring_a_fresh_status_without_waiting_for_the_status_interval(
    rig: Rig,
) -> None:
    # A status interval of an hour: only the read after news can tell the page.
    feed = LiveFeed(rig.store, rig.clock, poll_interval=0.05, status_interval=3600.0,
                    news_status_interval=0.0)  # fmt: skip
    feed.start()
    try:
        ws, _ = open_stream(rig.serve(feed=feed))
        rig.add(make_entry("a"), make_entry("b"))
        seen_entries, window = [], "0"
        while window != "2":  # the socket's timeout ends a wait that would never succeed
            message = recv(ws, skip=())
            seen_entries += bodies(message) if "entries" in message else []
            window = message.get("status", {}).get("windowEntries", window)
        assert seen_entries == ["a", "b"]  # the rows came first, the figure right after
        ws.close()
    finally:
        feed.shutdown()


def test_an_unchanged_status_is_not_sent_again(rig: Rig) -> None:
    ws, _ = open_stream(rig.serve(heartbeat_seconds=0.2))
    assert "status" in recv(ws, skip=())
    rig.feed.poll_status(rig.clock.now)  # nothing changed
    assert "heartbeat" in recv(ws, skip=())
    ws.close()


def test_feed_shutdown_ends_open_streams(rig: Rig) -> None:
    feed, serve = rig.feed, rig.serve
    ws, _ = open_stream(serve())
    feed.shutdown()
    assert close_code(ws) == 1001


def test_server_shutdown_is_idempotent(rig: Rig) -> None:
    serve = rig.serve
    server = serve()
    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}"
    server.shutdown()
    server.shutdown()


def test_a_long_entry_is_shortened_in_the_stream_and_served_whole_on_request(rig: Rig) -> None:
    shortening = LiveFeed(rig.store, rig.clock, max_entry_chars=100)
    try:
        server = rig.serve(feed=shortening)
        rig.add(make_entry("b" * 500, attributes={"big": "v" * 200}), make_entry("short"))
        ws, first = open_stream(server)
        ws.close()
        cut, whole = first["entries"]["entries"]
        assert cut["body"] == "b" * 100 and cut["shortened"] is True
        assert cut["bodyLength"] == "500" and cut["attributesElided"] is True
        assert "attributes" not in cut
        assert "shortened" not in whole and whole["body"] == "short"
        response = httpx.get(f"{server.url}/logs/entries/{cut['id']}", timeout=RECV_SECONDS)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        entry = response.json()
        assert entry["body"] == "b" * 500 and entry["attributes"] == {"big": "v" * 200}
        assert "shortened" not in entry
        for missing in ("999", str(2**64)):
            assert httpx.get(f"{server.url}/logs/entries/{missing}").status_code == 404
    finally:
        shortening.shutdown()


def test_a_page_past_its_byte_bound_is_dropped_and_resumes_from_its_cursor(rig: Rig) -> None:
    tight = LiveFeed(rig.store, rig.clock, max_buffer_bytes=200)
    try:
        server = rig.serve(feed=tight)
        ws, first = open_stream(server)
        rig.add(*(make_entry(f"m{i}") for i in range(3)))
        tight.poll_once(rig.clock.now)  # three entries, far past 200 bytes: it fell behind
        notice = recv(ws)["notice"]
        assert notice["kind"] == "FELL_BEHIND"
        assert "resumes where it was" in notice["text"]
        assert close_code(ws) == 1013
        ws, catch_up = open_stream(server, after=first.get("cursor", "0"))
        assert bodies(catch_up) == ["m0", "m1", "m2"]  # nothing lost
        ws.close()
    finally:
        tight.shutdown()


def test_an_unfiltered_backfill_comes_from_the_feed_without_a_read(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    keeping = LiveFeed(rig.store, rig.clock, keep_newest=300)
    try:
        rig.add(*(make_entry(f"m{i}") for i in range(5)))
        server = rig.serve(feed=keeping, backfill=3)
        ws, _ = open_stream(server)  # the first page: the feed reads the newest entries once
        reads: list[int] = []
        real = rig.store.recent_newest

        def counting(*args: Any, **kwargs: Any) -> list[RecentEntry]:
            reads.append(1)
            return real(*args, **kwargs)

        monkeypatch.setattr(rig.store, "recent_newest", counting)
        rig.add(make_entry("m5"))
        keeping.poll_once(rig.clock.now)
        again, first = open_stream(server)
        again.close()
        ws.close()
        assert bodies(first) == ["m3", "m4", "m5"]
        assert reads == []
    finally:
        keeping.shutdown()


def test_the_header_speaks_of_a_failing_exporter_first_and_names_it() -> None:
    from gateway.model import ExportHealth
    from viewer.stream import headline

    healthy = ExportHealth(last_success=50, last_error=10, last_error_text="old")
    failing = ExportHealth(last_success=20, last_error=40, last_error_text="gRPC UNAVAILABLE")
    assert headline({}) == ExportHealth()
    assert headline({"logflare": healthy}) == healthy  # one exporter: no name needed
    both = headline({"logflare": healthy, "otlp": failing})
    assert (both.last_success, both.last_error) == (20, 40)
    assert both.last_error_text == "otlp: gRPC UNAVAILABLE"
    stale = ExportHealth(last_success=5)
    assert headline({"logflare": healthy, "otlp": stale}) == stale  # all well: the oldest
