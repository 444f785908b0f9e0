"""`logsieve tail` when something is wrong: each case one line on stderr, never a traceback.

A bad URL and a URL that answers without a live stream (another HTTP server, the gRPC port,
a viewer that wants its token) end the tail; a viewer it cannot reach is retried, said once,
and the connection coming (back) is said too. Real servers on 127.0.0.1; the waits between
attempts go to a fake that moves a FakeClock, so nothing sleeps.
"""

from __future__ import annotations

import http.server
import io
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import websocket

from gateway.cli.main import main
from gateway.cli.tail import Connector, TailFilter, follow, stream_url
from gateway.config.receivers import GrpcReceiverConfig
from gateway.errors import StreamRefused
from gateway.model import Entry
from gateway.receivers.grpc import OtlpGrpcReceiver
from gateway.receivers.ingest import Ingest
from gateway.store import Store
from testkit.clock import FakeClock
from tests.live_viewer import serving

T0 = 1_767_225_600_000_000_000
HOUR = 3600 * 10**9


class FakeWait:
    """follow's `wait`: moves the clock instead of sleeping; sets `stop` after `limit` waits."""

    def __init__(self, stop: threading.Event, limit: int = 1000) -> None:
        self.clock, self.stop, self.limit = FakeClock(0), stop, limit
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.clock.advance(seconds)
        if len(self.waits) >= self.limit:
            self.stop.set()
        return self.stop.is_set()


def closed_port() -> int:
    """A port nothing listens on: bound, then let go."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class _NotFound(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_error(404)  # an HTML error page, as most web servers answer

    def log_message(self, *_args: object) -> None:
        pass


@contextmanager
def not_found_server() -> Iterator[int]:
    """A plain HTTP server on a free port that answers every GET with 404."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


def run_tail(capsys: pytest.CaptureFixture[str], url: str) -> tuple[int, list[str]]:
    code = main(["tail", "--url", url])
    return code, capsys.readouterr().err.splitlines()


# -- a bad URL -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("127.0.0.1:8080", "--url 127.0.0.1:8080: no scheme: use http://127.0.0.1:8080"),
        ("localhost:8080", "--url localhost:8080: no scheme: use http://localhost:8080"),
        ("ftp://127.0.0.1:8080", "--url ftp://127.0.0.1:8080: use http://host:port or"),
        ("http://127.0.0.1:99999", "--url http://127.0.0.1:99999: not a URL (Port out of range"),
        ("http://127.0.0.1:port", "--url http://127.0.0.1:port: not a URL (Port could not be"),
        ("http://[::1", "--url http://[::1: not a URL (Invalid IPv6 URL)"),
        ("http://", "--url http://: use http://host:port or https://host:port"),
    ],
)
def test_a_bad_url_is_one_line_naming_it(
    capsys: pytest.CaptureFixture[str], url: str, said: str
) -> None:
    code, err = run_tail(capsys, url)
    assert code == 2 and len(err) == 1 and err[0].startswith(said)


@pytest.mark.parametrize(
    ("url", "stream"),
    [
        ("http://127.0.0.1:8080", "ws://127.0.0.1:8080/logs/stream"),
        ("http://127.0.0.1:8080/logs", "ws://127.0.0.1:8080/logs/stream"),  # the page's URL
        ("https://logs.example.com/", "wss://logs.example.com/logs/stream"),
        ("HTTP://[::1]:8080/proxied/logs/", "ws://[::1]:8080/proxied/logs/stream"),
        ("ws://127.0.0.1:8080/logs/stream", "ws://127.0.0.1:8080/logs/stream"),
    ],
)
def test_the_stream_is_found_under_the_viewers_address(url: str, stream: str) -> None:
    assert stream_url(url) == stream


# -- nothing listening: retried, said once --------------------------------------------------


def test_a_viewer_it_cannot_reach_is_said_once_and_retried_with_backoff() -> None:
    stop, notices = threading.Event(), io.StringIO()
    wait = FakeWait(stop, limit=7)
    url = f"ws://127.0.0.1:{closed_port()}/logs/stream"
    out = io.StringIO()
    printed = follow(
        url, TailFilter(), out, connect=Connector(), stop=stop, notices=notices, wait=wait
    )
    assert printed == 0
    assert notices.getvalue().splitlines() == [
        f"-- cannot reach {url} (Connection refused): retrying every 1 s, backing off to every 10 s"
    ]
    assert wait.waits == [1, 2, 4, 8, 10, 10, 10]  # 7 attempts, 45 s on the fake clock


def test_a_host_name_that_does_not_resolve_is_said_and_retried() -> None:
    stop, notices = threading.Event(), io.StringIO()
    url = "ws://no-such-host.invalid:8080/logs/stream"
    wait = FakeWait(stop, limit=2)
    follow(
        url, TailFilter(), io.StringIO(), connect=Connector(), stop=stop, notices=notices, wait=wait
    )
    assert notices.getvalue().splitlines() == [
        f"-- cannot reach {url} (the host name does not resolve): "
        "retrying every 1 s, backing off to every 10 s"
    ]


def test_reaching_the_viewer_at_last_is_said(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'viewer.db'}")
    store.create_schema()
    store.add_recent([(entry("there at last"), T0 + HOUR)])
    out, notices, stop = io.StringIO(), io.StringIO(), threading.Event()
    with serving(store, FakeClock(T0)) as server:
        url = f"ws://127.0.0.1:{server.port}/logs/stream"
        real, attempts = Connector(), []

        def connect(target: str) -> websocket.WebSocket:
            attempts.append(target)
            if len(attempts) < 3:  # the viewer is not up yet
                raise ConnectionRefusedError(111, "Connection refused")
            return real(target)

        follow(
            url,
            TailFilter(),
            out,
            connect=connect,
            notices=notices,
            max_entries=1,
            wait=FakeWait(stop),
        )
    store.dispose()
    assert notices.getvalue().splitlines() == [
        f"-- cannot reach {url} (Connection refused): "
        "retrying every 1 s, backing off to every 10 s",
        f"-- connected to {url}",
    ]
    assert out.getvalue().endswith("there at last\n")


class DroppedOnce:
    """A real stream socket whose connection drops after the first frame, the first time."""

    def __init__(self) -> None:
        self.opened = 0

    def __call__(self, url: str) -> DroppedOnce.Socket:
        self.opened += 1
        return DroppedOnce.Socket(websocket.create_connection(url, timeout=10), self.opened == 1)

    class Socket:
        def __init__(self, real: websocket.WebSocket, drops: bool) -> None:
            self.real, self.drops, self.frames = real, drops, 0

        def send(self, text: str) -> None:
            self.real.send(text)

        def recv(self) -> str:
            self.frames += 1
            if self.drops and self.frames == 2:
                raise websocket.WebSocketConnectionClosedException(
                    "Connection to remote host was lost."
                )
            frame: str = self.real.recv()
            return frame

        def close(self) -> None:
            self.real.close()


def test_a_dropped_connection_is_said_and_so_is_the_reconnection(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'viewer.db'}")
    store.create_schema()
    store.add_recent([(entry("before the drop"), T0 + HOUR)])
    out, notices, stop = io.StringIO(), io.StringIO(), threading.Event()
    connect = DroppedOnce()
    with serving(store, FakeClock(T0), poll_interval=0.05) as server:
        url = f"ws://127.0.0.1:{server.port}/logs/stream"
        follower = threading.Thread(
            target=follow,
            args=(url, TailFilter(), out),
            kwargs={
                "connect": connect,
                "notices": notices,
                "max_entries": 2,
                "wait": FakeWait(stop),
            },
        )
        follower.start()
        while connect.opened < 2 and follower.is_alive():
            follower.join(0.05)  # the second connection: the entry comes after the cursor
        store.add_recent([(entry("after the drop"), T0 + HOUR)])
        follower.join(timeout=10)
    store.dispose()
    assert not follower.is_alive()
    assert notices.getvalue().splitlines() == [
        f"-- connected to {url}",
        f"-- lost the connection to {url} (Connection to remote host was lost.): reconnecting",
        f"-- reconnected to {url}",
    ]
    lines = out.getvalue().splitlines()
    assert [line.rsplit(" ", 3)[-3:] for line in lines] == [
        ["before", "the", "drop"],
        ["after", "the", "drop"],
    ]  # resumed after its cursor: nothing twice


# -- something answers, but not the live stream: the end -------------------------------------


def test_an_http_server_that_is_not_a_viewer_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with not_found_server() as port:
        code, err = run_tail(capsys, f"http://127.0.0.1:{port}")
    assert code == 1
    assert err == [f"not a logsieve viewer at ws://127.0.0.1:{port}/logs/stream (HTTP 404)"]


def test_https_to_a_plain_http_port_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with not_found_server() as port:
        code, err = run_tail(capsys, f"https://127.0.0.1:{port}")
    assert code == 1
    assert err == [f"TLS failed at wss://127.0.0.1:{port}/logs/stream (WRONG_VERSION_NUMBER)"]


def test_the_grpc_port_is_not_a_viewer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    store.create_schema()
    receiver = OtlpGrpcReceiver(
        Ingest(store, FakeClock(T0)), GrpcReceiverConfig(endpoint="127.0.0.1:0")
    )
    receiver.start()
    try:
        code, err = run_tail(capsys, f"http://127.0.0.1:{receiver.port}")
    finally:
        receiver.shutdown(grace=1)
        store.dispose()
    assert code == 1
    assert err == [
        f"not a logsieve viewer at ws://127.0.0.1:{receiver.port}/logs/stream "
        "(it closed the connection at the handshake)"
    ]


def test_a_viewer_that_wants_its_token_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'viewer.db'}")
    store.create_schema()
    with serving(store, FakeClock(T0), auth_token="the-token") as server:
        monkeypatch.delenv("LOGSIEVE_VIEWER_TOKEN", raising=False)
        code, without = run_tail(capsys, server.url)
        monkeypatch.setenv("LOGSIEVE_VIEWER_TOKEN", "not-the-token")
        _, wrong = run_tail(capsys, server.url)
    store.dispose()
    url = f"ws://127.0.0.1:{server.port}/logs/stream"
    assert code == 1
    assert without == [
        f"the viewer at {url} wants its token: export LOGSIEVE_VIEWER_TOKEN=<viewer.auth_token>"
    ]
    assert wrong == [f"the viewer at {url} refused the token in LOGSIEVE_VIEWER_TOKEN"]


class Talking:
    """A websocket that answers, but not with the live stream."""

    def send(self, text: str) -> None:
        pass

    def recv(self) -> str:
        return '{"hello": "from another service"'

    def close(self) -> None:
        pass


def test_a_websocket_that_is_not_the_stream_ends_the_tail() -> None:
    with pytest.raises(StreamRefused, match=r"^not a logsieve viewer at ws://x/logs/stream \("):
        follow("ws://x/logs/stream", TailFilter(), io.StringIO(), connect=lambda _url: Talking())


def entry(body: str) -> Entry:
    return Entry(body, 17, "ERROR", "checkout", 1, T0, T0)
