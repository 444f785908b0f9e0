"""Ingest benchmarks: a real OtlpGrpcReceiver in THIS process, clients in other processes.

Durable: the receiver writes to a real Store while the batch stage drains the queue every
1 s, in a batch process of its own as `logsieve run` does by default, or (own_process:
false) on a Periodic thread of this process. No-write: the receiver's store is a stand-in
whose enqueue does nothing, so the run measures gRPC + decode + convert alone.
"""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from bench import h2load, procs, profile
from bench.clients import ClientResult, LoadPlan, LoadRun
from bench.handwritten import HandWrittenReceiver
from gateway.clock import SystemClock
from gateway.config.receivers import GrpcReceiverConfig, HttpReceiverConfig
from gateway.export.logflare import event_json
from gateway.model import Claim, IncomingRow
from gateway.pipeline.batch import BatchSettings, BatchStage, Outbound
from gateway.pipeline.sampling import SamplingPolicy
from gateway.receivers.grpc import OtlpGrpcReceiver
from gateway.receivers.http import OtlpHttpReceiver
from gateway.receivers.ingest import Ingest
from gateway.runtime.heap import freeze_long_lived
from gateway.runtime.scheduler import Periodic
from gateway.runtime.supervisor import BatchChild
from gateway.store import Store


class NullStore:
    """Stands in for Store in the receiver: enqueue accepts the rows and drops them."""

    def enqueue(self, rows: list[IncomingRow]) -> None:
        return None

    def origin_ids(self, origins: Sequence[bytes]) -> list[int]:
        return [1] * len(origins)


@dataclass(frozen=True, slots=True)
class IngestOptions:
    warmup_s: float = 2.0
    duration_s: float = 12.0
    client_processes: int = 2
    threads_per_process: int = 4
    records_per_call: int = 512
    batch_interval_s: float = 1.0
    profile_dir: Path | None = None  # py-spy the measured window, summaries into this folder
    name: str = "ingest"
    run_batch_stage: bool = True  # False: a diagnostic run with the batch stage paused
    sqlite_synchronous: str = "NORMAL"
    processing_process: bool = False  # the batch stage in its own process, not a thread
    protocol: str = "grpc"  # or "http": the OTLP/HTTP receiver, protobuf bodies
    load: str = "python"  # or "h2load": a C load generator (bench/h2load.py), gRPC only


@dataclass(slots=True)
class IngestResult:
    records_per_s: float
    p50_ms: float
    p99_ms: float
    window_ok_calls: int
    errors: dict[str, int]
    server_cpu_s: float  # whole server process during the window (receiver + batch stage)
    batch_cpu_s: float  # the batch stage thread alone, during the window
    client_cpu_s: float
    window_s: float
    backlog_at_end: int = 0  # queue depth when the window closed
    batch_records_per_s: float = 0.0  # what the concurrent batch stage finished in the window
    integrity: str = "n/a"
    notes: list[str] = field(default_factory=list)
    profile_md: str = ""
    batch_elsewhere: bool = False  # batch_cpu_s is another process's, not part of server_cpu_s

    @property
    def receiver_cpu_us_per_record(self) -> float:
        records = self.records_per_s * self.window_s
        own = self.server_cpu_s - (0.0 if self.batch_elsewhere else self.batch_cpu_s)
        return own / records * 1e6 if records else 0.0


class _ProcessingProcess:
    """The batch child `logsieve run` starts by default (gateway/runtime/supervisor.py), on the
    same database: the second core. Its logs are kept to warnings."""

    def __init__(self, url: str, workdir: Path) -> None:
        config = workdir / "batch.yaml"
        config.write_text(f"storage: {{url: '{url}'}}\nbatch: {{interval: 1s}}\n")
        self.child = BatchChild(str(config), log_level="WARNING")
        self.child.start()

    def cpu_s(self) -> float:
        return procs.cpu_s(self.child.pid) if self.child.pid else 0.0

    def stop(self) -> None:
        self.child.shutdown(grace_s=120)


class _BatchLoop:
    """run_batches on a Periodic; counts what it claims and its thread's CPU."""

    def __init__(self, store: Store, policy: SamplingPolicy, interval_s: float) -> None:
        self.stage = BatchStage(
            store, policy, BatchSettings(), outbound=[Outbound("logflare", event_json)]
        )
        self.claimed = 0
        self.finished = 0  # rows of finished batches, updated per batch (run_batches loops)
        self.tid = 0
        self.periodic = Periodic("run_batches", interval_s, self._job, SystemClock())
        finish_batch = store.finish_batch

        def counting_finish(claim: Claim, *args: Any, **kwargs: Any) -> bool:
            done = finish_batch(claim, *args, **kwargs)
            self.finished += len(claim.rows) if done else 0
            return done

        store.finish_batch = counting_finish  # type: ignore[method-assign]

    def _job(self, now: int) -> None:
        self.tid = threading.get_native_id()
        self.claimed += self.stage.run_batches(now).claimed

    def cpu_s(self) -> float:
        if not self.tid:
            return 0.0
        return procs.cpu_s("self", self.tid)


def wait_drained(store: Store | None, timeout_s: float = 300.0) -> bool:
    """Wait until the other process has emptied the queue."""
    deadline = time.monotonic() + timeout_s
    while store is not None and store.queue_depth() and time.monotonic() < deadline:
        time.sleep(0.2)
    return store is not None and store.queue_depth() == 0


def queue_head(store: Store | None) -> int:
    """The lowest queued id: on SQLite, rows below it have all been processed."""
    return store.queue_extent()[0] if store is not None else 0


def matches(committed: int, acknowledged: int, in_flight: int) -> bool:
    """Every acknowledged record was committed. A load that stops at a deadline (h2load)
    leaves up to `in_flight` records committed but not yet answered."""
    return 0 <= committed - acknowledged <= in_flight


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (everything but idle and iowait)."""
    ticks = procs.cpu_ticks()
    return ticks[0] / procs.TICKS if ticks else 0.0


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


def _receiver(store: Store, protocol: str) -> tuple[Any, str]:
    """A started receiver of `protocol` on a free port, and the address clients dial."""
    if protocol.startswith("handwritten-"):  # a comparison, not logsieve
        plain = HandWrittenReceiver(protocol.removeprefix("handwritten-"))
        plain.start()
        return plain, plain.address
    if protocol == "http":
        config = HttpReceiverConfig(endpoint="127.0.0.1:0", max_request_mib=16)
        http = OtlpHttpReceiver(Ingest(store, SystemClock()), config, SystemClock())
        http.start()
        return http, http.url
    grpc_config = GrpcReceiverConfig(endpoint="127.0.0.1:0", max_recv_msg_size_mib=16)
    grpc_receiver = OtlpGrpcReceiver(Ingest(store, SystemClock()), grpc_config)
    grpc_receiver.start()
    return grpc_receiver, grpc_receiver.address


def _load(plan: LoadPlan, opts: IngestOptions) -> LoadRun | h2load.H2LoadRun:
    if opts.load == "h2load":
        return h2load.H2LoadRun(plan, opts.client_processes * opts.threads_per_process)
    return LoadRun(plan, opts.client_processes)


def _count_commits(store: Store) -> list[int]:
    """Rows the receiver's enqueues committed, as [count]: what acknowledgements must match
    (h2load cannot see a gRPC error, so this is how its run shows that every OK was one)."""
    committed, enqueue = [0], store.enqueue

    def counting_enqueue(rows: Sequence[IncomingRow]) -> None:
        enqueue(rows)
        committed[0] += len(rows)  # after the commit returned

    store.enqueue = counting_enqueue  # type: ignore[method-assign]
    return committed


def run_ingest(
    url: str | None, payloads: list[bytes], policy: SamplingPolicy, opts: IngestOptions
) -> IngestResult:
    """`url` None: the no-write stand-in store. Otherwise a fresh schema at `url`."""
    store = Store(url, sqlite_synchronous=opts.sqlite_synchronous) if url else None
    if store is not None:
        store.drop_all()
        store.create_schema()
    receiver_store = store if store is not None else cast(Store, NullStore())
    committed = _count_commits(store) if store is not None else None
    receiver, address = _receiver(receiver_store, opts.protocol)
    batch = None
    if store is not None and opts.run_batch_stage and not opts.processing_process:
        batch = _BatchLoop(store, policy, opts.batch_interval_s)
    worker = None
    if url and opts.processing_process:
        worker = _ProcessingProcess(url, Path(tempfile.mkdtemp(prefix="logsieve-bench-")))
    plan = LoadPlan(
        address,
        payloads,
        opts.records_per_call,
        opts.threads_per_process,
        opts.warmup_s,
        opts.duration_s,
    )
    load = _load(plan, opts)
    samplers: list[profile.Sampler] = []
    try:
        if batch is not None:
            batch.periodic.start()
        freeze_long_lived()  # as Gateway.start() does
        start = load.start()
        window_start, window_end = start + opts.warmup_s, start + opts.warmup_s + opts.duration_s
        time.sleep(max(0.0, window_start - time.monotonic()))
        if opts.profile_dir is not None:
            samplers = profile.start(opts.profile_dir, opts.name, opts.duration_s)
        cpu0, batch0, t0 = _cpu_s(), batch.cpu_s() if batch else 0.0, time.monotonic()
        machine0 = machine_busy_s()
        finished0 = batch.finished if batch else 0
        head0, worker0 = queue_head(store), worker.cpu_s() if worker else 0.0
        time.sleep(max(0.0, window_end - time.monotonic()))
        cpu1, batch1, t1 = _cpu_s(), batch.cpu_s() if batch else 0.0, time.monotonic()
        machine1 = machine_busy_s()
        finished1 = batch.finished if batch else 0
        if worker is not None:  # rows leave the head of the queue as the other process works
            finished0, finished1 = head0, queue_head(store)
            batch0, batch1 = worker0, worker.cpu_s()
        backlog = store.queue_depth() if store is not None else 0
        clients = load.collect(timeout_s=120)
    finally:
        load.kill()
        receiver.shutdown()
        if worker is not None:
            drained = wait_drained(store)
            worker.stop()
    result = _result(clients, opts, cpu1 - cpu0, batch1 - batch0, t1 - t0, backlog)
    result.batch_records_per_s = (finished1 - finished0) / (t1 - t0)
    busy = (machine1 - machine0) / (t1 - t0)
    if opts.load == "h2load":
        callers = opts.client_processes * opts.threads_per_process
        result.notes.append(h2load.describe(True, callers))
    result.notes.append(f"whole machine {busy:.2f} of {os.cpu_count()} cores busy")
    if samplers:
        result.notes += profile.finish(samplers)
        records = clients.window_ok_calls * opts.records_per_call
        result.profile_md = "".join(
            profile.summarise(s.raw_path, s.kind, records, opts.duration_s) + "\n"
            for s in samplers
            if s.raw_path.exists()
        )
    if worker is not None:
        result.batch_elsewhere = True
        accepted = clients.total_ok_calls * opts.records_per_call
        callers = opts.client_processes * opts.threads_per_process
        in_flight = callers * opts.records_per_call
        ok = drained and committed is not None and matches(committed[0], accepted, in_flight)
        result.integrity = (
            f"{'OK' if ok else 'MISMATCH'}: {accepted:,} acknowledged, "
            f"{committed[0] if committed else 0:,} committed, "
            f"{'all' if drained else 'not all'} processed by the batch process"
        )
    elif batch is not None and store is not None:
        batch.periodic.shutdown(timeout=600)
        batch.claimed += batch.stage.run_batches(SystemClock().now_ns()).claimed
        accepted = clients.total_ok_calls * opts.records_per_call
        ok = batch.claimed == accepted and store.queue_depth() == 0
        result.integrity = (
            f"{'OK' if ok else 'MISMATCH'}: {accepted:,} acknowledged, {batch.claimed:,} processed"
        )
    elif store is not None:
        accepted, queued = clients.total_ok_calls * opts.records_per_call, store.queue_depth()
        ok = accepted == queued
        result.integrity = (
            f"{'OK' if ok else 'MISMATCH'}: {accepted:,} acknowledged, {queued:,} queued"
        )
    if store is not None:
        store.dispose()
    return result


def _result(
    clients: ClientResult,
    opts: IngestOptions,
    server_cpu: float,
    batch_cpu: float,
    window_s: float,
    backlog: int,
) -> IngestResult:
    result = from_clients(clients, opts.records_per_call, opts.duration_s, server_cpu, window_s)
    result.batch_cpu_s, result.backlog_at_end = batch_cpu, backlog
    return result


def from_clients(
    clients: ClientResult,
    records_per_call: int,
    duration_s: float,
    server_cpu: float,
    window_s: float,
) -> IngestResult:
    """Rate and latency from what the clients saw in the window, and the server's CPU."""
    lat = clients.latencies_s
    return IngestResult(
        records_per_s=clients.window_ok_calls * records_per_call / duration_s,
        p50_ms=percentile(lat, 0.5) * 1000,
        p99_ms=percentile(lat, 0.99) * 1000,
        window_ok_calls=clients.window_ok_calls,
        errors=dict(clients.errors),
        server_cpu_s=server_cpu,
        batch_cpu_s=0.0,
        client_cpu_s=clients.cpu_s,
        window_s=window_s,
    )
