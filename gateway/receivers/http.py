"""The OTLP/HTTP receiver: POST /v1/logs -> the shared ingest path -> 200 after the commit.
POST /v1/traces and /v1/metrics are answered 200 with every item rejected (signals.py).

Bodies are `application/x-protobuf` or `application/json` (OTLP/JSON), optionally gzip or
deflate; the size limit counts the decompressed bytes. Answers follow the OTLP specification
and come in the request's content type: 200 with an ExportLogsServiceResponse (with
partial_success when records were left out), 400 with a google.rpc.Status for bad data, 401
without the bearer token, 413 past the size limit, 415 for other content types, 429 or 503
with Retry-After when producers must back off.

Browser pages are untrusted and public: a request with an `Origin` must come from
`cors.allowed_origins` (preflights answered), is held to the smaller browser body limit, and
to a token bucket per client address.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any

from google.protobuf.message import DecodeError, Message
from google.rpc import code_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from werkzeug.wrappers import Request, Response

from gateway.clock import Clock
from gateway.config.receivers import MIB, HttpReceiverConfig
from gateway.http.limits import OTLP_HTTP_SHARE, ServerLimits, connection_cap
from gateway.http.ratelimit import RateLimiter
from gateway.http.wsgi_server import WsgiServer
from gateway.receivers import decompress, otlp_json, signals
from gateway.receivers.ingest import BearerCheck, Ingest, IngestOutcome, Verdict, rpc_status

log = logging.getLogger("logsieve.receiver")
SETTINGS = "receivers.otlp.http"  # where this receiver's settings live, for messages
PATH = "/v1/logs"
PROTOBUF, JSON = "application/x-protobuf", "application/json"
# An ExportLogsServiceResponse with nothing set, in each encoding: most answers are this.
EMPTY_RESPONSE = {PROTOBUF: b"", JSON: b"{}"}
ALLOWED_HEADERS = "Content-Type, Content-Encoding, Authorization"
# The gRPC code a Status body carries for each HTTP status we answer with.
STATUS_CODES = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    403: code_pb2.PERMISSION_DENIED,
    404: code_pb2.NOT_FOUND,
    405: code_pb2.UNIMPLEMENTED,
    413: code_pb2.RESOURCE_EXHAUSTED,
    415: code_pb2.INVALID_ARGUMENT,
    429: code_pb2.RESOURCE_EXHAUSTED,
    503: code_pb2.UNAVAILABLE,
}


# What a refusal before the queue counts as (503s are counted by the ingest path).
REFUSAL_REASONS = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden_origin",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class Refused(Exception):
    """An answer other than 200, decided before the request reached the queue."""

    def __init__(
        self, status: int, message: str, headers: dict[str, str] | None = None, retry_s: float = 0
    ) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.headers = headers or {}
        self.retry_s = retry_s


class OtlpHttpReceiver:
    def __init__(self, ingest: Ingest, config: HttpReceiverConfig, clock: Clock) -> None:
        self.ingest = ingest  # shared with the gRPC receiver
        self._intake = ingest.for_receiver("http")  # counted as receiver="http"
        self._config = config
        self._bearer = BearerCheck(config.auth.token() if config.auth else None)
        browser = config.browser
        self._limiter = RateLimiter(clock, browser.requests_per_second, browser.burst)
        self._origins = frozenset(config.cors.allowed_origins)
        self._signals = signals.SignalSink("http", ingest.metrics)
        self._server: WsgiServer | None = None
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self._server is not None:
            return
        host, port = self._config.endpoint.rsplit(":", 1)
        tls = (self._config.tls.cert_file, self._config.tls.key_file) if self._config.tls else None
        self._server = WsgiServer(
            self.wsgi,
            host.strip("[]"),
            int(port),
            tls=tls,
            name="otlp-http",
            limits=server_limits(self._config),
            setting=f"{SETTINGS}.endpoint",
            # Past this waitress refuses (413) before buffering; below it, our own 413 says why.
            max_body=2 * self._config.max_request_mib * MIB,
        )
        self.port = self._server.port
        self._server.start()
        log.info("OTLP/HTTP receiver listening on %s", self.url)

    @property
    def url(self) -> str:
        return self._server.url if self._server else ""

    def shutdown(self) -> None:
        """Stop accepting; requests in flight finish on their threads; idempotent."""
        if self._server is not None:
            self._server.shutdown()

    # -- requests --------------------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self._intake.in_flight():
            response = self.handle(Request(environ))
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        origin = request.headers.get("Origin")
        kind = JSON if _media_type(request) == JSON else PROTOBUF
        signal = signals.BY_PATH.get(request.path)
        try:
            if request.path != PATH and signal is None:
                raise Refused(404, f"no such path; send logs to POST {PATH}")
            if request.method == "OPTIONS":
                return self._with_cors(self._preflight(request, origin), origin)
            if request.method != "POST":
                raise Refused(405, "use POST", {"Allow": "POST, OPTIONS"})
            response = self._export(request, origin, signal)
        except Refused as refused:
            if refused.status in REFUSAL_REASONS:
                self._intake.refused_request(REFUSAL_REASONS[refused.status])
            response = _status_response(refused, kind)
        return self._with_cors(response, origin)

    def _export(
        self, request: Request, origin: str | None, signal: signals.Signal | None
    ) -> Response:
        limit = self._admit_origin(request, origin)
        if not self._bearer.allows(request.headers.get("Authorization")):
            challenge = {"WWW-Authenticate": 'Bearer realm="logsieve"'}
            raise Refused(401, "a valid bearer token is required", challenge)
        kind = _media_type(request)
        if kind not in (PROTOBUF, JSON):
            raise Refused(415, f"send {PROTOBUF} or {JSON}, not {kind or 'no content type'}")
        body = _decompressed(request, limit)
        if signal is not None:
            answer = self._signals.take(signal, _decode_signal(signal, kind, body))
            return Response(_encode(answer, kind), status=200, content_type=kind)
        outcome = self._intake.enqueue(_decode(kind, body), len(body))
        return _answer(outcome, kind)

    def _admit_origin(self, request: Request, origin: str | None) -> int:
        """The body limit for this request; browser pages are checked and rate-limited."""
        if origin is None:
            return self._config.max_request_mib * MIB
        if not self._allows(origin):
            raise Refused(403, f"origin {origin[:100]!r} may not send logs here")
        wait = self._limiter.wait_s(request.remote_addr or "")
        if wait:
            retry = {"Retry-After": str(math.ceil(wait))}
            raise Refused(429, "too many requests from this address; slow down", retry, wait)
        return self._config.browser.max_request_kib * 1024

    def _allows(self, origin: str) -> bool:
        return "*" in self._origins or origin in self._origins

    def _preflight(self, request: Request, origin: str | None) -> Response:
        method = request.headers.get("Access-Control-Request-Method")
        if origin is None or method is None:
            return Response(status=204, headers={"Allow": "POST, OPTIONS"})
        if not self._allows(origin) or method != "POST":
            return Response(status=403)
        headers = {
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": str(int(self._config.cors.max_age)),
        }
        return Response(status=204, headers=headers)

    def _with_cors(self, response: Response, origin: str | None) -> Response:
        response.vary.add("Origin")
        if origin is not None and self._allows(origin):
            # Echo the origin (not "*"): one answer per origin, cached apart by Vary.
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = "Retry-After"
        return response


def server_limits(config: HttpReceiverConfig) -> ServerLimits:
    """Keep-alive clients each hold a connection; each may cost two descriptors (its socket
    and the temporary file waitress buffers a large body in)."""
    setting = f"{SETTINGS}.max_connections"
    cap = connection_cap(config.max_connections, OTLP_HTTP_SHARE, setting, per_connection=2)
    return ServerLimits(
        max_connections=cap,
        threads=config.threads,
        idle_timeout=config.max_connection_idle,
        read_timeout=config.read_timeout,
        cap_setting=setting,
    )


def _media_type(request: Request) -> str:
    return (request.mimetype or "").lower()


def _decompressed(request: Request, limit: int) -> bytes:
    """The body, decompressed, refused (413) past `limit` bytes before or after."""
    if request.content_length is not None and request.content_length > limit:
        raise Refused(413, f"the body is larger than {limit} bytes")
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise Refused(413, f"the body is larger than {limit} bytes")
    encoding = (request.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding == "identity":
        return raw
    if encoding not in decompress.ENCODINGS:
        raise Refused(415, f"unsupported Content-Encoding {encoding[:40]!r}: use gzip or deflate")
    try:
        return decompress.decompress(raw, encoding, limit)
    except decompress.BodyTooLarge as exc:
        raise Refused(413, str(exc)) from None
    except decompress.CorruptBody as exc:
        raise Refused(400, str(exc)) from None


def _decode(kind: str, body: bytes) -> ExportLogsServiceRequest:
    if kind == JSON:
        try:
            return otlp_json.parse_request(body)
        except otlp_json.OtlpJsonError as exc:
            raise Refused(400, str(exc)) from None
    try:
        return ExportLogsServiceRequest.FromString(body)
    except DecodeError as exc:
        raise Refused(400, f"not an ExportLogsServiceRequest: {exc}") from None


def _decode_signal(signal: signals.Signal, kind: str, body: bytes) -> Message:
    try:
        return signal.decode_json(body) if kind == JSON else signal.decode(body)
    except signals.BadSignalRequest as exc:
        raise Refused(400, str(exc)) from None


def _answer(outcome: IngestOutcome, kind: str) -> Response:
    if outcome.verdict is Verdict.ACCEPTED:
        body = _encode(outcome.response(), kind) if outcome.rejected else EMPTY_RESPONSE[kind]
        return Response(body, status=200, content_type=kind)
    retry = {"Retry-After": str(max(1, math.ceil(outcome.retry_after_s)))}
    raise Refused(503, outcome.message, retry, outcome.retry_after_s)


def _status_response(refused: Refused, kind: str) -> Response:
    status = rpc_status(STATUS_CODES[refused.status], refused.message, refused.retry_s)
    body = _encode(status, kind)
    return Response(body, status=refused.status, headers=refused.headers, content_type=kind)


def _encode(message: Message, kind: str) -> bytes:
    return otlp_json.dumps(message) if kind == JSON else message.SerializeToString()
