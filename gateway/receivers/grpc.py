"""The OTLP/gRPC receiver: LogsService/Export -> a shared enqueue transaction -> OK.
TraceService and MetricsService answer OK with every item rejected (signals.py).

It does nothing else: the hot path is decode, convert, commit. The reply is sent only after
the commit, so an acknowledged record is durable. Requests arrive as raw bytes (no grpcio
deserializer) so that garbage gets INVALID_ARGUMENT instead of grpcio's INTERNAL.

The server is grpc.aio on an event loop of its own thread: a call costs no thread hand-off,
which is most of what a small request costs in grpcio's thread-pool server. Admission,
conversion and the commit may block on the database, so they run in worker threads, and the
requests that arrive while one commit runs go together into the next (see `Coalescer`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent import futures
from typing import Any, Generic, TypeVar

import grpc
from google.protobuf.message import DecodeError
from google.rpc import code_pb2
from grpc_status import rpc_status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
)

from gateway.config.receivers import MIB, GrpcReceiverConfig
from gateway.errors import EndpointError
from gateway.http.ports import check_free
from gateway.receivers import signals
from gateway.receivers.ingest import BearerCheck, Ingest, Verdict
from gateway.receivers.ingest import rpc_status as status_with_retry

log = logging.getLogger("logsieve.receiver")
SERVICE = "opentelemetry.proto.collector.logs.v1.LogsService"
SETTING = "receivers.otlp.grpc.endpoint"  # named when the endpoint cannot be listened on
EMPTY_RESPONSE = b""  # an ExportLogsServiceResponse with nothing set serializes to no bytes
START_TIMEOUT_S = 30.0
Context = grpc.aio.ServicerContext[bytes, bytes]
Item = TypeVar("Item")
Result = TypeVar("Result")


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
        # Shared only by the gateway's own ingest processes; otherwise a second server on
        # the port is an error at start, not a silent split of the traffic.
        ("grpc.so_reuseport", 1 if config.processes > 1 else 0),
    ] + (_REBALANCE if config.processes > 1 else [])


# A connection stays with the process that accepted it, and SDKs keep theirs for hours: with
# several processes on the port, connections are aged out (calls in flight finish first) so
# that clients reconnect and the kernel spreads them again, after a restart too.
_REBALANCE = [("grpc.max_connection_age_ms", 60_000), ("grpc.max_connection_age_grace_ms", 30_000)]


class OtlpGrpcReceiver:
    def __init__(
        self, ingest: Ingest, config: GrpcReceiverConfig, *, max_workers: int = 16
    ) -> None:
        self.ingest = ingest  # shared with the HTTP receiver
        self._intake = ingest.for_receiver("grpc")  # counted as receiver="grpc"
        self._config = config
        self._endpoint = config.endpoint
        self._bearer = BearerCheck(config.auth.token() if config.auth else None)
        self._signals = signals.SignalSink("grpc", ingest.metrics)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="otlp-grpc", daemon=True
        )
        # One batch converts and commits at a time (see Coalescer).
        self._workers = futures.ThreadPoolExecutor(1, thread_name_prefix="otlp-grpc-commit")
        # Calls decoded and waiting for their commit, at most: what they hold in memory.
        self._slots = asyncio.Semaphore(max_workers)
        self._coalescer = Coalescer(self._loop, self._workers, self._intake.enqueue_many)
        self._server: grpc.aio.Server | None = None
        self.port = 0
        self._stopped = False

    def start(self) -> None:
        # A taken port, said in one line before gRPC core prints its own; not when our own
        # ingest children share the port (SO_REUSEPORT), where the port is ours already.
        if self._config.processes == 1:
            check_free(SETTING, self._endpoint)
        self._thread.start()
        running = asyncio.run_coroutine_threadsafe(self._start_server(), self._loop)
        try:
            self.port = running.result(START_TIMEOUT_S)
        except BaseException:
            self._stop_loop()
            raise
        log.info("OTLP/gRPC receiver listening on %s", self.address)

    async def _start_server(self) -> int:
        # Made on the loop's thread: grpc.aio objects belong to the loop that runs them.
        server = grpc.aio.server(options=server_options(self._config))
        handler = grpc.unary_unary_rpc_method_handler(self.export)
        server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler(SERVICE, {"Export": handler})]
            + [self._signal_handler(signal) for signal in signals.SIGNALS]
        )
        try:  # grpcio reports a port it cannot bind (taken, say) as RuntimeError
            port = self._bind(server)
        except RuntimeError:
            port = 0
        if port == 0:
            raise EndpointError(
                SETTING, self._endpoint, "cannot be listened on (gRPC's bind failed)"
            )
        await server.start()
        self._server = server
        return port

    def _bind(self, server: grpc.aio.Server) -> int:
        if self._config.tls is None:
            return server.add_insecure_port(self._endpoint)
        credentials = grpc.ssl_server_credentials([self._config.tls.pem()[::-1]])
        return server.add_secure_port(self._endpoint, credentials)

    @property
    def address(self) -> str:
        host = self._endpoint.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    async def export(self, payload: bytes, context: Context) -> bytes:
        try:
            with self._intake.in_flight():
                return await self._export(payload, context)
        except asyncio.CancelledError:  # grpc.aio cancels the handler when the client leaves
            self._intake.abandoned_request()
            raise

    async def _check_token(self, context: Context) -> None:
        if self._bearer.enabled and not self._bearer.allows(_authorization(context)):
            self._intake.refused_request("unauthenticated")
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "a valid bearer token is required")

    def _signal_handler(self, signal: signals.Signal) -> grpc.GenericRpcHandler[bytes, bytes]:
        async def export(payload: bytes, context: Context) -> bytes:
            return await self._export_signal(signal, payload, context)

        handler = grpc.unary_unary_rpc_method_handler(export)
        return grpc.method_handlers_generic_handler(signal.service, {"Export": handler})

    async def _export_signal(
        self, signal: signals.Signal, payload: bytes, context: Context
    ) -> bytes:
        """Traces or metrics: the checks logs get, then OK with every item rejected."""
        await self._check_token(context)
        try:
            request = signal.decode(payload)
        except signals.BadSignalRequest as exc:
            self._intake.refused_request("invalid")
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        return self._signals.take(signal, request).SerializeToString()

    async def _export(self, payload: bytes, context: Context) -> bytes:
        await self._check_token(context)
        try:
            request = ExportLogsServiceRequest.FromString(payload)
        except DecodeError as exc:
            self._intake.refused_request("invalid")
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"not an ExportLogsServiceRequest: {exc}"
            )
        async with self._slots:  # bounds what waits in memory, decoded, for a commit
            outcome = await self._coalescer.submit((request, len(payload)))
        if outcome.verdict is Verdict.OVERLOADED:
            await _abort_overloaded(context, outcome.retry_after_s, outcome.message)
        if outcome.verdict is Verdict.UNAVAILABLE:
            await context.abort(grpc.StatusCode.UNAVAILABLE, outcome.message)
        return outcome.response().SerializeToString() if outcome.rejected else EMPTY_RESPONSE

    def shutdown(self, grace: float = 10.0) -> None:
        """Refuse new calls, let the calls in flight commit and answer; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._server is not None:
            stopping = asyncio.run_coroutine_threadsafe(self._server.stop(grace), self._loop)
            stopping.result()
        self._stop_loop()

    def _stop_loop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
        self._workers.shutdown(wait=True)
        self._loop.close()


class Coalescer(Generic[Item, Result]):
    """Hands items that arrive while a batch is being handled to one call for the next batch.

    `handle` takes a list and returns one result per item, in a worker thread, one batch at
    a time (a second batch converting while the first commits measured slower, the two
    threads trading Python's lock); everything submitted meanwhile waits here and goes as
    one batch. All of it runs on the loop's thread, so the pending list needs no lock.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        workers: futures.Executor,
        handle: Callable[[Sequence[Item]], Sequence[Result]],
    ) -> None:
        self._loop, self._workers, self._handle = loop, workers, handle
        self._busy = False  # a batch is in the worker
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []

    def submit(self, item: Item) -> Awaitable[Result]:
        waiter: asyncio.Future[Result] = self._loop.create_future()
        self._pending.append((item, waiter))
        if not self._busy:
            self._loop.call_soon(self._dispatch)  # after the calls already runnable submit too
        return waiter

    def _dispatch(self) -> None:
        if not self._pending or self._busy:
            return
        batch, self._pending = self._pending, []
        self._busy = True
        done = self._workers.submit(self._handle, [item for item, _ in batch])
        done.add_done_callback(
            lambda finished: self._loop.call_soon_threadsafe(self._finish, batch, finished)
        )

    def _finish(
        self, batch: list[tuple[Item, asyncio.Future[Result]]], finished: futures.Future[Any]
    ) -> None:
        self._busy = False
        error = finished.exception()
        results = finished.result() if error is None else [None] * len(batch)
        for (_, waiter), result in zip(batch, results, strict=True):
            if waiter.done():  # the caller went away (cancelled); its rows are committed
                continue
            if error is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result(result)
        self._dispatch()


def _authorization(context: Context) -> str | None:
    # Read only when a token is configured: no per-call metadata walk otherwise.
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            return value.decode("latin-1") if isinstance(value, bytes) else value
    return None


async def _abort_overloaded(context: Context, retry_after_s: float, message: str) -> None:
    """UNAVAILABLE with google.rpc.RetryInfo: the OTLP way to tell an SDK to back off."""
    status = status_with_retry(code_pb2.UNAVAILABLE, message, retry_after_s)
    answer = rpc_status.to_status(status)  # the details travel in grpc-status-details-bin
    await context.abort(answer.code, answer.details, answer.trailing_metadata)
