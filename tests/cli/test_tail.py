"""`logsieve tail`: the live stream in a terminal, over the real viewer's websocket."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import websocket

from gateway.cli.tail import TailFilter, follow
from gateway.model import Entry
from gateway.store import Store
from gateway.text import printable
from testkit.clock import FakeClock
from tests.live_viewer import serving, stream_url

T0 = 1_767_225_600_000_000_000
HOUR = 3600 * 10**9


def entry(body: str, band: str = "ERROR", service: str = "checkout", count: int = 1) -> Entry:
    number = {"INFO": 9, "WARN": 13, "ERROR": 17}[band]
    return Entry(body, number, band, service, count, T0, T0)


def connect(url: str) -> websocket.WebSocket:
    return websocket.create_connection(url, timeout=10)


def test_tail_prints_the_stream_filtered_and_escaped(viewer_stream: tuple[Store, str]) -> None:
    store, url = viewer_stream
    store.add_recent(
        [
            (entry("Error: Failed to connect to db:5432", count=100), T0 + HOUR),
            (entry("chatty", "INFO"), T0 + HOUR),
            (entry("elsewhere", service="search"), T0 + HOUR),
            (entry("\x1b[2J\x1b[31mcleared your screen", "WARN"), T0 + HOUR),
        ]
    )
    out = io.StringIO()
    keep = TailFilter(severity_at_least="WARN", service="checkout")
    assert follow(url, keep, out, connect=connect, max_entries=2) == 2
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("ERROR checkout (x100) Error: Failed to connect to db:5432")
    assert lines[1].endswith(r"WARN  checkout \x1b[2J\x1b[31mcleared your screen")
    assert "\x1b" not in out.getvalue()


def test_tail_follows_live_entries_and_greps(viewer_stream: tuple[Store, str]) -> None:
    store, url = viewer_stream
    out = io.StringIO()
    done = threading.Event()

    def run() -> None:
        follow(url, TailFilter(grep="TIMEOUT"), out, connect=connect, max_entries=1)
        done.set()

    threading.Thread(target=run, daemon=True).start()
    store.add_recent([(entry("all good"), T0 + HOUR), (entry("upstream timeout"), T0 + HOUR)])
    assert done.wait(10)
    assert out.getvalue().rstrip().endswith("ERROR checkout upstream timeout")


def test_tail_retries_until_the_viewer_is_there() -> None:
    attempts: list[str] = []
    stop = threading.Event()

    def refused(url: str) -> websocket.WebSocket:
        attempts.append(url)
        if len(attempts) == 3:
            stop.set()
        raise ConnectionRefusedError

    waits: list[float] = []
    url = "ws://127.0.0.1:9/logs/stream"
    out = io.StringIO()
    assert follow(url, TailFilter(), out, connect=refused, stop=stop, wait=waits.append) == 0
    assert len(attempts) == 3 and waits == [1.0, 2.0, 4.0]  # backoff, on no real clock


def test_control_characters_are_shown_not_obeyed() -> None:
    assert printable("a\x00b\x1b[31mc\u009bd\n") == r"a\x00b\x1b[31mc\x9bd\n"


class NotingSocket:
    """A real websocket that sets `backfilled` once the first entries frame has arrived."""

    def __init__(self, url: str) -> None:
        self.socket = connect(url)
        self.backfilled = threading.Event()

    def send(self, text: str) -> None:
        self.socket.send(text)

    def recv(self) -> str:
        frame: str = self.socket.recv()
        if '"entries"' in frame:
            self.backfilled.set()
        return frame

    def close(self) -> None:
        self.socket.close()


def test_tail_says_how_many_entries_it_missed(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'viewer.db'}")
    store.create_schema()
    out, notices = io.StringIO(), io.StringIO()
    with serving(store, FakeClock(T0), queue_capacity=1, poll_interval=0.05) as server:
        socket = NotingSocket(stream_url(server))
        follower = threading.Thread(
            target=follow,
            args=(stream_url(server), TailFilter(), out),
            kwargs={"connect": lambda _url: socket, "max_entries": 1, "notices": notices},
        )
        follower.start()
        assert socket.backfilled.wait(10)
        store.add_recent([(entry(f"m{i}"), T0 + HOUR) for i in range(3)])  # 3 into a buffer of 1
        follower.join(timeout=10)
    store.dispose()
    assert notices.getvalue().splitlines() == [
        f"-- connected to {stream_url(server)}",
        "-- 2 entries were not sent: this page fell behind the stream.",
    ]
    assert out.getvalue().endswith("m2\n")


def test_tail_sends_the_token_from_the_environment(tmp_path: Path) -> None:
    token = "a-token-for-the-terminal"
    store = Store(f"sqlite:///{tmp_path / 'viewer.db'}")
    store.create_schema()
    store.add_recent([(entry("behind the token"), T0 + HOUR)])
    with serving(store, FakeClock(T0), auth_token=token) as server:
        env = {**os.environ, "LOGSIEVE_VIEWER_TOKEN": token}
        tail = subprocess.Popen(
            [sys.executable, "-m", "gateway", "tail", "--url", server.url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            line = tail.stdout.readline() if tail.stdout else ""
        finally:
            tail.kill()
            tail.wait(timeout=10)
    store.dispose()
    assert "behind the token" in line
