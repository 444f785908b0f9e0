"""Load generator: client PROCESSES (spawned), each with a few threads, one gRPC channel (or
one kept-alive OTLP/HTTP connection) each.

The clients send pre-serialized ExportLogsServiceRequest bytes through a raw unary_unary
callable (no serializer), so they spend almost no Python time per call and do not compete
with the server for its GIL (they run in other processes).
"""

from __future__ import annotations

import http.client
import multiprocessing as mp
import resource
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event
from typing import Any
from urllib.parse import urlsplit

import grpc

METHOD = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
CALL_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class LoadPlan:
    address: str  # host:port for gRPC; http://host:port for OTLP/HTTP
    payloads: list[bytes]
    records_per_call: int
    threads: int
    warmup_s: float
    duration_s: float
    calls_per_s: float = 0.0  # each thread's pace; 0: as fast as the server answers


@dataclass(slots=True)
class ClientResult:
    window_ok_calls: int = 0  # OK calls that completed inside the measurement window
    total_ok_calls: int = 0  # OK calls at any time (warm-up included)
    latencies_s: list[float] = field(default_factory=list)  # of window_ok_calls
    errors: Counter[str] = field(default_factory=Counter)
    cpu_s: float = 0.0  # the client process's own CPU time

    def add(self, other: ClientResult) -> None:
        self.window_ok_calls += other.window_ok_calls
        self.total_ok_calls += other.total_ok_calls
        self.latencies_s.extend(other.latencies_s)
        self.errors.update(other.errors)
        self.cpu_s += other.cpu_s


def _channel(address: str) -> grpc.Channel:
    # A local subchannel pool gives every channel its own TCP connection.
    options = [("grpc.use_local_subchannel_pool", 1), ("grpc.max_send_message_length", 64 << 20)]
    return grpc.insecure_channel(address, options=options)


def _raw_export(channel: grpc.Channel) -> Any:
    """Export taking and returning bytes: no serializer, so no per-call Python encoding."""
    return channel.unary_unary(METHOD, request_serializer=None, response_deserializer=None)


def _thread_loop(
    export: Any, plan: LoadPlan, offset: int, start: float, out: ClientResult, lock: threading.Lock
) -> None:
    mine = ClientResult()
    window_start, end = start + plan.warmup_s, start + plan.warmup_s + plan.duration_s
    payloads, i = plan.payloads, offset
    while True:
        if plan.calls_per_s:  # paced: the next call at its slot, not before
            time.sleep(max(0.0, start + (i - offset) / plan.calls_per_s - time.monotonic()))
        began = time.monotonic()
        if began >= end:
            break
        try:
            export(payloads[i % len(payloads)], timeout=CALL_TIMEOUT_S)
            ok = True
        except grpc.RpcError as exc:
            mine.errors[exc.code().name] += 1
            ok = False
        except HttpFailure as exc:
            mine.errors[f"HTTP {exc.status}"] += 1
            ok = False
        i += 1
        done = time.monotonic()
        if ok:
            mine.total_ok_calls += 1
            if window_start <= done <= end:
                mine.window_ok_calls += 1
                mine.latencies_s.append(done - began)
    with lock:
        out.add(mine)


class HttpExport:
    """POST /v1/logs with protobuf bytes on one kept-alive connection (http.client: the
    cheapest client Python has, so the clients take little CPU from the server)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)

    def __call__(self, payload: bytes, timeout: float) -> None:
        headers = {"Content-Type": "application/x-protobuf"}
        self._connection.request("POST", "/v1/logs", body=payload, headers=headers)
        response = self._connection.getresponse()
        response.read()
        if response.status != 200:
            raise HttpFailure(response.status)

    def close(self) -> None:
        self._connection.close()


class HttpFailure(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _exports(plan: LoadPlan) -> tuple[list[Any], list[Any]]:
    """One export callable per thread, and what to close after."""
    if plan.address.startswith("http"):
        posts = [HttpExport(plan.address) for _ in range(plan.threads)]
        return posts, posts
    channels = [_channel(plan.address) for _ in range(plan.threads)]
    for channel in channels:
        grpc.channel_ready_future(channel).result(timeout=30)
    return [_raw_export(channel) for channel in channels], channels


def _client_process(
    plan: LoadPlan, index: int, ready: Any, go: Event, start_at: Any, results: Any
) -> None:
    exports, closers = _exports(plan)
    ready.put(index)
    go.wait()
    start = float(start_at.value)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    time.sleep(max(0.0, start - time.monotonic()))
    total, lock = ClientResult(), threading.Lock()
    threads = [
        threading.Thread(
            target=_thread_loop,
            args=(export, plan, (index * plan.threads + n) * 7, start, total, lock),
        )
        for n, export in enumerate(exports)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    total.cpu_s = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    for closer in closers:
        closer.close()
    results.put(total)


class LoadRun:
    """Start `processes` x plan.threads clients; `start()` releases them all at one instant."""

    def __init__(self, plan: LoadPlan, processes: int) -> None:
        ctx = mp.get_context("spawn")
        self._ready, self._results = ctx.Queue(), ctx.Queue()
        self._go = ctx.Event()
        self._start_at = ctx.Value("d", 0.0)
        self._procs = [
            ctx.Process(
                target=_client_process,
                args=(plan, i, self._ready, self._go, self._start_at, self._results),
                daemon=True,
            )
            for i in range(processes)
        ]
        for proc in self._procs:
            proc.start()
        for _ in self._procs:
            self._ready.get(timeout=60)

    def start(self, delay_s: float = 0.3) -> float:
        """Release the clients; returns the (monotonic) instant they start sending."""
        start = time.monotonic() + delay_s
        self._start_at.value = start
        self._go.set()
        return start

    def collect(self, timeout_s: float) -> ClientResult:
        total = ClientResult()
        for _ in self._procs:
            total.add(self._results.get(timeout=timeout_s))
        for proc in self._procs:
            proc.join(10)
        return total

    def kill(self) -> None:
        for proc in self._procs:
            if proc.is_alive():
                proc.kill()
