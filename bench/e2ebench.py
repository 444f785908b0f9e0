"""End to end: from a record's acknowledgement to its arrival on the live pages, under load.

A real gateway (receiver and viewer, batch stage every `interval` in its batch child,
as `logsieve run` runs) on a SQLite file takes a paced
template flood (what logsieve is for) of 512-record requests at `rate` records/s from client
processes, while `pages`
websocket followers watch the live stream. A probe thread sends one ERROR record with a
unique body every 100 ms and notes when its Export was acknowledged; each follower notes
when the probe's entry arrived. Latency = arrival - acknowledgement, over (probe, page).
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import yaml
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub

from bench.clients import LoadPlan, LoadRun
from bench.viewerbench import StreamFollower
from bench.workload import FloodWorkload
from gateway.config.settings import parse_config
from gateway.runtime.app import Gateway
from gateway.runtime.roles import Roles
from gateway.runtime.supervisor import Children, config_for

PROBE_EVERY_S = 0.1
RECORDS_PER_CALL = 512
THREADS = 4  # x 2 client processes


@dataclass(frozen=True, slots=True)
class EndToEndResult:
    rate: int
    achieved_rate: float
    pages: int
    interval_s: float
    probes: int
    seen: int  # (probe, page) pairs that arrived
    p50_s: float
    p99_s: float


class _Probes(threading.Thread):
    def __init__(self, address: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self._address, self._halt = address, stop
        self.acked: dict[str, float] = {}

    def run(self) -> None:
        with grpc.insecure_channel(self._address) as channel:
            stub, i = LogsServiceStub(channel), 0
            while not self._halt.wait(PROBE_EVERY_S):
                body = f"probe {i}"
                stub.Export(_probe(body), timeout=30)
                self.acked[body] = time.time()
                i += 1


def _probe(body: str) -> ExportLogsServiceRequest:
    """One ERROR record (kept by every sampling rule) with a body no other record has."""
    probe = ExportLogsServiceRequest()
    record = probe.resource_logs.add().scope_logs.add().log_records.add()
    record.time_unix_nano = time.time_ns()
    record.severity_number = 17
    record.body.string_value = body
    return probe


def _gateway(folder: Path, interval_s: float) -> Gateway:
    """As `logsieve run` runs it: processing in a child process (gateway/runtime/supervisor.py)."""
    tree = {
        "components": ["ingest", "batch", "viewer"],
        "receivers": {"otlp": {"grpc": {"endpoint": "127.0.0.1:0"}, "http": {"enabled": False}}},
        "storage": {"url": f"sqlite:///{folder / 'e2e.db'}"},
        "batch": {"interval": f"{interval_s}s"},
        "viewer": {"endpoint": "127.0.0.1:0", "max_connections": 100},
        "telemetry": {"metrics": {"enabled": False}},
    }
    path = folder / "e2e.yaml"
    path.write_text(yaml.safe_dump(tree))
    config = parse_config(tree, env={})
    # The batch stage in a child, the receivers and the viewer here.
    roles = Roles(ingest=True, batch=False, viewer=True, batch_child=True)
    children = Children.for_roles(roles, str(path))
    return Gateway(config_for(config, roles), roles=roles, children=children)


def run_e2e(
    rate: int = 50_000, pages: int = 20, seconds: float = 30.0, interval_s: float = 10.0
) -> EndToEndResult:
    gateway = _gateway(Path(tempfile.mkdtemp(prefix="logsieve-e2e-")), interval_s)
    gateway.start()
    try:
        assert gateway.viewer is not None
        stream = gateway.viewer.url.replace("http://", "ws://") + "/logs/stream"
        errors_only = '{"after": "0", "minSeverity": "ERROR"}'  # the probes are ERROR
        followers = [StreamFollower(stream, errors_only) for _ in range(pages)]
        for page in followers:
            page.start()
        calls_per_thread = rate / RECORDS_PER_CALL / (2 * THREADS)
        plan = LoadPlan(
            gateway.receiver.address,
            FloodWorkload(seed=9).payloads(32),
            RECORDS_PER_CALL,
            THREADS,
            0.0,
            seconds,
            calls_per_s=calls_per_thread,
        )
        load, stop = LoadRun(plan, 2), threading.Event()
        probes = _Probes(gateway.receiver.address, stop)
        load.start(delay_s=0.3)
        probes.start()
        clients = load.collect(timeout_s=seconds + 120)
        stop.set()
        probes.join(30)
        time.sleep(interval_s + 5.0)  # the last probes' batch, and its fan-out
        for page in followers:
            page.socket.close()
    finally:
        gateway.shutdown()
    latencies = [
        page.arrived[body] - acked
        for page in followers
        for body, acked in probes.acked.items()
        if body in page.arrived
    ]
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return EndToEndResult(
        rate=rate,
        achieved_rate=clients.total_ok_calls * RECORDS_PER_CALL / seconds,
        pages=pages,
        interval_s=interval_s,
        probes=len(probes.acked),
        seen=len(latencies),
        p50_s=cuts[49],
        p99_s=cuts[98],
    )
