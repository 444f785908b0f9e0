"""For websocket tests of the viewer: a real viewer over a SQLite store, its feed driven by hand.

`rig.serve()` starts a ViewerServer on a free port; the test moves entries with
`rig.feed.poll_once(rig.clock.now)`, so nothing waits for a poll interval.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import websocket

from gateway.model import Entry
from gateway.store import Store
from tests.live_viewer import TEST_VIEWER, FixedClock, running_viewer, stream_url, watched_page
from viewer.app import create_app
from viewer.feed import LiveFeed
from viewer.server import ViewerServer

NS = 1_000_000_000
T0 = 1_700_000_000 * NS
STREAM_T0 = 1_767_225_600_000_000_000  # what test_tail and test_viewer_filters write at
TTL_NS = 3600 * NS
RECV_SECONDS = 5.0  # deadline for any one message the test waits on


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


def add(store: Store, clock: FixedClock, *entries: Entry, ttl: int = TTL_NS) -> None:
    store.add_recent([(entry, clock.now + ttl) for entry in entries])


class Rig:
    """A store, a clock, a hand-driven feed, and the servers started over them."""

    def __init__(self, folder: Path) -> None:
        self.store = Store("sqlite:///" + str(folder / "viewer.db"))
        self.store.create_schema()
        self.clock = FixedClock(T0)
        self.feed = LiveFeed(self.store, self.clock, poll_interval=0.05)
        self.servers: list[ViewerServer] = []

    def serve(self, feed: LiveFeed | None = None, **options: Any) -> ViewerServer:
        settings = replace(TEST_VIEWER, **options)
        app = create_app(self.store, self.clock, feed or self.feed, settings)
        server = ViewerServer(app, "127.0.0.1", 0)
        server.start()
        self.servers.append(server)
        return server

    def add(self, *entries: Entry, ttl: int = TTL_NS) -> None:
        add(self.store, self.clock, *entries, ttl=ttl)

    def close(self) -> None:
        self.feed.shutdown()  # ends the open sockets' threads
        for server in self.servers:
            server.shutdown()
        self.store.dispose()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    opened = Rig(tmp_path)
    yield opened
    opened.close()


def connect(server: ViewerServer, **options: Any) -> websocket.WebSocket:
    url = server.url.replace("http://", "ws://", 1) + "/logs/stream"
    return websocket.create_connection(url, timeout=RECV_SECONDS, **options)


def recv(ws: websocket.WebSocket, *, skip: tuple[str, ...] = ("status",)) -> dict[str, Any]:
    """The next message but those of the `skip` kinds (a Status may come at any time);
    the socket timeout is the deadline (WebSocketTimeoutException)."""
    while True:
        message: dict[str, Any] = json.loads(ws.recv())
        if not any(kind in message for kind in skip):
            return message


def open_stream(
    server: ViewerServer, after: int | str = 0, **subscribe: Any
) -> tuple[websocket.WebSocket, dict[str, Any]]:
    """Connect, check the Hello, subscribe from `after`; returns the first entries message."""
    ws = connect(server)
    assert "hello" in recv(ws)
    ws.send(json.dumps({"after": str(after), **subscribe}))
    first = recv(ws)
    assert "entries" in first
    return ws, first


def ids(message: dict[str, Any]) -> list[int]:
    return [int(e["id"]) for e in message["entries"].get("entries", [])]


def bodies(message: dict[str, Any]) -> list[str]:
    return [e["body"] for e in message["entries"].get("entries", [])]


def close_code(ws: websocket.WebSocket) -> int:
    """Read on until the server's close frame; returns its status code."""
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int(struct.unpack("!H", data[:2])[0])


# -- for the page's tests in Chromium ---------------------------------------------------------


@pytest.fixture
def page() -> Iterator[Any]:
    """A Chromium page that must end with no script error and no dialog."""
    with watched_page() as opened:
        yield opened


@pytest.fixture
def live_store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(f"sqlite:///{tmp_path / 'viewer.db'}")
    opened.create_schema()
    yield opened
    opened.dispose()


@pytest.fixture
def wall_clock() -> FixedClock:
    # Near the browser's clock: the page drops rows whose expiry has passed by its own time.
    return FixedClock(time.time_ns())


@pytest.fixture
def viewer_stream(tmp_path: Path) -> Iterator[tuple[Store, str]]:
    """A running viewer with its own polling feed: (its store, its stream's ws:// URL)."""
    with running_viewer(tmp_path, FixedClock(STREAM_T0), poll_interval=0.05) as (server, store):
        yield store, stream_url(server)
