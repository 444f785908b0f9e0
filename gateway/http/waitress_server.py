"""WaitressListener: one WSGI app on waitress, for the OTLP/HTTP receiver and /metrics.

Waitress reads every request whole (head and body, buffered) on one event loop before a worker
thread sees it, so a slow or idle client costs a descriptor and a buffer but never a thread;
the workers are a fixed pool. Connections are kept alive (HTTP/1.1). Past `max_connections`
the listener stops accepting: the excess waits in the kernel's backlog, costing nothing here.

What this subclass adds to waitress:
- the connection cap and the idle timeout (waitress's connection_limit and channel_timeout)
  are checked here, at least once a second rather than every cleanup_interval, and the cap's
  warning names our setting;
- a deadline for a whole request to arrive: waitress's own timeout counts only silence, so a
  client sending a byte every few seconds would hold its connection for ever;
- a request with both Content-Length and Transfer-Encoding is refused with 400 (RFC 9112
  section 6.1: the two disagree about where the body ends, the root of request smuggling;
  waitress would believe Transfer-Encoding);
- out of descriptors (EMFILE), accepting pauses briefly instead of spinning on accept();
- poll() instead of select() (which fails on descriptors past 1024, and the limit is raised);
- the serving loop can be stopped from another thread, and lets requests in flight finish.
"""

from __future__ import annotations

import errno
import logging
import socket
import time
from typing import Any, cast

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.server import TcpWSGIServer

from gateway.http.limits import ServerLimits

log = logging.getLogger("logsieve")
LOOP_SECONDS = 0.25  # the event loop's longest sleep: how often deadlines are looked at
ACCEPT_PAUSE_SECONDS = 0.5  # out of descriptors: try accept() again after this
DRAIN_SECONDS = 5  # on shutdown, how long requests in flight get to be answered
WARN_EVERY_SECONDS = 60.0  # the "cap reached" and "out of descriptors" lines, at most this often
SPILL_BYTES = 512 * 1024  # a request body past this is buffered in a temporary file
OUT_OF_DESCRIPTORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
# Waitress's info lines ("client disconnected", "listening again") are not worth a line each,
# and its task-queue warnings would fire under any busy load; our own lines say what matters.
logging.getLogger("waitress").setLevel(logging.WARNING)
logging.getLogger("waitress.queue").setLevel(logging.ERROR)


class _RequestParser(HTTPRequestParser):
    """Remembers when a request began to arrive; refuses Content-Length with Transfer-Encoding."""

    def __init__(self, adj: Any) -> None:
        super().__init__(adj)
        self.started = time.monotonic()

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        # Waitress pops Transfer-Encoding from HTTP/1.1 headers and marks the request chunked.
        has_te = self.chunked or "TRANSFER_ENCODING" in self.headers
        if has_te and "CONTENT_LENGTH" in self.headers:
            raise ParsingError("Content-Length and Transfer-Encoding together (RFC 9112)")


class _Channel(HTTPChannel):
    parser_class = _RequestParser


class WaitressListener(TcpWSGIServer):
    """A bound listener; serve_forever() runs it until stop()."""

    channel_class = _Channel

    def __init__(
        self, app: Any, listening: socket.socket, limits: ServerLimits, max_body: int
    ) -> None:
        self._limits = limits
        self._stopping = False
        self._next_check = 0.0
        self._accept_paused_until = 0.0
        self._last_warning: dict[str, float] = {}
        self._sockets: dict[int, Any] = {}  # waitress's socket map: the loop watches these
        address = (listening.family, listening.type, listening.proto, listening.getsockname())
        super().__init__(
            app,
            map=self._sockets,
            _sock=listening,
            bind_socket=False,
            sockinfo=address,
            **_adjustments(limits, max_body),
        )
        self.port: int = listening.getsockname()[1]

    # -- serving ---------------------------------------------------------------------------

    def serve_forever(self) -> None:
        while not self._stopping:
            wasyncore.loop(LOOP_SECONDS, True, self._sockets, 1)
        self._drain()

    def stop(self) -> None:
        """Make serve_forever() stop accepting, let requests in flight finish, and return."""
        self._stopping = True
        self.pull_trigger()

    def release(self) -> None:
        """Close every connection and the listener; the worker threads end."""
        self.task_dispatcher.shutdown(cancel_pending=True, timeout=DRAIN_SECONDS)
        wasyncore.close_all(self._sockets)

    def _drain(self) -> None:
        wasyncore.dispatcher.close(self)  # the listening socket only: the trigger stays
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline and self._close_idle_channels():
            wasyncore.loop(0.05, True, self._sockets, 1)

    def _close_idle_channels(self) -> bool:
        """Close the connections with nothing in flight; whether any is still busy."""
        busy = False
        for channel in self._channels():
            if channel.requests or channel.total_outbufs_len:
                busy = True
            else:
                channel.will_close = True
        return busy

    def _channels(self) -> list[HTTPChannel]:
        return list(cast(dict[int, HTTPChannel], self.active_channels).values())

    # -- accepting and deadlines -----------------------------------------------------------

    def readable(self) -> bool:
        """Asked on every turn of the loop: look at deadlines, then whether to accept."""
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + min(1.0, self._limits.read_timeout / 4)
            self._close_overdue(now)
        if self._stopping or now < self._accept_paused_until or not self.accepting:
            return False
        if len(cast(dict[int, HTTPChannel], self.active_channels)) >= self._limits.max_connections:
            self._warn(
                "cap",
                "%s (%d) reached: new connections wait until one closes",
                self._limits.cap_setting,
                self._limits.max_connections,
            )
            return False
        return True

    def _close_overdue(self, now: float) -> None:
        idle_since = time.time() - self._limits.idle_timeout  # waitress stamps time.time()
        began_before = now - self._limits.read_timeout
        for channel in self._channels():
            if channel.requests:
                continue  # being answered
            arriving = channel.request
            overdue = isinstance(arriving, _RequestParser) and arriving.started < began_before
            if overdue or channel.last_activity < idle_since:
                channel.will_close = True

    def accept(self) -> tuple[socket.socket, Any] | None:
        try:
            return super().accept()
        except OSError as exc:
            if exc.errno not in OUT_OF_DESCRIPTORS:
                raise
            self._accept_paused_until = time.monotonic() + ACCEPT_PAUSE_SECONDS
            self._warn("descriptors", "cannot accept a connection on port %d: %s", self.port, exc)
            return None

    def _warn(self, kind: str, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last_warning.get(kind, -WARN_EVERY_SECONDS) >= WARN_EVERY_SECONDS:
            self._last_warning[kind] = now
            log.warning(message, *args)


def _adjustments(limits: ServerLimits, max_body: int) -> dict[str, Any]:
    return {
        "threads": limits.threads,
        "max_request_body_size": max_body,
        "inbuf_overflow": SPILL_BYTES,
        "asyncore_use_poll": True,
        "log_socket_errors": False,  # a client that hung up is not a traceback
        "ident": "logsieve",
        "url_scheme": "http",
    }
