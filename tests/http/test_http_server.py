"""The HTTP servers' limits, on both engines (waitress, and werkzeug's threaded server as the
viewer uses it): keep-alive, the idle timeout, the deadline for a request's head (slowloris),
the connection cap, Content-Length with Transfer-Encoding refused, clients that hang up,
TLS handshakes that never finish; and the viewer's websockets under its timeouts.
"""

from __future__ import annotations

import http.client
import logging
import select
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
import websocket
from flask import Flask
from flask_sock import Sock

from gateway.http.limits import ServerLimits
from gateway.http.wsgi_server import WsgiServer
from tests.harness import wait_until

ENGINES = ["waitress", "threaded"]
HEAD = b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n"
BOUND_S = 20.0  # the longest any wait below may take before the test fails


def echo(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answers with the client's port (which connection served it) and the body's length."""
    body = environ["wsgi.input"].read()
    reply = f"{environ['REMOTE_PORT']} {len(body)}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(reply)))])
    return [reply]


@pytest.fixture
def serve() -> Iterator[Callable[..., WsgiServer]]:
    started: list[WsgiServer] = []

    def make(engine: str, app: Any = echo, **limits: Any) -> WsgiServer:
        server = WsgiServer(
            app, "127.0.0.1", 0, limits=ServerLimits(**limits), websockets=engine == "threaded"
        )
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.shutdown()


def connect(server: WsgiServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=BOUND_S)


def closed_by_server(sock: socket.socket) -> bool:
    """Blocks until the server closes the connection (True) or BOUND_S passes (False)."""
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True  # reset
    return True


@pytest.mark.parametrize("engine", ENGINES)
def test_one_connection_carries_many_requests(
    serve: Callable[..., WsgiServer], engine: str
) -> None:
    server = serve(engine)
    client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=BOUND_S)
    ports = set()
    for size in (0, 10, 100_000, 3):
        client.request("POST", "/echo", body=b"x" * size)
        response = client.getresponse()
        port, length = response.read().decode().split()
        assert response.status == 200 and int(length) == size
        assert (response.getheader("Connection") or "").lower() != "close"
        ports.add(port)
    assert len(ports) == 1  # every answer came over the same connection
    client.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_an_unread_body_does_not_leak_into_the_next_request(
    serve: Callable[..., WsgiServer], engine: str
) -> None:
    def ignores_body(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("401 Unauthorized", [("Content-Length", "2")])
        return [b"no"]

    server = serve(engine, ignores_body)
    client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=BOUND_S)
    for _ in range(3):
        client.request("POST", "/", body=b"GET / HTTP/1.1\r\n\r\n" * 100)
        response = client.getresponse()
        assert (response.status, response.read()) == (401, b"no")


@pytest.mark.parametrize("engine", ENGINES)
def test_an_idle_connection_is_closed_after_the_idle_timeout(
    serve: Callable[..., WsgiServer], engine: str
) -> None:
    server = serve(engine, idle_timeout=0.5)
    sock = connect(server)
    sock.sendall(HEAD + b"hi")
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    assert closed_by_server(sock)  # then silence: the server hangs up


@pytest.mark.parametrize("engine", ENGINES)
def test_a_client_dripping_its_head_is_cut_at_the_read_deadline(
    serve: Callable[..., WsgiServer], engine: str
) -> None:
    # Each byte comes well inside the idle timeout, so only the deadline for the whole head
    # can end it. The server stays free for others meanwhile.
    server = serve(engine, idle_timeout=30.0, read_timeout=1.0)
    sock = connect(server)
    sent = 0
    for byte in HEAD:
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            break
        sent += 1
        readable, _, _ = select.select([sock], [], [], 0.1)  # the drip's pace
        if readable:
            break
    assert sent < len(HEAD), "the whole head went through: nothing cut the drip"
    assert closed_by_server(sock)
    other = http.client.HTTPConnection("127.0.0.1", server.port, timeout=BOUND_S)
    other.request("POST", "/echo", body=b"ok")
    assert other.getresponse().status == 200


def test_past_the_cap_waitress_queues_new_connections_until_one_closes(
    serve: Callable[..., WsgiServer],
) -> None:
    server = serve("waitress", max_connections=3)
    held = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=BOUND_S) for _ in "abc"]
    for client in held:
        client.request("POST", "/echo", body=b"hi")
        assert client.getresponse().read()
    waiting = connect(server)  # the kernel completes it: it waits in the backlog
    waiting.sendall(HEAD + b"hi")
    readable, _, _ = select.select([waiting], [], [], 1.0)
    assert not readable, "a connection past the cap was served"
    held.pop().close()
    waiting.settimeout(BOUND_S)
    assert waiting.recv(65536).startswith(b"HTTP/1.1 200")  # served once one closed
    for client in held:  # and those within the cap were served all along
        client.request("POST", "/echo", body=b"hi")
        assert client.getresponse().status == 200


def test_past_the_cap_the_threaded_server_hangs_up_at_once(
    serve: Callable[..., WsgiServer],
) -> None:
    server = serve("threaded", max_connections=2)
    held = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=BOUND_S) for _ in "ab"]
    for client in held:
        client.request("POST", "/echo", body=b"hi")
        assert client.getresponse().read()
    refused = connect(server)
    refused.sendall(HEAD + b"hi")
    assert closed_by_server(refused)  # no thread was spent on it
    held.pop().close()

    def served() -> bool:
        client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=BOUND_S)
        try:
            client.request("POST", "/echo", body=b"hi")
            return client.getresponse().status == 200
        except OSError:
            return False  # the server has not yet noticed the close
        finally:
            client.close()

    wait_until(served, BOUND_S, "a free place once a connection closed")


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
        b"Transfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    ],
)
def test_content_length_with_transfer_encoding_is_refused(
    serve: Callable[..., WsgiServer], engine: str, framing: bytes
) -> None:
    server = serve(engine)
    sock = connect(server)
    sock.sendall(b"POST /echo HTTP/1.1\r\nHost: test\r\n" + framing)
    assert sock.recv(65536).startswith(b"HTTP/1.1 400")
    assert closed_by_server(sock)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_client_that_hangs_up_before_its_reply_leaves_no_traceback(
    serve: Callable[..., WsgiServer],
    engine: str,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    arrived, answered = threading.Event(), threading.Event()
    gone = threading.Event()

    def slow(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        arrived.set()
        gone.wait(BOUND_S)
        start_response("200 OK", [("Content-Length", str(1 << 20))])
        try:
            yield b"x" * (1 << 20)
        finally:
            answered.set()

    server = serve(engine, slow)
    caplog.set_level(logging.DEBUG)
    sock = connect(server)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.sendall(HEAD + b"hi")
    assert arrived.wait(BOUND_S)
    sock.close()  # a reset: the reply has nowhere to go
    gone.set()
    assert answered.wait(BOUND_S)
    server.shutdown()
    text = caplog.text + "".join(capfd.readouterr())
    assert "Traceback" not in text


def test_a_tls_handshake_that_never_comes_is_cut(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    limits = ServerLimits(idle_timeout=30.0, read_timeout=0.5)
    server = WsgiServer(echo, "127.0.0.1", 0, tls=(str(cert_file), str(key_file)), limits=limits)
    server.start()
    try:
        silent = connect(server)  # connects and says nothing: no ClientHello
        assert closed_by_server(silent)
        context = ssl.create_default_context()
        ca.configure_trust(context)
        client = http.client.HTTPSConnection(
            "127.0.0.1", server.port, timeout=BOUND_S, context=context
        )
        for _ in range(2):  # and others are served, kept alive, over TLS
            client.request("POST", "/echo", body=b"ok")
            assert client.getresponse().read().endswith(b" 2")
    finally:
        server.shutdown()


def test_a_port_taken_is_one_line_naming_the_setting() -> None:
    first = WsgiServer(echo, "127.0.0.1", 0)
    try:
        with pytest.raises(OSError, match=r"^some\.endpoint: 127\.0\.0\.1:\d+ is already in use$"):
            WsgiServer(echo, "127.0.0.1", first.port, setting="some.endpoint")
    finally:
        first.shutdown()
    first.shutdown()  # idempotent, and never started


# -- the viewer's websockets ---------------------------------------------------------------


def websocket_app(events: dict[str, threading.Event], frame: bytes) -> Flask:
    """/quiet: waits for the client's word past the server's timeouts, then echoes it;
    /flood: sends big frames until a send fails."""
    app = Flask(__name__)
    sock = Sock(app)

    def quiet(ws: Any) -> None:
        ws.send("hello")
        word = ws.receive(timeout=2.0)  # longer than every timeout below: the client is quiet
        ws.send(f"still here: {word}")
        ws.send(f"echo: {ws.receive(timeout=BOUND_S)}")

    def flood(ws: Any) -> None:
        try:
            while True:
                ws.send(frame)
        except OSError:
            events["send_failed"].set()

    sock.route("/quiet")(quiet)
    sock.route("/flood")(flood)
    return app


def test_a_quiet_websocket_outlives_the_timeouts(serve: Callable[..., WsgiServer]) -> None:
    events = {"send_failed": threading.Event()}
    server = serve(
        "threaded",
        websocket_app(events, b""),
        idle_timeout=0.3,
        read_timeout=0.3,
        send_timeout=0.3,
    )
    client = websocket.create_connection(f"ws://127.0.0.1:{server.port}/quiet", timeout=BOUND_S)
    assert client.recv() == "hello"
    assert client.recv() == "still here: None"  # 2 s of silence from the client
    client.send("are you there")
    assert client.recv() == "echo: are you there"
    client.close()


def test_a_websocket_that_never_reads_is_let_go_at_the_send_timeout(
    serve: Callable[..., WsgiServer],
) -> None:
    events = {"send_failed": threading.Event()}
    server = serve("threaded", websocket_app(events, b"x" * (1 << 20)), send_timeout=0.5)
    client = socket.create_connection(("127.0.0.1", server.port), timeout=BOUND_S)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.sendall(
        b"GET /flood HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    assert events["send_failed"].wait(BOUND_S), "it kept sending to a client that never reads"
    client.close()
