"""Ingest against real `logsieve run` gateways: 512-record Exports (row 1) and one-record
ones (the small-request rows).

The gateway runs as users run it: receivers and /metrics in the parent, the viewer and
processing (every 1 s) in children of their own, and with `receivers.otlp.grpc.processes:
2` a second receiver process on the port. Small requests get their load from h2load when it
is installed (bench/h2load.py), else from Python client processes; large ones from the
Python clients.
Acknowledgements are checked against the gateway's own count of committed records
(/metrics sums every receiver process), and the queue must drain.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import h2load, procs
from bench.clients import LoadPlan, LoadRun
from bench.ingest import (
    IngestResult,
    from_clients,
    machine_busy_s,
    matches,
    queue_head,
    wait_drained,
)
from gateway.store import Store

ACCEPTED = 'logsieve_receiver_records_accepted_total{receiver="grpc"}'


@dataclass(frozen=True, slots=True)
class Load:
    payloads: list[bytes]
    records_per_call: int
    callers: int
    warmup_s: float
    duration_s: float
    h2load: bool = False  # when installed; else Python client processes


def run_gateway(load: Load, processes: int = 1) -> IngestResult:
    folder = Path(tempfile.mkdtemp(prefix="logsieve-bench-gateway-"))
    url = f"sqlite:///{folder}/queue.db"
    gateway = procs.LaunchedGateway(_config(folder, url, processes))
    try:
        port = int(gateway.address.rsplit(":", 1)[1])
        _wait(lambda: procs.listening(port) >= processes, "every receiver process to listen")
        return _measure(gateway, url, load)
    finally:
        gateway.stop()


def _config(folder: Path, url: str, processes: int) -> Path:
    config = folder / "gateway.yaml"
    config.write_text(
        f"receivers: {{otlp: {{grpc: {{endpoint: '127.0.0.1:0', processes: {processes}}},"
        " http: {enabled: false}}}\n"
        f"storage: {{url: '{url}'}}\n"
        "batch: {interval: 1s}\n"
        "viewer: {endpoint: '127.0.0.1:0'}\n"
        "telemetry: {metrics: {endpoint: '127.0.0.1:0'}}\n"
    )
    return config


def _measure(gateway: procs.LaunchedGateway, url: str, load: Load) -> IngestResult:
    plan = LoadPlan(
        gateway.address,
        load.payloads,
        load.records_per_call,
        load.callers // 2,
        load.warmup_s,
        load.duration_s,
    )
    h2 = load.h2load and h2load.available()
    clients = h2load.H2LoadRun(plan, load.callers) if h2 else LoadRun(plan, 2)
    store = Store(url)  # the bench's own reads: the head of the queue, then the drain
    try:
        start = clients.start()
        time.sleep(max(0.0, start + load.warmup_s - time.monotonic()))
        cpu0, busy0, head0, t0 = _sample(gateway, store)
        time.sleep(max(0.0, start + load.warmup_s + load.duration_s - time.monotonic()))
        cpu1, busy1, head1, t1 = _sample(gateway, store)
        backlog = store.queue_depth()
        answered = clients.collect(timeout_s=120)
        drained = wait_drained(store, timeout_s=120.0)
    finally:
        store.dispose()
    result = from_clients(
        answered, load.records_per_call, load.duration_s, cpu1[0] - cpu0[0], t1 - t0
    )
    result.batch_cpu_s, result.batch_elsewhere = cpu1[1] - cpu0[1], True
    result.backlog_at_end = backlog
    # Unknown when the queue was empty at either end (SQLite then starts ids afresh).
    moved = head1 - head0 if head0 and head1 >= head0 else 0
    result.batch_records_per_s = moved / (t1 - t0)
    accepted = _accepted(gateway.telemetry_url)
    acknowledged = answered.total_ok_calls * load.records_per_call
    ok = drained and matches(accepted, acknowledged, load.callers * load.records_per_call)
    result.integrity = (
        f"{'OK' if ok else 'MISMATCH'}: {acknowledged:,} acknowledged,"
        f" {accepted:,} committed by the gateway, {'all' if drained else 'not all'} processed"
    )
    result.notes.append(f"whole machine {(busy1 - busy0) / (t1 - t0):.2f} of {os.cpu_count()}")
    result.notes.append(h2load.describe(h2, load.callers))
    return result


def _sample(
    gateway: procs.LaunchedGateway, store: Store
) -> tuple[tuple[float, float], float, int, float]:
    """What a window's edge reads: the gateway's CPU, the machine's, the queue's head, when."""
    return _cpu(gateway), machine_busy_s(), queue_head(store), time.monotonic()


def _cpu(gateway: procs.LaunchedGateway) -> tuple[float, float]:
    """(receiver processes, batch child) CPU seconds so far."""
    receivers = processing = 0.0
    for pid in gateway.pids():
        spent = procs.cpu_s(pid)
        if procs.child_flag(pid) == "--batch-child":
            processing += spent
        else:
            receivers += spent
    return receivers, processing


def _accepted(telemetry_url: str) -> int:
    text = httpx.get(telemetry_url + "/metrics", timeout=30).text
    return int(
        sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(ACCEPTED))
    )


def _wait(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)
