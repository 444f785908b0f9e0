"""A fake OTLP logs backend: real gRPC and HTTP servers on 127.0.0.1, port 0, with faults.

Both servers check each request against the OTLP specification (testkit/otlp_rules.py; over
HTTP also the method, path, Content-Type, Content-Encoding and the protobuf itself), record
what arrives and answer as a backend would. Faults are queued for the next requests, on either
protocol, and come before any check: UNAVAILABLE or 503 with a retry delay, RESOURCE_EXHAUSTED
or 429 with one, INVALID_ARGUMENT or 400, UNAUTHENTICATED or 401, a partial success rejecting
chosen records, a stall (no answer until `release()`), a connection reset (a real TCP RST;
the gRPC port sits behind testkit/tcp_relay.py for that).
"""

from __future__ import annotations

import math
import ssl
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from typing import Literal

import grpc
from google.protobuf import any_pb2, duration_pb2, json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from testkit.otlp_http import HttpFront
from testkit.otlp_rules import Received, received, violations
from testkit.tcp_relay import TcpRelay

SERVICE = "opentelemetry.proto.collector.logs.v1.LogsService"
Kind = Literal["ok", "unavailable", "throttled", "invalid", "unauthenticated", "stall", "reset"]
Protocol = Literal["grpc", "http"]
Reject = Callable[[Received], bool]
GRPC_CODES = {
    "unavailable": grpc.StatusCode.UNAVAILABLE,
    "throttled": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "invalid": grpc.StatusCode.INVALID_ARGUMENT,
    "unauthenticated": grpc.StatusCode.UNAUTHENTICATED,
}
HTTP_STATUSES = {"unavailable": 503, "throttled": 429, "invalid": 400, "unauthenticated": 401}


@dataclass(frozen=True, slots=True)
class Fault:
    """One scripted answer for the next request."""

    kind: Kind
    retry_after: float | None = None  # seconds: RetryInfo over gRPC, Retry-After over HTTP
    message: str = ""
    reject: Reject | None = None  # with kind "ok": a partial success rejecting these records

    @classmethod
    def unavailable(cls, retry_after: float | None = 2.0) -> Fault:
        return cls("unavailable", retry_after, "the backend is restarting")

    @classmethod
    def throttled(cls, retry_after: float | None = 3.0) -> Fault:
        return cls("throttled", retry_after, "over the ingest quota")

    @classmethod
    def invalid(cls, message: str = "malformed request") -> Fault:
        return cls("invalid", message=message)

    @classmethod
    def unauthenticated(cls, message: str = "wrong API key") -> Fault:
        return cls("unauthenticated", message=message)

    @classmethod
    def partial(cls, reject: Reject, message: str = "invalid records dropped") -> Fault:
        return cls("ok", message=message, reject=reject)

    @classmethod
    def stall(cls) -> Fault:
        return cls("stall")

    @classmethod
    def reset(cls) -> Fault:
        return cls("reset")


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """What a request looked like and how it was answered; header secrets masked."""

    protocol: Protocol
    answer: str  # "OK" or the gRPC code's name; over HTTP the status; "reset"
    headers: dict[str, str]
    records: int
    accepted: int
    resource_groups: int
    gzip: bool | None  # HTTP: Content-Encoding: gzip; None over gRPC (grpcio does not tell)


@dataclass(slots=True)
class Answer:
    """What the shared logic decided; each server writes it in its own protocol."""

    kind: Kind = "ok"
    retry_after: float | None = None
    message: str = ""
    rejected: int = 0
    records: list[Received] = field(default_factory=list)


class FakeOtlp:
    def __init__(
        self,
        required_headers: dict[str, str] | None = None,
        tls: tuple[bytes, bytes] | None = None,  # (certificate chain, key), PEM
        resettable: bool = True,  # the gRPC port behind a relay, so `Fault.reset` can work
    ) -> None:
        self.required_headers = {k.lower(): v for k, v in (required_headers or {}).items()}
        self.reject: Reject | None = None  # records it always refuses (a partial success)
        self.invalid_if: Reject | None = None  # records whose request it refuses whole (400)
        self.outage: Fault | None = None  # while set, the answer to every unscripted request
        self._tls, self._resettable = tls, resettable
        self._cond = threading.Condition()
        self.records: list[Received] = []  # these three lists only grow under _cond
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self._faults: deque[Fault] = deque()
        self._arrived = 0
        self._released = threading.Event()
        self._grpc: grpc.Server | None = None
        self._relay: TcpRelay | None = None
        self._http: HttpFront | None = None

    def start(self) -> FakeOtlp:
        self._released.clear()
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        handler = grpc.unary_unary_rpc_method_handler(self._grpc_export)
        self._grpc.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler(SERVICE, {"Export": handler})]
        )
        address = "127.0.0.1:0"
        if self._tls is None:
            self._grpc_port = self._grpc.add_insecure_port(address)
        else:
            credentials = grpc.ssl_server_credentials([(self._tls[1], self._tls[0])])
            self._grpc_port = self._grpc.add_secure_port(address, credentials)
        self._grpc.start()
        if self._resettable:
            self._relay = TcpRelay(self._grpc_port)
        self._http = HttpFront(self, _server_context(self._tls))
        return self

    def shutdown(self) -> None:
        self._released.set()  # wakes stalled handlers
        if self._http is not None:
            self._http.close()
        if self._relay is not None:
            self._relay.close()
        if self._grpc is not None:
            self._grpc.stop(grace=None)

    def __enter__(self) -> FakeOtlp:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    @property
    def grpc_url(self) -> str:
        port = self._relay.port if self._relay is not None else self._grpc_port
        return f"{self._scheme}://127.0.0.1:{port}"

    @property
    def http_url(self) -> str:
        assert self._http is not None, "FakeOtlp is not started"
        return f"{self._scheme}://127.0.0.1:{self._http.port}"

    def url(self, protocol: str) -> str:
        return self.grpc_url if protocol == "grpc" else self.http_url

    @property
    def _scheme(self) -> str:
        return "http" if self._tls is None else "https"

    @property
    def grpc_bytes_in(self) -> int:
        """Bytes clients sent to the gRPC port, as they crossed the wire."""
        assert self._relay is not None, "made with resettable=False: no relay counts them"
        return self._relay.bytes_in

    def fail_next(self, *faults: Fault) -> None:
        """Queue faults consumed FIFO by the next requests, on either protocol."""
        with self._cond:
            self._faults.extend(faults)

    def release(self) -> None:
        """Let stalled requests go on: they are answered as if nothing had happened."""
        self._released.set()

    def wait_for_records(self, n: int, timeout: float = 10.0) -> list[Received]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.records) >= n, timeout):
                raise AssertionError(f"FakeOtlp: wanted {n} records, got {len(self.records)}")
            return list(self.records)

    def wait_for_requests(self, n: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """Requests answered (or reset) so far, once there are n; a stalled one counts once
        it is released."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.requests) >= n, timeout):
                raise AssertionError(f"FakeOtlp: wanted {n} requests, got {len(self.requests)}")
            return list(self.requests)

    def wait_for_arrivals(self, n: int, timeout: float = 10.0) -> None:
        """Block until n decoded requests have reached the backend's logic, a stalled one
        included (it arrives before its answer)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._arrived >= n, timeout):
                raise AssertionError(f"FakeOtlp: wanted {n} arrivals, got {self._arrived}")

    # -- the shared logic: faults, authentication, records ----------------------------------

    def answer(self, request: ExportLogsServiceRequest, headers: dict[str, str]) -> Answer:
        """Decide a decoded request's answer (called by both servers)."""
        with self._cond:
            self._arrived += 1
            self._cond.notify_all()
            fault = self._faults.popleft() if self._faults else self.outage
        if fault is not None and fault.kind == "stall":
            self._released.wait()
            fault = None
        if fault is not None and fault.kind != "ok":
            return Answer(fault.kind, fault.retry_after, fault.message)
        if any(headers.get(k) != v for k, v in self.required_headers.items()):
            return Answer("unauthenticated", message="missing or wrong credentials")
        reject = fault.reject if fault is not None else self.reject
        arrived = list(received(request))
        invalid = self.invalid_if
        if invalid is not None and any(invalid(record) for record in arrived):
            return Answer("invalid", message="the request holds an invalid record")
        kept = [r for r in arrived if reject is None or not reject(r)]
        rejected = len(arrived) - len(kept)
        message = (fault.message if fault else "records refused") if rejected else ""
        return Answer("ok", None, message, rejected, kept)

    def commit(
        self,
        protocol: Protocol,
        answer: Answer | None,  # None: refused before the shared logic saw it
        request: ExportLogsServiceRequest | None,
        headers: dict[str, str],
        status: str,
        gzip: bool | None = None,
        problems: tuple[str, ...] = (),
    ) -> None:
        """Record the request and its records; before the answer goes out, so a client that
        has its answer sees them."""
        shown = {k: ("***" if k in self.required_headers else v) for k, v in headers.items()}
        found = [*problems, *(violations(request) if request is not None else [])]
        groups = len(request.resource_logs) if request is not None else 0
        count = sum(1 for _ in received(request)) if request is not None else 0
        accepted = answer.records if answer is not None else []
        recorded = RecordedRequest(protocol, status, shown, count, len(accepted), groups, gzip)
        with self._cond:
            self.records.extend(accepted)
            self.requests.append(recorded)
            self.violations.extend(found)
            self._cond.notify_all()

    def http_answer(self, answer: Answer, as_json: bool) -> tuple[int, bytes, dict[str, str]]:
        """(status, body, headers) of an answer over HTTP: an ExportLogsServiceResponse, or
        a google.rpc.Status with Retry-After (whole seconds) when a delay is given."""
        headers: dict[str, str] = {}
        message: Message
        if answer.kind == "ok":
            status, message = 200, response(answer)
        else:
            status = HTTP_STATUSES[answer.kind]
            message = grpc_status(GRPC_CODES[answer.kind], answer.message, answer.retry_after)
            if answer.retry_after is not None:
                headers["retry-after"] = str(math.ceil(answer.retry_after))
        body = (
            json_format.MessageToJson(message).encode() if as_json else message.SerializeToString()
        )
        return status, body, headers

    # -- gRPC -----------------------------------------------------------------------------

    def _grpc_export(self, payload: bytes, context: grpc.ServicerContext) -> bytes:
        headers = {key: str(value) for key, value in context.invocation_metadata() or ()}
        try:
            request = ExportLogsServiceRequest.FromString(payload)
        except Exception:
            problem = "a request that is not an ExportLogsServiceRequest"
            self.commit("grpc", None, None, headers, "INVALID_ARGUMENT", None, (problem,))
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "undecodable request")
        answer = self.answer(request, headers)
        if answer.kind == "reset":
            self.commit("grpc", answer, request, headers, "reset")
            assert self._relay is not None, "Fault.reset over gRPC needs resettable=True"
            self._relay.reset_all()
            context.abort(grpc.StatusCode.UNAVAILABLE, "reset")  # goes nowhere
        if answer.kind != "ok":
            code = GRPC_CODES[answer.kind]
            self.commit("grpc", answer, request, headers, code.name)
            status = grpc_status(code, answer.message, answer.retry_after)
            context.abort_with_status(rpc_status.to_status(status))
        self.commit("grpc", answer, request, headers, "OK")
        return response(answer).SerializeToString()


def response(answer: Answer) -> ExportLogsServiceResponse:
    built = ExportLogsServiceResponse()
    if answer.rejected:
        built.partial_success.rejected_log_records = answer.rejected
        built.partial_success.error_message = answer.message
    return built


def grpc_status(
    code: grpc.StatusCode, message: str, retry_after: float | None
) -> status_pb2.Status:
    """A google.rpc.Status, with RetryInfo when a delay is given (how OTLP says "back off")."""
    status = status_pb2.Status(code=code.value[0], message=message)
    if retry_after is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(round(retry_after * 1e9))
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
        status.details.append(detail)
    return status


def _server_context(tls: tuple[bytes, bytes] | None) -> ssl.SSLContext | None:
    if tls is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.NamedTemporaryFile() as cert, tempfile.NamedTemporaryFile() as key:
        cert.write(tls[0])
        key.write(tls[1])
        cert.flush()
        key.flush()
        context.load_cert_chain(cert.name, key.name)
    return context
