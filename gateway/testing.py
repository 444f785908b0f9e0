"""Test doubles shipped in the package, so every suite uses one faithful copy of Logflare."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import uuid
import zlib
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from gateway.clock import NS_PER_SECOND, Clock, SystemClock
from gateway.outcome import ExportOutcome, OutcomeKind

MAX_BODY_BYTES = 12_000_000  # Logflare's Plug.Parsers length, counted after decompression
INGEST_PATHS = frozenset({"/api/logs", "/logs", "/api/events"})
FUTURE_LIMIT_US = 3_600_000_000  # events more than 1 h ahead are silently dropped
USER_LIMIT, SOURCE_LIMIT = 9_000, 1_500  # 60 x the default ev/s quotas, as Logflare reports
QUOTA_ERROR = "Source rate is over the API quota. Email support@logflare.app to increase it."
_BODIES: dict[int, dict[str, Any]] = {200: {"message": "Logged!"}, 401: {"error": "Unauthorized"}}
_ENCODINGS = {"": 0, "identity": 0, "gzip": 31, "x-gzip": 31, "deflate": 15}  # zlib wbits
_SINGLE_DROPS = ("timestamp", "id", "source", "source_name")
_RESERVED = ("_TABLE_", "_FILE_", "_PARTITION", "_ROW_TIMESTAMP", "__ROOT__", "_COLIDENTIFIER")


class FakeClock:
    """A clock that moves only when told, so time-dependent code is tested without sleeping."""

    def __init__(self, start_ns: int = 1_767_225_600_000_000_000) -> None:
        self._ns, self._lock = start_ns, threading.Lock()

    def now_ns(self) -> int:
        with self._lock:
            return self._ns

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._ns += round(seconds * NS_PER_SECOND)

    def set(self, ns: int) -> None:
        with self._lock:
            self._ns = ns


class RecordingExporter:
    """An exporter that remembers its calls and answers from a script, to test its callers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards the script and every append below
        self._script: deque[ExportOutcome] = deque()
        self.calls: list[list[dict[str, Any]]] = []
        self.events: list[dict[str, Any]] = []  # only from OK calls: what Logflare would hold

    def script(self, *outcomes: ExportOutcome) -> None:
        """Queue outcomes for the next calls (FIFO); once drained, every call succeeds."""
        with self._lock:
            self._script.extend(outcomes)

    def export(self, events: list[dict[str, Any]]) -> ExportOutcome:
        batch = [dict(event) for event in events]  # copies: callers may reuse their dicts
        with self._lock:
            outcome = self._script.popleft() if self._script else ExportOutcome(OutcomeKind.OK, 200)
            self.calls.append(batch)
            self.events.extend(batch if outcome.ok else [])
        return outcome


@dataclass(frozen=True, slots=True)
class Fault:
    """One scripted misbehaviour for the next request, applied before any validation."""

    status: int
    body: dict[str, Any] | None = None  # None: a plausible default body for the status
    headers: dict[str, str] | None = None
    delay: float = 0.0  # seconds the server thread waits before answering
    reset: bool = False  # close the connection without any response
    ingest_valid: bool = False  # also ingest normally and keep the events (406 partial ingest)

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        return cls(status)

    @classmethod
    def buffer_full(cls) -> Fault:
        return cls(429, {"error": "Buffer Full: Too Many Requests"}, {"retry-after": "3"})

    @classmethod
    def quota(cls) -> Fault:
        """The rate-limit 429 has no Retry-After, only exhausted x-rate-limit-* headers."""
        return cls(429, {"error": QUOTA_ERROR}, _rate_headers(USER_LIMIT))

    @classmethod
    def unauthorized(cls) -> Fault:
        return cls(401)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """What a request looked like, secrets redacted, so tests can assert on the wire format."""

    status: int  # 0 when the connection was closed without an answer
    path: str
    headers: dict[str, str]  # names lower-cased, API keys replaced by "***"
    event_count: int  # events stored from this request
    gzip: bool
    body_size: int | None  # raw bytes read; None when answered before reading the body


@dataclass(slots=True)
class _Reply:
    status: int
    body: Any = None  # None: the default body for the status
    headers: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    reset: bool = False


class _Rejected(Exception):
    """args = (status, [violation]); a violation is something logsieve must never send."""


class FakeLogflare:
    """A real HTTP server speaking Logflare's ingest contract, in Logflare's order, with faults."""

    def __init__(
        self,
        api_key: str = "test-key",
        sources: dict[str, str] | None = None,
        clock: Clock | None = None,
    ) -> None:
        given = sources if sources is not None else {str(uuid.uuid4()): "logsieve-test"}
        self._sources = {str(uuid.UUID(uid)): name for uid, name in given.items()}
        self.api_key, self.source_id = api_key, next(iter(self._sources))
        self._clock: Clock = clock or SystemClock()
        self._cond = threading.Condition()
        self.events: list[dict[str, Any]] = []  # these three lists only grow under _cond
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []  # client contract breaches: tests should expect none
        self._faults: deque[Fault] = deque()
        self.outage: Fault | None = None  # while set, every request gets this fault
        self._per_minute: dict[int, int] = {}  # events accepted per clock minute
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
            _send(h, reply)
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
        return _Reply(fault.status, fault.body, fault.headers or {}, normal.events, fault.reset)

    def _respond(self, h: _Handler) -> _Reply:
        try:
            return self._ingest(h, self._check_access(h))
        except _Rejected as rejected:
            for violation in rejected.args[1:]:
                self._violate(violation)
            return _Reply(rejected.args[0])

    def _check_access(self, h: _Handler) -> bool:
        """Route, token, query/header source, before reading the body; True if source named."""
        if h.command != "POST" or h.route not in INGEST_PATHS:
            raise _Rejected(404)
        q, auth = h.query, h.headers.get("authorization", "")
        bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        if (bearer or h.headers.get("x-api-key") or q.get("api_key")) != self.api_key:
            raise _Rejected(401)
        uid = q.get("source") or h.headers.get("x-source")
        verdict = self._source_known(uid, q.get("source_name"))
        if verdict is False:
            raise _Rejected(401)  # unknown or malformed source: 401, never 404
        return verdict is True

    def _source_known(self, uid: object, name: object) -> bool | None:
        """None when no source is named; a malformed UUID counts as unknown (401, never 404)."""
        if uid is None:
            return None if name is None else name in self._sources.values()
        with contextlib.suppress(ValueError):
            return str(uuid.UUID(str(uid))) in self._sources
        return False

    def _ingest(self, h: _Handler, source_given: bool) -> _Reply:
        body = _decode(h.read_body(), h.headers.get("content-encoding", ""))
        ctype = h.headers.get("content-type", "").split(";")[0].strip().lower()
        if not ctype:
            raise _Rejected(400, "request without Content-Type (Logflare stores 1 empty event)")
        if ctype != "application/json" and not ctype.endswith("+json"):
            raise _Rejected(415)
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise _Rejected(400) from exc
        if not _accepts_json(h.headers.get("accept", "")):
            raise _Rejected(406)
        found = payload if isinstance(payload, dict) else {}
        if not (source_given or self._source_known(found.get("source"), found.get("source_name"))):
            raise _Rejected(401)
        items, single = self._items(payload)
        normalised = (self._normalise(item, check_ts=not single) for item in items)
        events = [event for event in normalised if event is not None]
        minute = self._clock.now_ns() // (60 * NS_PER_SECOND)  # Logflare's 60 s quota bucket
        with self._cond:
            self._per_minute[minute] = used = self._per_minute.get(minute, 0) + len(items)
        return _Reply(200, None, _rate_headers(used), events)

    def _items(self, payload: Any) -> tuple[list[Any], bool]:
        single = isinstance(payload, dict) and "batch" not in payload
        if single:  # Logflare drops the timestamp and id of a single-object body
            self._violate("single-object body: Logflare drops its timestamp and id")
            payload = [{k: v for k, v in payload.items() if k not in _SINGLE_DROPS}]
        items = payload.get("batch") if isinstance(payload, dict) else payload
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise _Rejected(400, f"body is not a batch of objects: {json.dumps(payload)[:200]}")
        return items, single  # (the real server would crash with a 500 on a non-object item)

    def _normalise(self, item: dict[str, Any], check_ts: bool) -> dict[str, Any] | None:
        """Mirror the server: message pick, timestamp rule, key rewrite, deep-drop, future drop."""
        event = dict(item)
        message = event.pop("event_message", None) or event.pop("message", "")
        timestamp = self._timestamp_us(event.pop("timestamp", None), check_ts)
        if timestamp > self._clock.now_ns() // 1000 + FUTURE_LIMIT_US:
            return None
        rest = _compact(event)
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
        record = RecordedRequest(status, h.route, headers, len(reply.events), gzipped, h.body_size)
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


def _send(h: _Handler, reply: _Reply) -> None:
    body = reply.body if reply.body is not None else _BODIES.get(reply.status)
    data = json.dumps(body or {"error": h.responses.get(reply.status, ("Error",))[0]}).encode()
    headers = {"content-type": "application/json", "content-length": str(len(data))}
    headers |= {"connection": "close"} if h.close_connection else {}
    with contextlib.suppress(OSError):  # the client gave up, e.g. timed out on a delayed fault
        h.send_response(reply.status)
        for name, value in (headers | reply.headers).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)  # unbuffered socket writer: no flush needed


def _decode(raw: bytes, encoding: str) -> bytes:
    """gzip/deflate like PlugCaisson; br, zstd and others are a 400; the limit counts decoded."""
    wbits = _ENCODINGS.get(encoding.strip().lower(), -1)
    if wbits == -1:
        raise _Rejected(400)
    try:  # bounded, so a zip bomb stops at the limit (a truncated stream then fails as JSON)
        data = zlib.decompressobj(wbits).decompress(raw, MAX_BODY_BYTES + 1) if wbits else raw
    except zlib.error as exc:
        raise _Rejected(400) from exc
    if len(data) > MAX_BODY_BYTES:
        raise _Rejected(413)
    return data


def _accepts_json(accept: str) -> bool:
    """Phoenix `accepts ["json"]`: no header, */*, application/* or application/json."""
    media = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return not accept.strip() or bool(media & {"*/*", "application/*", "application/json"})


def _compact(value: Any) -> Any:
    """Rewrite keys to BigQuery column names and deep-drop None, "", {} and [], like Logflare."""
    if isinstance(value, list):
        return [v for v in map(_compact, value) if v is not None and v not in ("", {}, [])]
    if not isinstance(value, dict):
        return value
    kept = {_column_name(str(k)): _compact(v) for k, v in value.items()}
    return {k: v for k, v in kept.items() if v is not None and v not in ("", {}, [])}


def _column_name(key: str) -> str:
    """BigQuery column rule: `service.name` -> `_service_name`, `top-level` -> `_top_level`."""
    reserved = key.startswith(_RESERVED)
    if not reserved and re.fullmatch(r"([A-Za-z_]\w{0,127})?", key, re.ASCII):
        return key
    dash, odd = "-" in key, re.search(r"[^\w-]", key, re.ASCII) is not None
    digit = not reserved and not dash and key[:1] in tuple("0123456789")
    name = "_" * (reserved + dash + odd + digit) + re.sub(r"\W", "_", key, flags=re.ASCII)
    return "_" + name[:128] if len(name) > 128 else name


def _rate_headers(used: int) -> dict[str, str]:
    limits = (("user", USER_LIMIT), ("source", SOURCE_LIMIT))
    headers = {f"x-rate-limit-{scope}_limit": str(limit) for scope, limit in limits}
    return headers | {f"x-rate-limit-{s}_remaining": str(max(0, n - used)) for s, n in limits}
