"""The live viewer against a real SQLite store: the feed, the page and the websocket stream."""

from __future__ import annotations

import json
import re
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket

from gateway.model import Entry, RecentEntry
from gateway.store import Store
from viewer.app import CONTENT_SECURITY_POLICY, create_app, human_duration, same_origin
from viewer.feed import LiveFeed, Subscription
from viewer.server import ViewerServer
from viewer.stream import entries, frame, to_proto

NS = 1_000_000_000
T0 = 1_700_000_000 * NS
TTL_NS = 3600 * NS
RECV_SECONDS = 5.0  # deadline for any one message the test waits on


class FakeClock:
    """A settable clock (gateway.testing.FakeClock may not exist yet)."""

    def __init__(self, now: int = T0) -> None:
        self.now = now

    def now_ns(self) -> int:
        return self.now


def make_entry(body: str, **fields: Any) -> Entry:
    values: dict[str, Any] = {
        "severity_number": 9,
        "severity": "INFO",
        "service": "checkout",
        "count": 1,
        "first_seen": T0 - NS,
        "last_seen": T0,
    }
    values.update(fields)
    return Entry(body=body, **values)


def add(store: Store, clock: FakeClock, *entries: Entry, ttl: int = TTL_NS) -> None:
    store.add_recent([(entry, clock.now + ttl) for entry in entries])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store("sqlite:///" + str(tmp_path / "viewer.db"))
    store.create_schema()
    yield store
    store.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def feed(store: Store, clock: FakeClock) -> Iterator[LiveFeed]:
    feed = LiveFeed(store, clock, poll_interval=0.05)
    yield feed
    feed.shutdown()


@pytest.fixture
def serve(store: Store, clock: FakeClock, feed: LiveFeed) -> Iterator[Callable[..., ViewerServer]]:
    """Starts a real ViewerServer on a free port; the test's feed is driven by poll_once."""
    servers: list[ViewerServer] = []

    def start(**options: Any) -> ViewerServer:
        app = create_app(
            store, clock, feed, ttl_seconds=3600, sampling_summary="DEBUG: keep 1 in 10", **options
        )
        server = ViewerServer(app, "127.0.0.1", 0)
        server.start()
        servers.append(server)
        return server

    yield start
    feed.shutdown()  # ends the open sockets' threads
    for server in servers:
        server.shutdown()


def connect(server: ViewerServer, **options: Any) -> websocket.WebSocket:
    url = server.url.replace("http://", "ws://", 1) + "/logs/stream"
    return websocket.create_connection(url, timeout=RECV_SECONDS, **options)


def recv(ws: websocket.WebSocket) -> dict[str, Any]:
    """The next message; the socket timeout is the deadline (WebSocketTimeoutException)."""
    message: dict[str, Any] = json.loads(ws.recv())
    return message


def open_stream(
    server: ViewerServer, after: int | str = 0
) -> tuple[websocket.WebSocket, dict[str, Any]]:
    """Connect, check the Hello, subscribe from `after`; returns the first entries message."""
    ws = connect(server)
    assert "hello" in recv(ws)
    ws.send(json.dumps({"after": str(after)}))
    first = recv(ws)
    assert "entries" in first
    return ws, first


def ids(message: dict[str, Any]) -> list[int]:
    return [int(e["id"]) for e in message["entries"].get("entries", [])]


def close_code(ws: websocket.WebSocket) -> int:
    """Read on until the server's close frame; returns its status code."""
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int(struct.unpack("!H", data[:2])[0])


# -- the page --------------------------------------------------------------------------------


def test_root_redirects_to_the_page(store: Store, clock: FakeClock, feed: LiveFeed) -> None:
    app = create_app(store, clock, feed, ttl_seconds=3600, sampling_summary="")
    response = app.test_client().get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/logs")


def test_page_has_disclaimer_and_strict_headers(
    store: Store, clock: FakeClock, feed: LiveFeed
) -> None:
    app = create_app(store, clock, feed, ttl_seconds=3600, sampling_summary="ERROR: keep all")
    response = app.test_client().get("/logs")
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Live log stream" in html
    assert 'entries expire after\n      <span id="ttl">60 minutes</span>' in html
    assert "Logflare keeps the full history." in html
    assert "ERROR: keep all" in html
    # The CSP allows no inline code, so the page must not rely on any.
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))
    assert "<style" not in html
    assert not re.search(r"\sstyle=|\son[a-z]+=", html)


def test_page_escapes_the_sampling_summary(store: Store, clock: FakeClock, feed: LiveFeed) -> None:
    app = create_app(store, clock, feed, ttl_seconds=60, sampling_summary="<b>x</b>")
    html = app.test_client().get("/logs").get_data(as_text=True)
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "1 minute<" in html


@pytest.mark.parametrize(
    ("path", "kind"), [("/static/logs.js", "javascript"), ("/static/logs.css", "text/css")]
)
def test_static_files_are_served_with_headers(
    store: Store, clock: FakeClock, feed: LiveFeed, path: str, kind: str
) -> None:
    app = create_app(store, clock, feed, ttl_seconds=3600, sampling_summary="")
    response = app.test_client().get(path)
    assert response.status_code == 200
    assert kind in response.headers["Content-Type"]
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    response.close()


def test_page_script_never_uses_inner_html() -> None:
    script = (Path(__file__).parents[1] / "viewer" / "static" / "logs.js").read_text()
    assert "innerHTML" not in script
    assert "insertAdjacentHTML" not in script
    assert "textContent" in script


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(3600, "60 minutes"), (60, "1 minute"), (90, "90 seconds"), (7200, "2 hours")],
)
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


# -- the wire format -------------------------------------------------------------------------


def test_frame_is_proto3_json_with_camel_case_and_string_uint64() -> None:
    entry = make_entry("boom", count=100, attributes={"http": {"method": "GET"}}, trace_id="ab")
    recent = RecentEntry(id=7, entry=entry, expires_at=T0 + TTL_NS)
    message = json.loads(frame(entries(7, [recent], backfill=True)))

    assert message["cursor"] == "7"
    sent = message["entries"]["entries"][0]
    assert sent["id"] == "7"
    assert sent["count"] == "100"
    assert sent["firstSeenUnixNano"] == str(T0 - NS)
    assert sent["expiresAtUnixNano"] == str(T0 + TTL_NS)
    assert sent["severityNumber"] == 9
    assert sent["traceId"] == "ab"
    assert sent["attributes"] == {"http": {"method": "GET"}}
    assert to_proto(recent).attributes["http"]["method"] == "GET"


@pytest.mark.parametrize(
    ("origin", "host", "same"),
    [
        ("http://127.0.0.1:8080", "127.0.0.1:8080", True),
        ("http://logs.example", "logs.example", True),
        ("https://logs.example", "logs.example:443", True),
        ("http://evil.example", "logs.example", False),
        ("http://127.0.0.1:9999", "127.0.0.1:8080", False),
        ("null", "127.0.0.1:8080", False),
        ("http://127.0.0.1:bad", "127.0.0.1:8080", False),
    ],
)
def test_same_origin(origin: str, host: str, same: bool) -> None:
    assert same_origin(origin, host) is same


# -- the feed --------------------------------------------------------------------------------


def test_feed_reads_once_per_poll_however_many_subscribers(
    store: Store, clock: FakeClock, feed: LiveFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    subs = [feed.subscribe() for _ in range(20)]
    calls: list[int] = []
    real = store.recent_after

    def counting(cursor: int, now: int, limit: int) -> list[RecentEntry]:
        calls.append(cursor)
        return real(cursor, now, limit)

    monkeypatch.setattr(store, "recent_after", counting)
    add(store, clock, make_entry("a"), make_entry("b"))

    assert feed.poll_once(clock.now) == 2
    assert len(calls) == 1
    for sub in subs:
        assert [r.entry.body for r in sub.get(timeout=0)] == ["a", "b"]


def test_feed_only_fans_out_what_arrives_after_it_starts(
    store: Store, clock: FakeClock, feed: LiveFeed
) -> None:
    add(store, clock, make_entry("old"))
    sub = feed.subscribe()
    add(store, clock, make_entry("new"))
    feed.poll_once(clock.now)
    assert [r.entry.body for r in sub.get(timeout=0)] == ["new"]
    assert feed.poll_once(clock.now) == 0


def test_feed_never_fans_out_expired_entries(
    store: Store, clock: FakeClock, feed: LiveFeed
) -> None:
    sub = feed.subscribe()
    add(store, clock, make_entry("gone"), ttl=-1)
    add(store, clock, make_entry("live"))
    feed.poll_once(clock.now)
    assert [r.entry.body for r in sub.get(timeout=0)] == ["live"]


def test_subscription_overflow_drops_oldest_and_counts() -> None:
    sub = Subscription(capacity=3)
    recent = [RecentEntry(i, make_entry(str(i)), T0 + TTL_NS) for i in range(1, 6)]
    sub.offer(recent[:2])
    sub.offer(recent[2:])
    assert [r.id for r in sub.get(timeout=0)] == [3, 4, 5]
    assert sub.missed == 2


def test_feed_follows_new_entries_after_the_purge_empties_the_table(
    store: Store, clock: FakeClock, feed: LiveFeed
) -> None:
    sub = feed.subscribe()
    add(store, clock, make_entry("first"), make_entry("second"))
    feed.poll_once(clock.now)
    assert feed.cursor == 2
    clock.now += TTL_NS  # both expire; the purge empties the table
    feed.poll_once(clock.now)
    store.purge_expired(clock.now, 100)
    add(store, clock, make_entry("after the purge"))  # ids are never reused

    feed.poll_once(clock.now)
    got = sub.get(timeout=0)
    assert [r.entry.body for r in got][-1] == "after the purge"
    assert got[-1].id == 3


def test_feed_thread_delivers_and_shuts_down_promptly(store: Store, clock: FakeClock) -> None:
    feed = LiveFeed(store, clock, poll_interval=0.05)
    feed.start()
    try:
        sub = feed.subscribe()
        add(store, clock, make_entry("threaded"))
        got = sub.get(timeout=RECV_SECONDS)
        assert [r.entry.body for r in got] == ["threaded"]
    finally:
        feed.shutdown()
        feed.shutdown()  # idempotent
    assert sub.closed
    assert not any(t.name == "viewer-feed" and t.is_alive() for t in threading.enumerate())


# -- the websocket stream --------------------------------------------------------------------


def test_hello_then_backfill_of_unexpired_entries(
    store: Store, clock: FakeClock, serve: Callable[..., ViewerServer]
) -> None:
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
    assert hello == {"ttlSeconds": 3600, "sampling": "DEBUG: keep 1 in 10"}
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


def test_a_silent_client_gets_the_backfill(
    store: Store, clock: FakeClock, serve: Callable[..., ViewerServer]
) -> None:
    add(store, clock, make_entry("hi"))
    ws = connect(serve(subscribe_wait_seconds=0.05))
    assert "hello" in recv(ws)
    message = recv(ws)
    assert message["entries"]["backfill"] is True
    assert [e["body"] for e in message["entries"]["entries"]] == ["hi"]
    ws.close()


def test_backfill_is_limited_to_the_newest(
    store: Store, clock: FakeClock, serve: Callable[..., ViewerServer]
) -> None:
    add(store, clock, *(make_entry(f"m{i}") for i in range(10)))
    ws, first = open_stream(serve(backfill=3))
    assert [e["body"] for e in first["entries"]["entries"]] == ["m7", "m8", "m9"]
    ws.close()


def test_live_entry_arrives_after_it_is_stored(
    store: Store, clock: FakeClock, feed: LiveFeed, serve: Callable[..., ViewerServer]
) -> None:
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


def test_resume_after_cursor_sends_no_duplicates(
    store: Store, clock: FakeClock, feed: LiveFeed, serve: Callable[..., ViewerServer]
) -> None:
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


def test_resume_with_nothing_new_keeps_the_cursor(
    store: Store, clock: FakeClock, serve: Callable[..., ViewerServer]
) -> None:
    add(store, clock, make_entry("m1"), make_entry("m2"))
    ws, message = open_stream(serve(), after=2)
    assert ids(message) == []
    assert message["cursor"] == "2"
    ws.close()


def test_expired_entries_are_never_sent_live(
    store: Store, clock: FakeClock, feed: LiveFeed, serve: Callable[..., ViewerServer]
) -> None:
    ws, _ = open_stream(serve())
    add(store, clock, make_entry("already expired"), ttl=0)
    add(store, clock, make_entry("fresh"))
    feed.poll_once(clock.now)
    assert [e["body"] for e in recv(ws)["entries"]["entries"]] == ["fresh"]
    ws.close()


def test_heartbeat_when_idle(clock: FakeClock, serve: Callable[..., ViewerServer]) -> None:
    ws, _ = open_stream(serve(heartbeat_seconds=0.1))
    message = recv(ws)
    assert message["heartbeat"]["serverTime"] == "2023-11-14T22:13:20Z"
    ws.close()


def test_cross_origin_handshake_is_rejected(serve: Callable[..., ViewerServer]) -> None:
    server = serve()
    for origin in ("http://evil.example", f"http://127.0.0.1:{server.port + 1}"):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            connect(server, origin=origin)
        assert refused.value.status_code == 403
    ws = connect(server, origin=server.url)  # the page's own origin is fine
    assert "hello" in recv(ws)
    ws.close()


def test_oversized_frame_closes_the_socket(serve: Callable[..., ViewerServer]) -> None:
    ws = connect(serve())
    recv(ws)
    ws.send("x" * 5000)
    assert close_code(ws) == 1009


@pytest.mark.parametrize(
    "frame_text", ["not json", '{"after": -1}', '{"after": "18446744073709551615"}']
)
def test_garbage_subscribe_closes_the_socket(
    serve: Callable[..., ViewerServer], frame_text: str
) -> None:
    ws = connect(serve())
    recv(ws)
    ws.send(frame_text)
    assert close_code(ws) == 1008


def test_slow_client_is_told_to_resume(
    store: Store, clock: FakeClock, serve: Callable[..., ViewerServer]
) -> None:
    small = LiveFeed(store, clock, queue_capacity=2)
    app = create_app(store, clock, small, ttl_seconds=3600, sampling_summary="")
    server = ViewerServer(app, "127.0.0.1", 0)
    server.start()
    try:
        ws, _ = open_stream(server)
        add(store, clock, *(make_entry(f"m{i}") for i in range(5)))
        small.poll_once(clock.now)
        assert close_code(ws) == 1013
    finally:
        small.shutdown()
        server.shutdown()


def test_feed_shutdown_ends_open_streams(
    feed: LiveFeed, serve: Callable[..., ViewerServer]
) -> None:
    ws, _ = open_stream(serve())
    feed.shutdown()
    assert close_code(ws) == 1000


def test_server_shutdown_is_idempotent(serve: Callable[..., ViewerServer]) -> None:
    server = serve()
    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}"
    server.shutdown()
    server.shutdown()
