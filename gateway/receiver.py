"""The OTLP/gRPC receiver: LogsService/Export -> one enqueue transaction -> OK.

It does nothing else: the hot path is decode, convert, commit. The reply is sent only after
the commit, so an acknowledged record is durable. Requests arrive as raw bytes (no grpcio
deserializer) so that garbage gets INVALID_ARGUMENT instead of grpcio's INTERNAL.
"""

from __future__ import annotations

import logging
from concurrent import futures

import grpc
from google.protobuf.message import DecodeError
from google.rpc import code_pb2
from grpc_status import rpc_status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
)

from gateway import ingest
from gateway.admission import Admission
from gateway.clock import Clock
from gateway.ingest import BearerCheck, Ingest, Verdict
from gateway.metrics import Metrics
from gateway.receivers_config import GrpcReceiverConfig
from gateway.store import Store

log = logging.getLogger("logsieve.receiver")
SERVICE = "opentelemetry.proto.collector.logs.v1.LogsService"
EMPTY_RESPONSE = b""  # an ExportLogsServiceResponse with nothing set serializes to no bytes
MIB = 1024 * 1024


def server_options(config: GrpcReceiverConfig) -> list[tuple[str, int]]:
    """Limits that keep a flood of idle or pinging connections from starving real clients."""
    keepalive = config.keepalive
    return [
        ("grpc.max_receive_message_length", config.max_recv_msg_size_mib * MIB),
        ("grpc.max_concurrent_streams", keepalive.max_concurrent_streams),
        ("grpc.max_connection_idle_ms", int(keepalive.max_connection_idle * 1000)),
        # Pings closer together than this (with or without calls) earn a GOAWAY.
        ("grpc.http2.min_ping_interval_without_data_ms", int(keepalive.min_ping_interval * 1000)),
        (
            "grpc.http2.min_recv_ping_interval_without_data_ms",
            int(keepalive.min_ping_interval * 1000),
        ),
        ("grpc.http2.max_ping_strikes", 2),
        ("grpc.keepalive_permit_without_calls", 1),
    ]


class OtlpGrpcReceiver:
    def __init__(
        self,
        store: Store,
        config: GrpcReceiverConfig,
        clock: Clock,
        *,
        admission: Admission | None = None,
        max_record_bytes: int = 1024 * 1024,
        max_workers: int = 16,
        metrics: Metrics | None = None,
    ) -> None:
        self._ingest = Ingest(
            store,
            clock,
            admission=admission,
            max_record_bytes=max_record_bytes,
            name="grpc",
            metrics=metrics,
        )
        self._config = config
        self._endpoint = config.endpoint
        self._bearer = BearerCheck(config.auth.token() if config.auth else None)
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="otlp-grpc"),
            options=server_options(config),
        )
        handler = grpc.unary_unary_rpc_method_handler(self.export)
        self._server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler(SERVICE, {"Export": handler})]
        )
        self.port = 0
        self._stopped = False

    def start(self) -> None:
        if self._config.tls is None:
            self.port = self._server.add_insecure_port(self._endpoint)
        else:
            credentials = grpc.ssl_server_credentials([self._config.tls.pem()[::-1]])
            self.port = self._server.add_secure_port(self._endpoint, credentials)
        if self.port == 0:
            raise OSError(f"cannot listen on {self._endpoint}")
        self._server.start()
        log.info("OTLP/gRPC receiver listening on %s", self.address)

    @property
    def address(self) -> str:
        host = self._endpoint.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    def export(self, payload: bytes, context: grpc.ServicerContext) -> bytes:
        if self._bearer.enabled and not self._bearer.allows(_authorization(context)):
            self._ingest.refused_request("unauthenticated")
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "a valid bearer token is required")
        try:
            request = ExportLogsServiceRequest.FromString(payload)
        except DecodeError as exc:
            self._ingest.refused_request("invalid")
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"not an ExportLogsServiceRequest: {exc}"
            )
        outcome = self._ingest.export(request, len(payload))
        if outcome.verdict is Verdict.OVERLOADED:
            _abort_overloaded(context, outcome.retry_after_s, outcome.message)
        if outcome.verdict is Verdict.UNAVAILABLE:
            context.abort(grpc.StatusCode.UNAVAILABLE, outcome.message)
        return outcome.response().SerializeToString() if outcome.rejected else EMPTY_RESPONSE

    def shutdown(self, grace: float = 10.0) -> None:
        """Refuse new calls, let the calls in flight commit and answer; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._server.stop(grace).wait()


def _authorization(context: grpc.ServicerContext) -> str | None:
    # Read only when a token is configured: no per-call metadata walk otherwise.
    for key, value in context.invocation_metadata():
        if key == "authorization":
            return value.decode("latin-1") if isinstance(value, bytes) else value
    return None


def _abort_overloaded(context: grpc.ServicerContext, retry_after_s: float, message: str) -> None:
    """UNAVAILABLE with google.rpc.RetryInfo: the OTLP way to tell an SDK to back off."""
    status = ingest.rpc_status(code_pb2.UNAVAILABLE, message, retry_after_s)
    context.abort_with_status(rpc_status.to_status(status))
