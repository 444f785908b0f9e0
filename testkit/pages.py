"""Many live pages opening at once against a gateway's viewer, while a paced gRPC stream
notes each Export's latency: the test that nothing is refused or lost meanwhile
(tests/runtime/test_viewer_isolation.py) and the bench row of what the pages cost the
receivers' latency (bench/viewerisolation.py) run the same phases."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

PAGES = 200
RECORDS_PER_REQUEST = 20
PERIOD_S = 0.02  # a request every 20 ms

# Run with `python -c PAGES_SCRIPT URL COUNT`: COUNT pages open at once, each reads its
# backfill, then follows; "all open" is printed once every page got its first entries.
PAGES_SCRIPT = """
import os, sys, threading, websocket
os.nice(10)  # pages are browsers on other machines: they must not take the gateway's cores
url, count = sys.argv[1], int(sys.argv[2])
start = threading.Barrier(count)
opened = []
def page():
    start.wait()
    try:
        # UTF-8 checked in pure Python took this process a whole core: browsers do it natively
        ws = websocket.create_connection(url, timeout=60, skip_utf8_validation=True)
        ws.send('{"after": "0"}')
        while '"entries"' not in ws.recv():  # not parsed: the first entries frame is enough
            pass
        opened.append(ws)
        if len(opened) == count:
            print("all open", flush=True)
        while ws.recv():
            pass
    except Exception as exc:
        print("page failed:", exc, flush=True)
threads = [threading.Thread(target=page, daemon=True) for _ in range(count)]
for thread in threads:
    thread.start()
sys.stdin.read()  # until the caller is done with us
"""


def numbered_request(seqs: Iterable[int]) -> ExportLogsServiceRequest:
    """One request of INFO records whose bodies are "record N", N from `seqs`."""
    built = ExportLogsServiceRequest()
    resource_logs = built.resource_logs.add()
    service = AnyValue(string_value="checkout")
    resource_logs.resource.attributes.add(key="service.name", value=service)
    scope_logs = resource_logs.scope_logs.add()
    now_ns = time.time_ns()
    for seq in seqs:
        record = scope_logs.log_records.add(time_unix_nano=now_ns, severity_number=9)
        record.body.string_value = f"record {seq}"
    return built


class PacedSender:
    """One request of RECORDS_PER_REQUEST numbered records every `period_s`, each Export's
    latency noted."""

    def __init__(self, address: str, period_s: float = PERIOD_S) -> None:
        self._stub = LogsServiceStub(grpc.insecure_channel(address))
        self.period_s = period_s
        self.next_seq, self.acknowledged, self.failures = 0, set[int](), list[str]()
        self.stopped = threading.Event()  # set to end a phase before its time

    def phase(self, seconds: float) -> list[float]:
        latencies: list[float] = []
        until = time.monotonic() + seconds
        while (now := time.monotonic()) < until and not self.stopped.is_set():
            seqs = range(self.next_seq, self.next_seq + RECORDS_PER_REQUEST)
            self.next_seq += RECORDS_PER_REQUEST
            try:
                self._stub.Export(numbered_request(seqs), timeout=10)
            except grpc.RpcError as error:
                self.failures.append(error.code().name)
            else:
                self.acknowledged.update(seqs)
            latencies.append(time.monotonic() - now)
            self.stopped.wait(max(0.0, now + self.period_s - time.monotonic()))  # the next slot
        return latencies


def percentile(latencies: list[float], share: float) -> float:
    """The latency below which `share` of them fall (nearest rank)."""
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def p99(latencies: list[float]) -> float:
    return percentile(latencies, 0.99)


def phase_with_pages(
    sender: PacedSender, url: str, seconds: float, pages: int = PAGES
) -> list[float]:
    """A phase while `pages` pages open at once and follow. They run in a process of their
    own: their threads must not slow the sender here. Fails unless every page got its
    backfill."""
    opening = subprocess.Popen(
        [sys.executable, "-c", PAGES_SCRIPT, url, str(pages)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        latencies = sender.phase(seconds)
        assert opening.stdout is not None
        said = opening.stdout.readline().strip()
        if said != "all open":
            raise AssertionError(f"not every page got its backfill: {said!r}")
    finally:
        opening.kill()
        opening.wait()
    return latencies


@dataclass
class Phases:
    """Export latencies (seconds) with no page opening, and while pages open at once."""

    alone: list[float] = field(default_factory=list)
    with_pages: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return p99(self.with_pages) / p99(self.alone)


def alternate_phases(
    sender: PacedSender, url: str, rounds: int, seconds: float, pages: int = PAGES
) -> Phases:
    """`rounds` of a phase alone then one with pages, after a 2 s warm-up (connection,
    caches, the first batches); alternated, so that a busy machine weighs on both alike."""
    sender.phase(2.0)
    phases = Phases()
    for _ in range(rounds):
        phases.alone += sender.phase(seconds)
        phases.with_pages += phase_with_pages(sender, url, seconds, pages)
    return phases
