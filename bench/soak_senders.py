"""The soak's senders: paced client processes that report their latencies as they go, and a
probe thread that sends one uniquely named ERROR record a second and notes its acknowledgement.

bench.clients' LoadRun reports once at the end; a soak needs its latencies minute by minute.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import threading
import time
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from typing import Any

import grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs

from bench.clients import METHOD, _channel

PROCESSES, THREADS = 2, 4
REPORT_EVERY_S = 2.0
CALL_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class SenderReport:
    acknowledged_records: int
    refused_calls: int


@dataclass(frozen=True, slots=True)
class _Plan:
    address: str
    payloads: list[bytes]
    calls_per_s: float  # per thread


def _thread(plan: _Plan, offset: int, stop: Event, out: queue.SimpleQueue[Any]) -> None:
    export = _channel(plan.address).unary_unary(METHOD, None, None)  # bytes in, bytes out
    start, sent = time.monotonic(), 0
    while not stop.is_set():
        time.sleep(max(0.0, start + sent / plan.calls_per_s - time.monotonic()))
        began = time.monotonic()
        try:
            export(plan.payloads[(offset + sent) % len(plan.payloads)], timeout=CALL_TIMEOUT_S)
            out.put(("ok", time.monotonic() - began))
        except grpc.RpcError as exc:
            out.put(("refused", exc.code().name))
        sent += 1


def _process(plan: _Plan, index: int, stop: Event, reports: Any) -> None:
    local: queue.SimpleQueue[Any] = queue.SimpleQueue()
    threads = [
        threading.Thread(target=_thread, args=(plan, 7 * (index * THREADS + n), stop, local))
        for n in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        time.sleep(REPORT_EVERY_S)
        reports.put(_drain(local))
    reports.put(_drain(local))


def _drain(local: queue.SimpleQueue[Any]) -> tuple[list[float], int, int]:
    latencies: list[float] = []
    refused = 0
    while not local.empty():
        kind, value = local.get()
        if kind == "ok":
            latencies.append(value)
        else:
            refused += 1
    return latencies, len(latencies), refused


class PacedSenders:
    def __init__(
        self, address: str, payloads: list[bytes], records_per_call: int, rate: float, probe: str
    ) -> None:
        ctx = mp.get_context("spawn")
        per_thread = rate / records_per_call / (PROCESSES * THREADS)
        plan = _Plan(address, payloads, per_thread)
        self._records_per_call = records_per_call
        self._stop, self._reports = ctx.Event(), ctx.Queue()
        self._procs = [
            ctx.Process(target=_process, args=(plan, i, self._stop, self._reports), daemon=True)
            for i in range(PROCESSES)
        ]
        for proc in self._procs:
            proc.start()
        self._latencies: list[float] = []
        self._ok_calls = self._refused = 0
        self._probes = _Probes(address, probe)
        self._probes.start()

    def _collect(self) -> None:
        while True:
            try:
                latencies, ok, refused = self._reports.get_nowait()
            except queue.Empty:
                return
            self._latencies.extend(latencies)
            self._ok_calls += ok
            self._refused += refused

    def take_latencies(self) -> list[float]:
        self._collect()
        taken, self._latencies = self._latencies, []
        return taken

    def probe_acks(self) -> dict[str, float]:
        return self._probes.acknowledged()

    def stop(self) -> SenderReport:
        self._stop.set()
        self._probes.stop()
        for proc in self._procs:
            proc.join(CALL_TIMEOUT_S + 10)
        time.sleep(0.5)  # the last reports are in the queue's pipe
        self._collect()
        records = self._ok_calls * self._records_per_call + len(self._probes.acknowledged())
        return SenderReport(records, self._refused + self._probes.refused)


class _Probes(threading.Thread):
    def __init__(self, address: str, prefix: str) -> None:
        super().__init__(daemon=True)
        self._export = _channel(address).unary_unary(
            METHOD, ExportLogsServiceRequest.SerializeToString, None
        )
        self._prefix, self._halt = prefix, threading.Event()
        self._acked: dict[str, float] = {}
        self._lock = threading.Lock()
        self.refused = 0

    def run(self) -> None:
        n = 0
        while not self._halt.wait(1.0):
            body = f"{self._prefix}{n}"
            try:
                self._export(_probe(body), timeout=CALL_TIMEOUT_S)
                with self._lock:
                    self._acked[body] = time.monotonic()
            except grpc.RpcError:
                self.refused += 1
            n += 1

    def acknowledged(self) -> dict[str, float]:
        with self._lock:
            return dict(self._acked)

    def stop(self) -> None:
        self._halt.set()
        self.join(CALL_TIMEOUT_S + 5)


def _probe(body: str) -> ExportLogsServiceRequest:
    record = LogRecord(
        time_unix_nano=time.time_ns(),
        severity_number=17,  # type: ignore[arg-type]
        severity_text="ERROR",
        body=AnyValue(string_value=body),
    )
    return ExportLogsServiceRequest(
        resource_logs=[ResourceLogs(scope_logs=[ScopeLogs(log_records=[record])])]
    )
