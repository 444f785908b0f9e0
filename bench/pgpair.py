"""PostgreSQL, one gateway against two on one database: ingest and processing records/s.

Each gateway is a real `logsieve run` (components ingest and processing; its processing in
its child, as by default) on the same PostgreSQL schema. The same 8 callers send 512-record
Exports: all to the one gateway, or half to each of the two. Processing = what left the
queue in the window (acknowledged in it, less the growth of the backlog). CPU is read from
/proc for the gateways' processes and for PostgreSQL's, to say what bounds the figures.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import procs
from bench.clients import ClientResult, LoadPlan, LoadRun
from bench.procs import LaunchedGateway
from gateway.store import Store

THREADS = 4  # per client process: 2 processes, 8 callers in all


@dataclass(frozen=True, slots=True)
class Deployment:
    gateways: int
    ingest_per_s: float
    processed_per_s: float
    p99_ms: float
    gateway_cores: float  # the gateways' processes, children included
    postgres_cores: float
    client_cores: float


@dataclass(frozen=True, slots=True)
class PairResult:
    one: Deployment
    two: Deployment


def _gateway(url: str, folder: Path, index: int) -> LaunchedGateway:
    config = folder / f"gateway-{index}.yaml"
    config.write_text(
        "components: [ingest, processing]\n"
        "receivers: {otlp: {grpc: {endpoint: '127.0.0.1:0'}, http: {enabled: false}}}\n"
        f"storage: {{url: '{url}'}}\n"
        "batch: {interval: 1s}\n"
        "telemetry: {metrics: {enabled: false}}\n"
    )
    return LaunchedGateway(config)


def run_pair(url: str, payloads: list[bytes], warmup_s: float, duration_s: float) -> PairResult:
    return PairResult(
        _deployment(url, payloads, 1, warmup_s, duration_s),
        _deployment(url, payloads, 2, warmup_s, duration_s),
    )


def _deployment(
    url: str, payloads: list[bytes], count: int, warmup_s: float, duration_s: float
) -> Deployment:
    store = Store(url)
    store.drop_all()
    store.create_schema()
    folder = Path(tempfile.mkdtemp(prefix="logsieve-pgpair-"))
    gateways = [_gateway(url, folder, i) for i in range(count)]
    # 2 client processes of 4 callers: both at the one gateway, or one at each of the two.
    runs = [
        LoadRun(LoadPlan(g.address, payloads, 512, THREADS, warmup_s, duration_s), 2 // count)
        for g in gateways
    ]
    try:
        starts = [run.start() for run in runs]
        window_start = max(starts) + warmup_s
        time.sleep(max(0.0, window_start - time.monotonic()))
        depth0, cpu0 = store.queue_depth(), _cpu(gateways)
        t0 = time.monotonic()
        time.sleep(duration_s)
        depth1, cpu1, t1 = store.queue_depth(), _cpu(gateways), time.monotonic()
        clients = ClientResult()
        for run in runs:
            clients.add(run.collect(timeout_s=120))
    finally:
        for run in runs:
            run.kill()
        for gateway in gateways:
            gateway.stop()
        store.dispose()
    window = t1 - t0
    accepted = clients.window_ok_calls * 512 / duration_s
    latencies = sorted(clients.latencies_s)
    return Deployment(
        gateways=count,
        ingest_per_s=accepted,
        processed_per_s=accepted - (depth1 - depth0) / window,
        p99_ms=latencies[int(len(latencies) * 0.99)] * 1000 if latencies else 0.0,
        gateway_cores=(cpu1[0] - cpu0[0]) / window,
        postgres_cores=(cpu1[1] - cpu0[1]) / window,
        client_cores=clients.cpu_s / window,
    )


def _cpu(gateways: list[LaunchedGateway]) -> tuple[float, float]:
    """CPU seconds so far of the gateways' processes and of PostgreSQL's."""
    ours = sum(procs.cpu_s(pid) for g in gateways for pid in g.pids())
    postgres = sum(procs.cpu_s(pid) for pid in procs.pids() if procs.stat(pid)[0] == "postgres")
    return ours, postgres
