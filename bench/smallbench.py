"""Small requests (one record per Export) against real `logsieve run` gateways.

The gateway runs as users run it: receivers, viewer and /metrics in the parent, processing
in its child, and with `receivers.otlp.grpc.processes: 2` a second receiver process on the
port. Load comes from h2load when it is installed (bench/h2load.py), else from the Python
client processes. Acknowledgements are checked against the gateway's own count of committed
records (/metrics sums every receiver process) and the queue must drain.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bench import h2load, procs
from bench.clients import LoadPlan, LoadRun
from bench.ingest import IngestResult, machine_busy_s, percentile
from gateway.store import Store

CALLERS = 32
ACCEPTED = 'logsieve_receiver_records_accepted_total{receiver="grpc"}'


def run_small(
    payloads: list[bytes], processes: int, warmup_s: float, duration_s: float
) -> IngestResult:
    folder = Path(tempfile.mkdtemp(prefix="logsieve-bench-small-"))
    url = f"sqlite:///{folder}/queue.db"
    gateway = procs.LaunchedGateway(_config(folder, url, processes))
    try:
        port = int(gateway.address.rsplit(":", 1)[1])
        _wait(lambda: procs.listening(port) >= processes, "every receiver process to listen")
        return _measure(gateway, url, payloads, warmup_s, duration_s)
    finally:
        gateway.stop()


def _config(folder: Path, url: str, processes: int) -> Path:
    config = folder / "gateway.yaml"
    config.write_text(
        f"receivers: {{otlp: {{grpc: {{endpoint: '127.0.0.1:0', processes: {processes}}},"
        " http: {enabled: false}}}\n"
        f"storage: {{url: '{url}'}}\n"
        "viewer: {endpoint: '127.0.0.1:0'}\n"
        "telemetry: {metrics: {endpoint: '127.0.0.1:0'}}\n"
    )
    return config


def _measure(
    gateway: procs.LaunchedGateway,
    url: str,
    payloads: list[bytes],
    warmup_s: float,
    duration_s: float,
) -> IngestResult:
    plan = LoadPlan(gateway.address, payloads, 1, CALLERS // 2, warmup_s, duration_s)
    load = h2load.H2LoadRun(plan, CALLERS) if h2load.available() else LoadRun(plan, 2)
    start = load.start()
    time.sleep(max(0.0, start + warmup_s - time.monotonic()))
    cpu0, busy0, t0 = _cpu(gateway), machine_busy_s(), time.monotonic()
    time.sleep(max(0.0, start + warmup_s + duration_s - time.monotonic()))
    cpu1, busy1, t1 = _cpu(gateway), machine_busy_s(), time.monotonic()
    clients = load.collect(timeout_s=120)
    store = Store(url)
    try:
        drained = _drained(store)
    finally:
        store.dispose()
    accepted = _accepted(gateway.telemetry_url)
    unanswered = accepted - clients.total_ok_calls  # h2load stops with calls in flight
    ok = drained and 0 <= unanswered <= CALLERS
    lat = clients.latencies_s
    result = IngestResult(
        records_per_s=clients.window_ok_calls / duration_s,
        p50_ms=percentile(lat, 0.5) * 1000,
        p99_ms=percentile(lat, 0.99) * 1000,
        window_ok_calls=clients.window_ok_calls,
        errors=dict(clients.errors),
        server_cpu_s=cpu1[0] - cpu0[0],
        batch_cpu_s=cpu1[1] - cpu0[1],
        client_cpu_s=clients.cpu_s,
        window_s=t1 - t0,
        batch_elsewhere=True,
    )
    result.integrity = (
        f"{'OK' if ok else 'MISMATCH'}: {clients.total_ok_calls:,} acknowledged, "
        f"{accepted:,} committed by the gateway, {'all' if drained else 'not all'} processed"
    )
    result.notes.append(f"whole machine {(busy1 - busy0) / (t1 - t0):.2f} of {os.cpu_count()}")
    load_name = "h2load (C)" if isinstance(load, h2load.H2LoadRun) else "Python client processes"
    result.notes.append(f"load from {load_name}: {CALLERS} connections, one call in flight each")
    return result


def _cpu(gateway: procs.LaunchedGateway) -> tuple[float, float]:
    """(receiver processes, processing child) CPU seconds so far."""
    receivers = processing = 0.0
    for pid in gateway.pids():
        spent = procs.cpu_s(pid)
        cmdline = _cmdline(pid)
        if "--processing-child" in cmdline:
            processing += spent
        else:
            receivers += spent
    return receivers, processing


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""


def _accepted(telemetry_url: str) -> int:
    text = httpx.get(telemetry_url + "/metrics", timeout=30).text
    return int(
        sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(ACCEPTED))
    )


def _drained(store: Store, timeout_s: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while store.queue_depth() and time.monotonic() < deadline:
        time.sleep(0.2)
    return store.queue_depth() == 0


def _wait(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)
