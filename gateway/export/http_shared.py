"""What every HTTP exporter needs around httpx: a deadline for the whole request, a capped read
of the answer, and Retry-After read as seconds.

Shared by the Logflare and OTLP/HTTP exporters; each keeps its own wire format and its own
reading of status codes.
"""

from __future__ import annotations

import contextlib
import email.utils
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from gateway.export.outcome import ExportOutcome, OutcomeKind

MAX_RESPONSE_BYTES = 64 * 1024
DETAIL_CHARS = 200  # of an answer's text, in an outcome's detail


@dataclass(slots=True)
class Deadline:
    timer: threading.Timer | None = None
    expired: bool = False


class Watchdog:
    """Ends a request at its deadline, whatever it waits for: httpx's timeouts bound each read,
    so a peer sending a byte a second would hold a request for as long as it likes.

    httpx's trace extension hands over each new connection's socket; at the deadline a timer
    shuts down the sockets this client holds, and the blocked connect, send or read returns at
    once. The exporter sends one request at a time, so an idle pooled connection is the only
    other socket that can be hit, and the pool drops it (a reconnect, nothing lost). Name
    resolution happens before there is a socket and cannot be cut short; the connect itself
    is bounded by httpx's connect timeout (the same `timeout`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []  # of this client's connections, maybe idle
        self._current: Deadline | None = None

    def start(self, seconds: float) -> Deadline:
        deadline = Deadline()
        deadline.timer = threading.Timer(seconds, self._expire, args=(deadline,))
        deadline.timer.daemon = True
        with self._lock:
            self._current = deadline
        deadline.timer.start()
        return deadline

    def stop(self, deadline: Deadline) -> None:
        assert deadline.timer is not None
        deadline.timer.cancel()
        with self._lock:
            self._current = None

    def trace(self, event: str, info: dict[str, Any]) -> None:
        # connection.*, and through a proxy proxy.* or socks.*: TLS wraps the socket anew.
        if event.endswith((".connect_tcp.complete", ".start_tls.complete")):
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if isinstance(sock, socket.socket):  # an SSLSocket too
                self._watch(sock)

    def _watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets = [s for s in self._sockets if s.fileno() >= 0]  # closed: forgotten
            self._sockets.append(sock)
            if self._current is not None and self._current.expired:
                _shut(sock)  # connected after the deadline: it ends at once too

    def _expire(self, deadline: Deadline) -> None:
        with self._lock:
            if deadline is not self._current:
                return  # that request ended while this timer fired
            deadline.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed meanwhile, or never connected
        sock.shutdown(socket.SHUT_RDWR)


def post_capped(
    client: httpx.Client,
    url: str,
    watchdog: Watchdog,
    *,
    headers: dict[str, str],
    content: bytes,
    params: dict[str, str] | None = None,
) -> tuple[httpx.Response, bytes, bool]:
    """POST under the watchdog; the answer read capped (read_capped), the connection released."""
    request = client.build_request(
        "POST",
        url,
        params=params,
        headers=headers,
        content=content,
        extensions={"trace": watchdog.trace},
    )
    response = client.send(request, stream=True)
    try:
        raw, cut = read_capped(response)
    finally:
        response.close()
    return response, raw, cut


def read_capped(response: httpx.Response) -> tuple[bytes, bool]:
    """At most MAX_RESPONSE_BYTES of the body (a misbehaving server cannot flood memory), and
    whether it was cut there."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_RESPONSE_BYTES:
            break
    cut = size >= MAX_RESPONSE_BYTES  # (more may have followed)
    return b"".join(chunks)[:MAX_RESPONSE_BYTES], cut


def retry_after_seconds(retry_after: str | None, now_s: float | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date (dated by `now_s`);
    junk counts as absent."""
    if not retry_after:
        return None
    try:
        return max(0.0, float(retry_after))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return None
    now_s = time.time() if now_s is None else now_s
    return max(0.0, when.timestamp() - now_s)


def timed_out(seconds: float) -> str:
    return f"timed out: no complete answer within {seconds:g} s"


def request_failed(exc: httpx.RequestError, deadline: Deadline, timeout_s: float) -> ExportOutcome:
    """A POST that got no answer, as a retryable outcome saying why."""
    if deadline.expired or isinstance(exc, httpx.TimeoutException):
        detail = timed_out(timeout_s)
    elif isinstance(exc, httpx.TransportError):
        detail = f"connection failed: {type(exc).__name__}"
    else:
        detail = f"unreadable answer: {type(exc).__name__}"
    return ExportOutcome(OutcomeKind.RETRY, detail=detail)
