"""ThreadedListener: werkzeug's threaded WSGI server, hardened; for the viewer and TLS listeners.

Why werkzeug: flask-sock's websocket needs the connection's raw socket, which it can take only
from werkzeug, gunicorn, eventlet or gevent. Gunicorn cannot run in a thread of our process (it
needs its own arbiter process), eventlet and gevent need the whole process monkey patched, and
waitress buffers requests and never hands a socket over. Waitress has no TLS either, so a
listener with `tls` set runs here too. A connection holds a thread while it is open, so:

- a connection cap checked at accept: the excess is closed at once, before it costs a thread,
  and threads are bounded by the cap;
- HTTP/1.1 keep-alive (werkzeug alone closes after every response);
- an idle timeout between requests; a socket timeout on each read of a head or a body, and a
  deadline for the whole head (TLS handshake included), so a client dripping bytes cannot
  hold a thread;
- after a websocket upgrade, reads wait without limit (a live page says nothing after its
  Subscribe and is healthy) but each send must finish within the send timeout, so a client
  that never reads gives its thread back;
- Content-Length with Transfer-Encoding is refused with 400 (RFC 9112 section 6.1);
- a client that hangs up is not a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import select
import socket
import ssl
import sys
import threading
import time
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from gateway.http.deadlines import Deadlines, Watch, cut
from gateway.http.limits import ServerLimits

log = logging.getLogger("logsieve")
POLL_SECONDS = 0.1  # how often serve_forever looks for stop()
ACCEPT_PAUSE_SECONDS = 0.5  # out of descriptors: try accept() again after this
MAX_UNREAD_BODY = 1024 * 1024  # a kept-alive request's unread body up to this is read and dropped
OUT_OF_DESCRIPTORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


class ThreadedListener(ThreadedWSGIServer):
    """A bound listener; serve_forever() runs it until stop()."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        app: Any,
        listening: socket.socket,
        limits: ServerLimits,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        host, port = listening.getsockname()[:2]
        super().__init__(host, port, app, _Handler, fd=listening.fileno())
        listening.close()  # werkzeug serves on its own duplicate of the descriptor
        self.ssl_context = tls  # set after: werkzeug would handshake in the accepting thread
        self.limits = limits
        self.deadlines = Deadlines()
        self._open = 0
        self._open_lock = threading.Lock()
        self._idle: set[socket.socket] = set()
        self._closing = False

    def serve_forever(self, poll_interval: float = POLL_SECONDS) -> None:
        super().serve_forever(poll_interval)

    def stop(self) -> None:
        self.shutdown()  # returns once serve_forever has

    def release(self) -> None:
        """Close the listener and the kept-alive connections waiting for a request (the live
        pages' websockets end when the feed closes their subscriptions)."""
        self.server_close()
        with self._open_lock:
            self._closing = True
            for sock in self._idle:
                cut(sock)
        self.deadlines.close()

    # -- accepting -------------------------------------------------------------------------

    def get_request(self) -> tuple[socket.socket, Any]:
        try:
            return super().get_request()
        except OSError as exc:
            if exc.errno in OUT_OF_DESCRIPTORS:  # the listener stays readable: do not spin
                time.sleep(ACCEPT_PAUSE_SECONDS)
            raise  # socketserver drops this accept quietly

    def verify_request(self, request: Any, client_address: Any) -> bool:
        """Past the cap, the connection is closed at once (socketserver closes it)."""
        with self._open_lock:
            if self._open >= self.limits.max_connections:
                return False
            self._open += 1
            return True

    def process_request(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._closed_one()  # no thread was started for it
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._closed_one()

    def _closed_one(self) -> None:
        with self._open_lock:
            self._open -= 1

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        secured = self._handshake(request)
        if secured is not None:
            try:
                super().finish_request(secured, client_address)
            finally:
                cut(secured)
                secured.close()

    def _handshake(self, request: socket.socket) -> ssl.SSLSocket | None:
        """The TLS handshake, on the connection's own thread, within the head deadline."""
        assert self.ssl_context is not None
        request.settimeout(self.limits.read_timeout)
        secured = self.ssl_context.wrap_socket(
            request, server_side=True, do_handshake_on_connect=False
        )
        watch = self.deadlines.watch(secured, self.limits.read_timeout)
        with contextlib.suppress(OSError):  # a client that could not or would not finish it
            secured.do_handshake()
        if watch.cancel() or secured.version() is None:
            secured.close()
            return None
        return secured

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # the client hung up, or a deadline cut it off
        log.exception("error serving a connection from %s", client_address[0])

    # -- connections between requests ------------------------------------------------------

    def waiting(self, sock: socket.socket, idle: bool) -> bool:
        """Note a connection as waiting for its next request (or not); False once closing."""
        with self._open_lock:
            if idle:
                self._idle.add(sock)
            else:
                self._idle.discard(sock)
            return not self._closing


class _Handler(WSGIRequestHandler):
    server: ThreadedListener
    protocol_version = "HTTP/1.1"
    _watch: Watch | None = None
    _keep_alive = False

    def handle(self) -> None:
        with contextlib.suppress(OSError):  # the client hung up, or its deadline cut it off
            super().handle()

    def finish(self) -> None:
        with contextlib.suppress(OSError):  # to a client that has gone
            super().finish()  # flushes what is left of the reply

    def handle_one_request(self) -> None:
        limits = self.server.limits
        if not self._next_request_arrives(limits.idle_timeout):
            self.close_connection = True
            return
        self._keep_alive = False
        self.connection.settimeout(limits.read_timeout)
        self._watch = self.server.deadlines.watch(self.connection, limits.read_timeout)
        try:
            super().handle_one_request()
        finally:
            self._watch.cancel()

    def _next_request_arrives(self, idle_timeout: float) -> bool:
        """Wait up to the idle timeout for the first byte of a request; False: close."""
        if not self.server.waiting(self.connection, idle=True):
            return False
        self.connection.settimeout(idle_timeout)
        try:
            arrived = bool(self.rfile.peek(1))  # type: ignore[attr-defined]
        except OSError:  # idle past the timeout, gone, or cut by close()
            arrived = False
        return self.server.waiting(self.connection, idle=False) and arrived

    def parse_request(self) -> bool:
        """The head has arrived: stop its deadline; refuse Content-Length with chunked."""
        parsed = super().parse_request()
        late = self._watch is not None and self._watch.cancel()
        if not parsed or late:
            self.close_connection = True
            return False
        if "Transfer-Encoding" in self.headers and "Content-Length" in self.headers:
            self.send_error(400, "Content-Length and Transfer-Encoding together (RFC 9112)")
            return False
        self._keep_alive = not self.close_connection and self._length_known()
        return True

    def _length_known(self) -> bool:
        if _is_upgrade(self.headers) or "Transfer-Encoding" in self.headers:
            return False  # chunked bodies and upgrades end the connection, as werkzeug does
        return self.headers.get("Content-Length", "0").isdigit()

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        if _is_upgrade(self.headers):
            send_timeout = self.server.limits.send_timeout
            environ["werkzeug.socket"] = WebSocketConnection(self.connection, send_timeout)
        return environ

    def run_wsgi(self) -> None:
        if not self._keep_alive:
            super().run_wsgi()
            return
        raw = self.rfile
        body = _Body(raw, int(self.headers.get("Content-Length", "0")))
        # werkzeug drains what is left on the socket after a response, which on a kept-alive
        # connection would swallow the next request: give it this request's body only.
        self.rfile = io.BufferedReader(body)
        try:
            super().run_wsgi()
            if body.left > MAX_UNREAD_BODY:
                self.close_connection = True  # cheaper to hang up than to read it
            else:
                self.rfile.read()  # what the app left unread: the next request starts clean
        finally:
            self.rfile = raw

    def send_header(self, keyword: str, value: str) -> None:
        # werkzeug says "Connection: close" on every response; a kept-alive one stays open.
        if keyword.lower() == "connection" and self._keep_alive:
            return
        super().send_header(keyword, value)

    def log_error(self, format: str, *args: Any) -> None:
        log.debug("http connection: " + format, *args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """None of werkzeug's coloured request lines: gateway.http.access_log writes them."""


class _Body(io.RawIOBase):
    """The next `length` bytes of a connection: one request's body, nothing after it."""

    def __init__(self, stream: Any, length: int) -> None:
        self._stream = stream
        self.left = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.left <= 0:
            return 0
        data = self._stream.read(min(len(buffer), self.left))
        buffer[: len(data)] = data
        self.left = self.left - len(data) if data else 0
        return len(data)


class WebSocketConnection:
    """The socket a websocket gets after the upgrade, blocking without a timeout: reads wait as
    long as a quiet page stays (it says nothing after its Subscribe), and a caller may send with
    MSG_DONTWAIT under a deadline of its own. A plain send (simple-websocket's own: pongs, its
    close frame) goes out whole within `send_timeout`, or the connection is cut: with a socket
    timeout a send may put out part of a frame and return; without one it may block for ever
    on a client that never reads."""

    def __init__(self, sock: socket.socket, send_timeout: float) -> None:
        sock.settimeout(None)
        self._sock, self._send_timeout = sock, send_timeout

    def send(self, data: bytes, flags: int = 0) -> int:
        if flags:
            return self._sock.send(data, flags)
        view = memoryview(data)
        deadline = time.monotonic() + self._send_timeout
        poller = select.poll()  # not select(): descriptors may pass 1024
        poller.register(self._sock, select.POLLOUT)
        while view:
            with contextlib.suppress(BlockingIOError):  # no room in its buffer yet
                view = view[self._sock.send(view, socket.MSG_DONTWAIT) :]
            left = deadline - time.monotonic()
            if view and left <= 0:
                cut(self._sock)  # part of a frame may be out: the stream is unusable
                raise TimeoutError(f"{len(view)} bytes not taken in {self._send_timeout:g} s")
            if view:
                poller.poll(left * 1000)
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)  # recv, fileno, shutdown, close ...


def _is_upgrade(headers: Any) -> bool:
    return str(headers.get("Upgrade", "")).lower() == "websocket"
