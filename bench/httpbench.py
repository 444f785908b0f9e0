"""OTLP/HTTP ingest on its server as it is (waitress, kept-alive connections) against the server
it had before (werkzeug's development server, `make_server(threaded=True)`: a thread and a new
connection per request, `Connection: close` on every answer), in the same run.

The same OtlpHttpReceiver app (its real ingest path, committing to a fresh SQLite file each
time) is served one way, then the other, to the same clients: kept-alive http.client
connections in spawned client processes (bench/clients.py, as row 1d's: the cheapest client
Python has, so the clients take little CPU from the server on a small machine), sending the
same pre-serialized protobuf requests. Against the old server http.client reconnects for each
request, as any client must when told `Connection: close`. The servers take turns (three
each, alternating), so that a busy machine weighs on both alike; server CPU per record is
reported beside the rates, as it depends less on what else runs.
"""

from __future__ import annotations

import logging
import resource
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from bench.clients import LoadPlan, LoadRun
from bench.ingest import percentile
from gateway.clock import SystemClock
from gateway.config.receivers import HttpReceiverConfig
from gateway.http.wsgi_server import WsgiServer
from gateway.receivers.http import OtlpHttpReceiver, server_limits
from gateway.receivers.ingest import Ingest
from gateway.store import Store

MIB = 1024 * 1024
SERVERS = ("werkzeug", "waitress")  # before, now
ROUNDS = 3  # turns each server gets, alternating


@dataclass(slots=True)
class Rounds:
    """One server's measured windows, added up."""

    ok_calls: int = 0
    seconds: float = 0.0
    cpu_s: float = 0.0  # the bench process's (the server's) CPU in the windows
    latencies_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class ServerRun:
    server: str
    records_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_cores: float
    cpu_us_per_record: float  # less sensitive than records/s to what else the machine runs
    errors: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, server: str, rounds: Rounds, records_per_call: int) -> ServerRun:
        records = rounds.ok_calls * records_per_call
        return cls(
            server,
            records_per_s=records / rounds.seconds,
            p50_ms=percentile(rounds.latencies_s, 0.50) * 1000,
            p99_ms=percentile(rounds.latencies_s, 0.99) * 1000,
            cpu_cores=rounds.cpu_s / rounds.seconds,
            cpu_us_per_record=rounds.cpu_s / records * 1e6 if records else float("nan"),
            errors=dict(rounds.errors),
        )

    def describe(self) -> str:
        text = (
            f"{self.server}: {self.records_per_s:,.0f} records/s, p50 {self.p50_ms:,.1f} ms, "
            f"p99 {self.p99_ms:,.1f} ms, server CPU {self.cpu_cores:.2f} cores "
            f"({self.cpu_us_per_record:,.1f} µs/record)"
        )
        if self.errors:
            text += " (errors " + ", ".join(f"{k}={v}" for k, v in sorted(self.errors.items()))
            text += ")"
        return text


@dataclass(frozen=True, slots=True)
class HttpServersResult:
    records_per_call: int
    clients: int
    before: ServerRun
    now: ServerRun

    @property
    def ratio(self) -> float:
        base = self.before.records_per_s
        return self.now.records_per_s / base if base > 0 else float("nan")

    def cells(self) -> tuple[str, str, str, str]:
        """(result, compared with, verdict, details) for the bench table."""
        result = f"{self.now.records_per_s:,.0f} records/s; p99 {self.now.p99_ms:,.1f} ms"
        compared = (
            f"{self.ratio:.2f}x werkzeug's dev server in the same run "
            f"({self.before.records_per_s:,.0f}/s, p99 {self.before.p99_ms:,.1f} ms)"
        )
        details = (
            f"{self.clients} kept-alive clients, {self.records_per_call}-record protobuf "
            f"requests; {self.now.describe()}; {self.before.describe()}"
        )
        return result, compared, "n/a", details


def run_http_servers(
    payloads: list[bytes],
    records_per_call: int,
    window: tuple[float, float],
    client_processes: int = 2,
    threads_per_process: int = 4,
) -> HttpServersResult:
    """`window`: (warm-up, measured) seconds for each server, measured in ROUNDS turns that
    alternate between the servers, so that what else the machine does weighs on both."""
    warmup_s, duration_s = window
    turn = (warmup_s, duration_s / ROUNDS)
    rounds = {server: Rounds() for server in SERVERS}
    for number in range(ROUNDS):
        for server in SERVERS if number % 2 == 0 else SERVERS[::-1]:
            _measure(
                server,
                payloads,
                records_per_call,
                turn,
                client_processes,
                threads_per_process,
                rounds[server],
            )
    runs = {server: ServerRun.of(server, rounds[server], records_per_call) for server in SERVERS}
    clients = client_processes * threads_per_process
    return HttpServersResult(records_per_call, clients, runs["werkzeug"], runs["waitress"])


def _measure(
    server: str,
    payloads: list[bytes],
    records_per_call: int,
    window: tuple[float, float],
    processes: int,
    threads: int,
    into: Rounds,
) -> None:
    warmup_s, duration_s = window
    with tempfile.TemporaryDirectory(prefix="logsieve-httpbench-") as folder:
        store = Store(f"sqlite:///{Path(folder) / 'bench.db'}")
        store.create_schema()
        config = HttpReceiverConfig(endpoint="127.0.0.1:0", max_request_mib=16)
        receiver = OtlpHttpReceiver(Ingest(store, SystemClock()), config, SystemClock())
        try:
            with SERVING[server](receiver, config) as url:
                plan = LoadPlan(url, payloads, records_per_call, threads, warmup_s, duration_s)
                load = LoadRun(plan, processes)
                try:
                    into.cpu_s += _window_cpu(load.start(), warmup_s, duration_s)
                    clients = load.collect(timeout_s=120)
                finally:
                    load.kill()
        finally:
            store.dispose()
    into.ok_calls += clients.window_ok_calls
    into.seconds += duration_s
    into.latencies_s += clients.latencies_s
    into.errors.update(clients.errors)


def _window_cpu(start: float, warmup_s: float, duration_s: float) -> float:
    """This process's CPU seconds over the measured window (it runs the server)."""
    time.sleep(max(0.0, start + warmup_s - time.monotonic()))
    before = _cpu_s()
    time.sleep(max(0.0, start + warmup_s + duration_s - time.monotonic()))
    return _cpu_s() - before


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def _on_werkzeug(receiver: OtlpHttpReceiver, _config: HttpReceiverConfig) -> Iterator[str]:
    """The receiver's app as it was served before: werkzeug's threaded development server
    (its line per request, which `logsieve run` printed, is left out: the server is measured)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, receiver.wsgi, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


@contextmanager
def _on_waitress(receiver: OtlpHttpReceiver, config: HttpReceiverConfig) -> Iterator[str]:
    """As `logsieve run` serves it (the receiver's own limits)."""
    limits = server_limits(config)
    server = WsgiServer(receiver.wsgi, "127.0.0.1", 0, limits=limits, max_body=32 * MIB)
    server.start()
    try:
        yield server.url
    finally:
        server.shutdown()


SERVING: dict[str, Callable[[OtlpHttpReceiver, HttpReceiverConfig], Any]] = {
    "werkzeug": _on_werkzeug,
    "waitress": _on_waitress,
}
