"""The Logflare exporter: entries -> Logflare's JSON batch API over httpx.

This module is the one owner of Logflare's event format: `event_json` writes an entry as the
text the batch stage stores in the outbox, and `export` sends stored texts as they are, joined
into one batch body (never parsed and written again on the way out).

`export` never raises for HTTP trouble: it returns an ExportOutcome, and which statuses are
worth retrying is data (RETRYABLE, REFUSED), not scattered ifs. `timeout` bounds the whole
request (connect, sending, the response's head and body), however slowly a peer trickles
bytes; an answer's text is masked (gateway/redact.py) before it becomes an outcome's detail.
"""

from __future__ import annotations

import contextlib
import email.utils
import gzip
import logging
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from gateway import redact
from gateway.config.settings import LogflareConfig
from gateway.export.outcome import ExportOutcome, OutcomeKind
from gateway.model import Entry, PatternRef
from gateway.redact import Redactor

log = logging.getLogger("logsieve.exporter")

# Transient: the same request may succeed later.
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
# Refused for good: bad data, unacceptable encoding or size. Retrying the same bytes cannot help.
REFUSED = frozenset({400, 406, 413, 415, 422})
UNAUTHORIZED = frozenset({401, 403})
GZIP_ABOVE_BYTES = 4096
MAX_RESPONSE_BYTES = 64 * 1024
DETAIL_CHARS = 200  # of an answer's text, in an outcome's detail
# Logflare reads a timestamp by its digit count: 10 digits are seconds, 13 milliseconds, 19
# nanoseconds, any other count microseconds. Microseconds with 10 or 13 digits (times in early
# 1970) would be misread, so they are sent as the next value with a safe digit count.
MISREAD_DIGITS = (10, 13)
# Logflare's level words, which drive its UI's colours.
LEVELS = {
    "TRACE": "debug",
    "DEBUG": "debug",
    "INFO": "info",
    "WARN": "warning",
    "ERROR": "error",
    "FATAL": "critical",
    "UNSPECIFIED": "info",
}


def _micros(ns: int) -> int:
    return ns // 1000


def logflare_timestamp(ns: int) -> int:
    """A time as Logflare's `timestamp`: microseconds, never 0 (1-999 ns become 1 µs), and
    never a digit count Logflare would read in another unit."""
    micros = max(1, _micros(ns))
    digits = len(str(micros))
    return 10**digits if digits in MISREAD_DIGITS else micros


def logflare_event(entry: Entry, now_ns: int) -> dict[str, Any]:
    """One Logflare event for an entry; the timestamp is its first occurrence, never 0."""
    first_seen = entry.first_seen or now_ns
    metadata: dict[str, Any] = {
        "level": LEVELS[entry.severity],
        "severity_number": entry.severity_number,
        "count": entry.count,
        "first_seen": _micros(first_seen),
        "last_seen": _micros(entry.last_seen or first_seen),
        "sample_rate": entry.sample_rate,
        "service": {"name": entry.service},
        "attributes": entry.attributes,
        "trace_id": entry.trace_id,
        "span_id": entry.span_id,
    }
    if entry.pattern is not None:
        metadata["pattern"] = _pattern(entry.pattern)
    timestamp = logflare_timestamp(first_seen)
    return {"event_message": entry.body, "timestamp": timestamp, "metadata": metadata}


def _pattern(pattern: PatternRef) -> dict[str, Any]:
    """`metadata.pattern`: the template the entry's records share, and per variable its top
    values with counts, the count of the rest and how many distinct values it took."""
    variables = [
        {"top": [list(pair) for pair in v.top], "other": v.other, "distinct": v.distinct}
        for v in pattern.variables
    ]
    return {"id": pattern.hex_id, "template": pattern.template, "variables": variables}


def event_json(entry: Entry, now_ns: int) -> str:
    """An entry as the Logflare event text the outbox stores and `export` sends unchanged."""
    return orjson.dumps(logflare_event(entry, now_ns)).decode()


def batch_body(events: Sequence[str]) -> bytes:
    """Logflare's batch body around stored event texts, which go in as they are. They are
    orjson's compact output (event_json), so this is what `orjson.dumps({"batch": parsed})`
    would write, without parsing and writing every event again."""
    return b'{"batch":[' + b",".join(event.encode() for event in events) + b"]}"


class LogflareExporter:
    """POSTs batches of events to `{endpoint}/api/logs`; one instance per gateway, one request
    at a time."""

    encode = staticmethod(event_json)

    def __init__(self, config: LogflareConfig, client: httpx.Client | None = None) -> None:
        self._url = f"{config.endpoint}/api/logs"
        # The source goes in the query (it is not a secret); the key only ever in a header.
        self._params = (
            {"source": config.source} if config.source else {"source_name": config.source_name}
        )
        api_key = config.api_key.get_secret_value()
        self._headers = {
            "X-API-KEY": api_key,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "logsieve",
        }
        # Never follow a redirect: it would carry the key to wherever Logflare's address points.
        self._client = client or httpx.Client(
            timeout=httpx.Timeout(config.timeout), follow_redirects=False
        )
        self._timeout_s = config.timeout
        self._watchdog = _Watchdog()
        self._one_at_a_time = threading.Lock()  # the watchdog shuts every socket of this client
        self._mask = Redactor([api_key])  # at the source, whatever this process installed

    def __repr__(self) -> str:
        return f"LogflareExporter(url={self._url!r}, {self._params!r}, api_key='***')"

    def export(self, events: Sequence[str]) -> ExportOutcome:
        """Send stored event texts (from `event_json`) as one batch."""
        body = batch_body(events)
        headers = dict(self._headers)
        if len(body) > GZIP_ABOVE_BYTES:
            body = gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        with self._one_at_a_time:
            deadline = self._watchdog.start(self._timeout_s)
            try:
                return self._send(body, headers, deadline)
            except httpx.RequestError as exc:
                return self._failed(exc, deadline)
            finally:
                self._watchdog.stop(deadline)

    def _send(self, body: bytes, headers: dict[str, str], deadline: _Deadline) -> ExportOutcome:
        request = self._client.build_request(
            "POST",
            self._url,
            params=self._params,
            headers=headers,
            content=body,
            extensions={"trace": self._watchdog.trace},
        )
        response = self._client.send(request, stream=True)
        try:
            text, cut = _read_capped(response)
        finally:
            response.close()
        text = self._masked(text, cut)
        headers_in = response.headers
        location = self._masked(headers_in.get("location", ""))
        return classify(
            response.status_code, headers_in.get("retry-after"), text, location=location
        )

    def _masked(self, text: str, cut: bool = False) -> str:
        """`text` without the API key or any other secret this process knows."""
        return redact.text(self._mask(text, cut), cut)

    def _failed(self, exc: httpx.RequestError, deadline: _Deadline) -> ExportOutcome:
        if deadline.expired or isinstance(exc, httpx.TimeoutException):
            detail = f"timed out: no complete answer within {self._timeout_s:g} s"
        elif isinstance(exc, httpx.TransportError):
            detail = f"connection failed: {type(exc).__name__}"
        else:
            detail = f"unreadable answer: {type(exc).__name__}"
        return ExportOutcome(OutcomeKind.RETRY, detail=detail)

    def shutdown(self) -> None:
        self._client.close()


@dataclass(slots=True)
class _Deadline:
    timer: threading.Timer | None = None
    expired: bool = False


class _Watchdog:
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
        self._current: _Deadline | None = None

    def start(self, seconds: float) -> _Deadline:
        deadline = _Deadline()
        deadline.timer = threading.Timer(seconds, self._expire, args=(deadline,))
        deadline.timer.daemon = True
        with self._lock:
            self._current = deadline
        deadline.timer.start()
        return deadline

    def stop(self, deadline: _Deadline) -> None:
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

    def _expire(self, deadline: _Deadline) -> None:
        with self._lock:
            if deadline is not self._current:
                return  # that request ended while this timer fired
            deadline.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed meanwhile, or never connected
        sock.shutdown(socket.SHUT_RDWR)


def _read_capped(response: httpx.Response) -> tuple[str, bool]:
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
    return b"".join(chunks)[:MAX_RESPONSE_BYTES].decode("utf-8", "replace"), cut


def classify(
    status: int,
    retry_after: str | None,
    text: str,
    now_s: float | None = None,
    location: str = "",
) -> ExportOutcome:
    """An HTTP answer as an ExportOutcome (`now_s` dates an HTTP-date Retry-After); `text`
    and `location` must be masked already (they go into the detail)."""
    detail = f"HTTP {status}: {text[:DETAIL_CHARS]}"
    if 200 <= status < 300:
        return ExportOutcome(OutcomeKind.OK, status=status)
    if 300 <= status < 400:  # not followed: a wrong endpoint, not events Logflare refused
        moved = f"HTTP {status} to {location[:DETAIL_CHARS] or '(no Location)'}"
        return ExportOutcome(OutcomeKind.REDIRECTED, status=status, detail=moved)
    if status in UNAUTHORIZED:
        return ExportOutcome(OutcomeKind.UNAUTHORIZED, status=status, detail=detail)
    if status in REFUSED:
        return ExportOutcome(OutcomeKind.REFUSED, status=status, detail=detail)
    if status in RETRYABLE or status >= 500:
        return ExportOutcome(OutcomeKind.RETRY, status, _seconds(retry_after, now_s), detail)
    return ExportOutcome(OutcomeKind.REFUSED, status=status, detail=detail)


def _seconds(retry_after: str | None, now_s: float | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; junk counts as absent."""
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
