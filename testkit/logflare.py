"""Test doubles shipped in the package, so every suite uses one faithful copy of Logflare."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from gateway.clock import Clock, SystemClock
from gateway.export.logflare import event_json
from gateway.export.outcome import ExportOutcome, OutcomeKind
from testkit.logflare_rate import USER_LIMIT, Quota, rate_headers
from testkit.logflare_rules import Rejected, accepts_json, compact, decode

INGEST_PATHS = frozenset({"/api/logs", "/logs", "/api/events"})
FUTURE_LIMIT_US = 3_600_000_000  # events more than 1 h ahead are silently dropped
QUOTA_ERROR = "Source rate is over the API quota. Email support@logflare.app to increase it."
_BODIES: dict[int, dict[str, Any]] = {200: {"message": "Logged!"}, 401: {"error": "Unauthorized"}}
_SINGLE_DROPS = ("timestamp", "id", "source", "source_name")


class RecordingExporter:
    """An exporter that remembers its calls and answers from a script, to test its callers.

    It is given the outbox's event texts, as the real exporter is, and keeps them parsed: the
    tests read their fields."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards the script and every append below
        self._script: deque[ExportOutcome] = deque()
        self.calls: list[list[dict[str, Any]]] = []
        self.events: list[dict[str, Any]] = []  # only from OK calls: what Logflare would hold

    def script(self, *outcomes: ExportOutcome) -> None:
        """Queue outcomes for the next calls (FIFO); once drained, every call succeeds."""
        with self._lock:
            self._script.extend(outcomes)

    encode = staticmethod(event_json)  # it stands in for the Logflare exporter

    def export(self, events: Sequence[str]) -> ExportOutcome:
        batch = [json.loads(event) for event in events]
        with self._lock:
            outcome = self._script.popleft() if self._script else ExportOutcome(OutcomeKind.OK, 200)
            self.calls.append(batch)
            self.events.extend(batch if outcome.ok else [])
        return outcome

    def shutdown(self) -> None:
        """Nothing to close."""


@dataclass(frozen=True, slots=True)
class Fault:
    """One scripted misbehaviour for the next request, applied before any validation."""

    status: int
    # None: a plausible default JSON body for the status; text: an HTML page (a proxy's)
    body: dict[str, Any] | str | None = None
    headers: dict[str, str] | None = None
    delay: float = 0.0  # seconds the server thread waits before answering
    reset: bool = False  # close the connection without any response
    ingest_valid: bool = False  # also ingest normally and keep the events (406 partial ingest)
    drip: float = 0.0  # seconds between two bytes of the response head (a trickling peer)

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        return cls(status)

    @classmethod
    def buffer_full(cls) -> Fault:
        return cls(429, {"error": "Buffer Full: Too Many Requests"}, {"retry-after": "3"})

    @classmethod
    def quota(cls) -> Fault:
        """The rate-limit 429 has no Retry-After, only exhausted x-rate-limit-* headers."""
        return cls(429, {"error": QUOTA_ERROR}, rate_headers(USER_LIMIT))

    @classmethod
    def unauthorized(cls) -> Fault:
        return cls(401)

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Fault:
        """What a wrong endpoint answers: a web site's redirect, e.g. to its login page."""
        return cls(status, {"error": "moved"}, {"location": location})

    @classmethod
    def drip_head(cls, seconds_per_byte: float = 1.0, status: int = 503) -> Fault:
        """The response head one byte every `seconds_per_byte`, really sent over the socket:
        every read gets a byte in time, so only a deadline for the whole request ends it."""
        return cls(status, drip=seconds_per_byte)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """What a request looked like, secrets redacted, so tests can assert on the wire format."""

    status: int  # 0 when the connection was closed without an answer
    path: str
    headers: dict[str, str]  # names lower-cased, API keys replaced by "***"
    event_count: int  # events stored from this request
    gzip: bool
    body_size: int | None  # raw bytes read; None when answered before reading the body
    # The body as Logflare reads it (after gzip), for byte-level checks; only when the fake
    # was made with keep_bodies=True and the request got as far as being decoded.
    body: bytes | None = None
    # The fake clock's time the request was handled: the reading its quota window was chosen
    # by once it got that far, else when it was answered.
    at_ns: int = 0


@dataclass(slots=True)
class _Reply:
    status: int
    body: Any = None  # None: the default body for the status
    headers: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    reset: bool = False
    drip: float = 0.0


class FakeLogflare:
    """A real HTTP server speaking Logflare's ingest contract, in Logflare's order, with faults.

    With `source_rate` (events/s) it enforces the source's rate like Logflare: per fixed window
    of `rate_window_s` on its clock, a request that would pass the window's limit gets the
    quota 429 (no Retry-After) and nothing is stored; the source_* headers report the window."""

    def __init__(
        self,
        api_key: str = "test-key",
        sources: dict[str, str] | None = None,
        clock: Clock | None = None,
        keep_bodies: bool = False,
        source_rate: int | None = None,
        rate_window_s: float = 1.0,
    ) -> None:
        given = sources if sources is not None else {str(uuid.uuid4()): "logsieve-test"}
        self._sources = {str(uuid.UUID(uid)): name for uid, name in given.items()}
        self.api_key, self.source_id = api_key, next(iter(self._sources))
        self._clock: Clock = clock or SystemClock()
        self._keep_bodies = keep_bodies  # off by default: long runs would hold every body
        self._cond = threading.Condition()
        self.events: list[dict[str, Any]] = []  # these three lists only grow under _cond
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []  # client contract breaches: tests should expect none
        self._faults: deque[Fault] = deque()
        self.outage: Fault | None = None  # while set, every request gets this fault
        self._quota = Quota(source_rate, rate_window_s)  # used under _cond
        self.quota_refusals = 0  # 429s answered for the source rate; grows under _cond
        self._server: ThreadingHTTPServer | None = None  # daemon threads: teardown never blocks

    def start(self) -> FakeLogflare:
        if self._server is None:
            self._stopping = threading.Event()  # set on shutdown: wakes delayed faults
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, self))
            threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def shutdown(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            self._stopping.set()
            server.shutdown()
            server.server_close()

    def __enter__(self) -> FakeLogflare:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    @property
    def url(self) -> str:
        assert self._server is not None, "FakeLogflare is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail_next(self, *faults: Fault) -> None:
        """Queue faults consumed FIFO by the next requests, before any validation (outages)."""
        with self._cond:
            self._faults.extend(faults)

    def wait_for_events(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until at least n events are stored; every store notifies, so no polling."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.events) >= n, timeout):
                got = f"{len(self.events)} in {timeout}s; {self.requests=}; {self.violations=}"
                raise AssertionError(f"FakeLogflare: wanted {n} events, got {got}")
            return list(self.events)

    def _handle(self, h: _Handler) -> None:
        with self._cond:
            fault = self._faults.popleft() if self._faults else self.outage
        reply = self._respond(h) if fault is None else self._faulted(h, fault)
        self._commit(h, reply)  # before answering: a client that got its answer sees the state
        h.close_connection = h.close_connection or h.body_size is None or reply.reset
        if not reply.reset:
            _send(h, reply, self._stopping)
        if h.body_size is None:  # answered unread (never on reset): drain, or close() sends RST
            with contextlib.suppress(OSError):
                h.connection.settimeout(1.0)
                h.read_body()

    def _faulted(self, h: _Handler, fault: Fault) -> _Reply:
        normal = self._respond(h) if fault.ingest_valid else _Reply(200)
        if normal.status != 200:
            return normal  # nothing valid to ingest: the real error wins
        h.read_body()
        self._stopping.wait(fault.delay)
        headers = fault.headers or {}
        return _Reply(fault.status, fault.body, headers, normal.events, fault.reset, fault.drip)

    def _respond(self, h: _Handler) -> _Reply:
        try:
            return self._ingest(h, self._check_access(h))
        except Rejected as rejected:
            for violation in rejected.args[1:]:
                self._violate(violation)
            return _Reply(rejected.args[0])

    def _check_access(self, h: _Handler) -> bool:
        """Route, token, query/header source, before reading the body; True if source named."""
        if h.command != "POST" or h.route not in INGEST_PATHS:
            raise Rejected(404)
        q, auth = h.query, h.headers.get("authorization", "")
        bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        if (bearer or h.headers.get("x-api-key") or q.get("api_key")) != self.api_key:
            raise Rejected(401)
        uid = q.get("source") or h.headers.get("x-source")
        verdict = self._source_known(uid, q.get("source_name"))
        if verdict is False:
            raise Rejected(401)  # unknown or malformed source: 401, never 404
        return verdict is True

    def _source_known(self, uid: object, name: object) -> bool | None:
        """None when no source is named; a malformed UUID counts as unknown (401, never 404)."""
        if uid is None:
            return None if name is None else name in self._sources.values()
        with contextlib.suppress(ValueError):
            return str(uuid.UUID(str(uid))) in self._sources
        return False

    def _ingest(self, h: _Handler, source_given: bool) -> _Reply:
        body = h.decoded = decode(h.read_body(), h.headers.get("content-encoding", ""))
        ctype = h.headers.get("content-type", "").split(";")[0].strip().lower()
        if not ctype:
            raise Rejected(400, "request without Content-Type (Logflare stores 1 empty event)")
        if ctype != "application/json" and not ctype.endswith("+json"):
            raise Rejected(415)
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise Rejected(400) from exc
        if not accepts_json(h.headers.get("accept", "")):
            raise Rejected(406)
        found = payload if isinstance(payload, dict) else {}
        if not (source_given or self._source_known(found.get("source"), found.get("source_name"))):
            raise Rejected(401)
        items, single = self._items(payload)
        normalised = (self._normalise(item, check_ts=not single) for item in items)
        events = [event for event in normalised if event is not None]
        h.at_ns = self._clock.now_ns()  # one reading: the request's time and its quota window
        with self._cond:
            admitted, headers = self._quota.admit(h.at_ns, len(items))
            self.quota_refusals += 0 if admitted else 1
        if not admitted:  # Logflare's rate 429: nothing stored, and no Retry-After
            return _Reply(429, {"error": QUOTA_ERROR}, headers)
        return _Reply(200, None, headers, events)

    def _items(self, payload: Any) -> tuple[list[Any], bool]:
        single = isinstance(payload, dict) and "batch" not in payload
        if single:  # Logflare drops the timestamp and id of a single-object body
            self._violate("single-object body: Logflare drops its timestamp and id")
            payload = [{k: v for k, v in payload.items() if k not in _SINGLE_DROPS}]
        items = payload.get("batch") if isinstance(payload, dict) else payload
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise Rejected(400, f"body is not a batch of objects: {json.dumps(payload)[:200]}")
        return items, single  # (the real server would crash with a 500 on a non-object item)

    def _normalise(self, item: dict[str, Any], check_ts: bool) -> dict[str, Any] | None:
        """Mirror the server: message pick, timestamp rule, key rewrite, deep-drop, future drop."""
        event = dict(item)
        message = event.pop("event_message", None) or event.pop("message", "")
        timestamp = self._timestamp_us(event.pop("timestamp", None), check_ts)
        if timestamp > self._clock.now_ns() // 1000 + FUTURE_LIMIT_US:
            return None
        rest = compact(event)
        metadata = rest.pop("metadata", {})
        return {"event_message": message, "timestamp": timestamp, "metadata": metadata, **rest}

    def _timestamp_us(self, value: Any, check: bool) -> int:
        """Digit count: 10 = s, 13 = ms, 16 = µs, 19 = ns, else µs; a bad one is a client bug."""
        value = round(value) if isinstance(value, float) else value
        if not isinstance(value, int) or isinstance(value, bool):
            if check or value is not None:
                self._violate(f"timestamp {value!r} unusable: Logflare substitutes server time")
            return self._clock.now_ns() // 1000
        if value == 0:
            self._violate("timestamp 0: Logflare stores 1970-01-01")
        digits = len(str(abs(value)))
        return value // 1_000 if digits == 19 else value * {10: 10**6, 13: 10**3}.get(digits, 1)

    def _violate(self, message: str) -> None:
        with self._cond:
            self.violations.append(message)

    def _commit(self, h: _Handler, reply: _Reply) -> None:
        headers = {k.lower(): v.replace(self.api_key, "***") for k, v in h.headers.items()}
        headers |= {k: "***" for k in ("authorization", "x-api-key") if k in headers}
        gzipped = h.headers.get("content-encoding", "").strip().lower() == "gzip"
        status = 0 if reply.reset else reply.status
        body = h.decoded if self._keep_bodies else None
        count, at_ns = len(reply.events), self._clock.now_ns() if h.at_ns is None else h.at_ns
        record = RecordedRequest(status, h.route, headers, count, gzipped, h.body_size, body, at_ns)
        with self._cond:
            self.events.extend(reply.events)
            self.requests.append(record)
            self._cond.notify_all()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the pooled httpx client logsieve uses
    timeout = 30

    def __init__(self, fake: FakeLogflare, *args: Any) -> None:
        self.fake = fake  # set first: the base __init__ serves the whole connection
        super().__init__(*args)

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        self.route, self.query = parts.path, dict(parse_qsl(parts.query))
        self.body_size: int | None = None
        self.decoded: bytes | None = None  # the body after Content-Encoding, once read
        self.at_ns: int | None = None  # the clock's reading for the quota, once ingesting
        self.fake._handle(self)

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

    def read_body(self) -> bytes:
        """Content-Length bodies only (logsieve never sends chunked); reads at most once."""
        if self.body_size is not None:
            return b""
        length = self.headers.get("content-length", "0").strip()
        data = self.rfile.read(int(length)) if length.isdigit() else b""
        self.body_size = len(data)
        return data

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests assert on `.requests`, not on stderr."""


def _send(h: _Handler, reply: _Reply, stopping: threading.Event) -> None:
    body = reply.body if reply.body is not None else _BODIES.get(reply.status)
    kind, data = "text/html; charset=utf-8", str(body).encode()
    if not isinstance(body, str):
        kind = "application/json"
        data = json.dumps(body or {"error": h.responses.get(reply.status, ("Error",))[0]}).encode()
    headers = {"content-type": kind, "content-length": str(len(data))}
    headers |= {"connection": "close"} if h.close_connection else {}
    with contextlib.suppress(OSError):  # the client gave up, e.g. timed out on a delayed fault
        if reply.drip:
            _drip(h, _head(h, reply.status, headers | reply.headers), reply.drip, stopping)
        else:
            h.send_response(reply.status)
            for name, value in (headers | reply.headers).items():
                h.send_header(name, value)
            h.end_headers()
        h.wfile.write(data)  # unbuffered socket writer: no flush needed


def _head(h: _Handler, status: int, headers: dict[str, str]) -> bytes:
    reason = h.responses.get(status, ("Error",))[0]
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def _drip(h: _Handler, head: bytes, seconds: float, stopping: threading.Event) -> None:
    """One byte at a time until the head is out; raises OSError once the client has gone."""
    for index in range(len(head)):
        h.wfile.write(head[index : index + 1])
        if stopping.wait(seconds):
            raise OSError("the fake Logflare is shutting down")
