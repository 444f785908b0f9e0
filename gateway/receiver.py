"""The OTLP/gRPC receiver: LogsService/Export -> one enqueue transaction -> OK.

It does nothing else: the hot path is decode, convert, commit. The reply is sent only after
the commit, so an acknowledged record is durable. Requests arrive as raw bytes (no grpcio
deserializer) so that garbage gets INVALID_ARGUMENT instead of grpcio's INTERNAL.
"""

from __future__ import annotations

import logging
from concurrent import futures

import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import DecodeError
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from gateway.admission import Admission
from gateway.clock import Clock
from gateway.errors import StorageError
from gateway.otlp import rows_from_request
from gateway.receivers_config import GrpcReceiverConfig
from gateway.store import Store

log = logging.getLogger("logsieve.receiver")
SERVICE = "opentelemetry.proto.collector.logs.v1.LogsService"
EMPTY_RESPONSE = b""  # an ExportLogsServiceResponse with nothing set serializes to no bytes
MIB = 1024 * 1024


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
    ) -> None:
        self._store = store
        self._max_record_bytes = max_record_bytes
        self._admission = admission
        self._clock = clock
        self._endpoint = config.endpoint
        limit = config.max_recv_msg_size_mib * MIB
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="otlp-grpc"),
            options=[("grpc.max_receive_message_length", limit)],
        )
        handler = grpc.unary_unary_rpc_method_handler(self.export)
        self._server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler(SERVICE, {"Export": handler})]
        )
        self.port = 0
        self._stopped = False

    def start(self) -> None:
        self.port = self._server.add_insecure_port(self._endpoint)
        if self.port == 0:
            raise OSError(f"cannot listen on {self._endpoint}")
        self._server.start()
        log.info("OTLP/gRPC receiver listening on %s", self.address)

    @property
    def address(self) -> str:
        host = self._endpoint.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    def export(self, payload: bytes, context: grpc.ServicerContext) -> bytes:
        try:
            request = ExportLogsServiceRequest.FromString(payload)
        except DecodeError as exc:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"not an ExportLogsServiceRequest: {exc}"
            )
        records = sum(len(s.log_records) for r in request.resource_logs for s in r.scope_logs)
        try:
            decision = self._admission.admit(records) if self._admission else None
            if decision is not None and not decision.accept:
                _abort_overloaded(context, decision.retry_after_s)
            limit = self._max_record_bytes if len(payload) > self._max_record_bytes else None
            rows, rejected = rows_from_request(
                request, self._clock.now_ns(), self._store.origin_id, limit
            )
            self._store.enqueue(rows)
        except StorageError as exc:
            log.warning("enqueue failed: %s", exc)
            context.abort(grpc.StatusCode.UNAVAILABLE, "the queue's database is unavailable; retry")
        if self._admission:
            self._admission.enqueued(len(rows))
        return _partial_success(rejected, self._max_record_bytes) if rejected else EMPTY_RESPONSE

    def shutdown(self, grace: float = 10.0) -> None:
        """Refuse new calls, let the calls in flight commit and answer; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._server.stop(grace).wait()


def _partial_success(rejected: int, limit: int) -> bytes:
    response = ExportLogsServiceResponse()
    response.partial_success.rejected_log_records = rejected
    response.partial_success.error_message = (
        f"{rejected} log records larger than {limit} bytes were not accepted"
    )
    return response.SerializeToString()


def _abort_overloaded(context: grpc.ServicerContext, retry_after_s: float) -> None:
    """UNAVAILABLE with google.rpc.RetryInfo: the OTLP way to tell an SDK to back off."""
    seconds = int(retry_after_s)
    delay = Duration(seconds=seconds, nanos=int((retry_after_s - seconds) * 1e9))
    status = status_pb2.Status(
        code=code_pb2.UNAVAILABLE,
        message=f"the queue is full; retry in {retry_after_s:.1f} s",
    )
    status.details.add().Pack(error_details_pb2.RetryInfo(retry_delay=delay))
    context.abort_with_status(rpc_status.to_status(status))
