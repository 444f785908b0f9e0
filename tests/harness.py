"""Drives the real gateway process under load: sequence-numbered records in, kill -9 at will.

Every record's body is `record <seq>`, so each reaches Logflare as its own entry and the
fake Logflare's events say exactly which acknowledged records arrived, and how often.
"""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub

from gateway.clock import Clock
from gateway.config.settings import parse_config
from gateway.runtime.app import Gateway, Overrides
from testkit.logflare import FakeLogflare
from tests.builders import T0, Rec, request


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it holds; fail with `what` after `timeout` seconds."""
    deadline = threading.Event()
    timer = threading.Timer(timeout, deadline.set)
    timer.start()
    try:
        while not condition():
            if deadline.wait(0.05):
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
    finally:
        timer.cancel()


class GatewayProcess:
    """`python -m gateway run` in a child process; its log is drained so it never blocks."""

    started: ClassVar[list[GatewayProcess]] = []  # so a failed test can kill what it left

    @classmethod
    def kill_all(cls) -> None:
        for gateway in cls.started:
            if gateway.process.poll() is None:
                gateway.process.kill()
                gateway.process.wait(30)
        cls.started.clear()

    def __init__(
        self,
        config: Path,
        env: dict[str, str] | None = None,
        preexec_fn: Callable[[], None] | None = None,  # runs in the child before exec
    ) -> None:
        base = {k: v for k, v in os.environ.items() if not k.startswith("LOGFLARE_")}
        env = base | (env or {})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run", "--config", str(config)],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            preexec_fn=preexec_fn,
        )
        GatewayProcess.started.append(self)
        self.log: list[str] = []
        self._address: str | None = None
        self._telemetry: str | None = None
        self.http_url: str | None = None  # the OTLP/HTTP receiver's, once it listens
        self.viewer_url: str | None = None  # the viewer's, once it serves
        self._ready = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()
        if not self._ready.wait(60) or self.process.poll() is not None:
            self.process.kill()
            raise AssertionError("gateway did not start:\n" + "".join(self.log[-20:]))

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)
            if match := re.search(r"gRPC receiver listening on ([\w.:\[\]-]+)", line):
                self._address = match.group(1)
            if match := re.search(r"metrics and health at (http://[\w.:\[\]-]+)", line):
                self._telemetry = match.group(1)
            if match := re.search(r"OTLP/HTTP receiver listening on (https?://[\w.:\[\]-]+)", line):
                self.http_url = match.group(1)
            if match := re.search(r"viewer at (http://[\w.:\[\]-]+)/logs", line):
                self.viewer_url = match.group(1)
            if "logsieve started" in line:
                self._ready.set()
        self._ready.set()

    @property
    def address(self) -> str:
        assert self._address is not None
        return self._address

    @property
    def telemetry_url(self) -> str:
        assert self._telemetry is not None
        return self._telemetry

    def children(self) -> list[int]:
        """Pids of the processes this gateway started (its batch child)."""
        return [pid for pid in _all_pids() if _parent_of(pid) == self.process.pid]

    def kill9(self) -> None:
        self.process.kill()
        self.process.wait(30)

    def terminate(self) -> int:
        self.process.terminate()
        return self.process.wait(60)


def _all_pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _parent_of(pid: int) -> int | None:
    try:  # "pid (name) state ppid ...": the name may hold spaces, so split after its ")"
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None  # gone meanwhile
    return int(stat.rsplit(")", 1)[1].split()[1])


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class SeqSender:
    """Sends `per_request` records at a time, numbered; remembers what was acknowledged."""

    def __init__(
        self,
        per_request: int = 50,
        offset: int = 0,
        severity_number: int = 9,
        own_connection: bool = False,
        bodies: int = 0,
    ) -> None:
        self.per_request = per_request
        # >0: bodies cycle over `record 0` .. `record <bodies - 1>`, so entries merge.
        self.bodies = bodies
        # A TCP connection of its own rather than the one this process shares per address.
        self._options = [("grpc.use_local_subchannel_pool", 1)] if own_connection else []
        self.severity_number = severity_number
        self.acknowledged: set[int] = set()
        self.failures = 0
        self.codes: collections.Counter[str] = collections.Counter()  # status of each failure
        self._next = offset  # senders with different offsets never share a number
        self._address = ""
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self, address: str) -> None:
        self.retarget(address)
        self._thread.start()

    def retarget(self, address: str) -> None:
        with self._lock:
            self._address = address

    def _run(self) -> None:
        channel, address = None, ""
        while not self._stop.is_set():
            with self._lock:
                if self._address != address:
                    address = self._address
                    channel = grpc.insecure_channel(address, options=self._options)
            assert channel is not None
            self._send_one(LogsServiceStub(channel))
        if channel is not None:
            channel.close()

    def _send_one(self, stub: LogsServiceStub) -> None:
        seqs = range(self._next, self._next + self.per_request)
        self._next += self.per_request
        try:
            stub.Export(request([self.record(seq) for seq in seqs]), timeout=5)
        except grpc.RpcError as error:
            self.failures += 1
            self.codes[error.code().name] += 1
            self._stop.wait(0.05)  # the gateway is down or restarting: try again shortly
            return
        with self._lock:
            self.acknowledged.update(seqs)
            self._lock.notify_all()

    def record(self, seq: int) -> Rec:
        if not self.bodies:
            return Rec(f"record {seq}", self.severity_number)
        # Cycling bodies share entries: the record's time (T0 + seq µs) still names it, so an
        # entry's first_seen says which record opened it and no two entries look alike.
        return Rec(f"record {seq % self.bodies}", self.severity_number, time=T0 + seq * 1000)

    def wait_for(self, count: int, timeout: float = 60) -> None:
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.acknowledged) >= count, timeout):
                raise AssertionError(f"only {len(self.acknowledged)} of {count} acknowledged")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


def send(address: str, count: int) -> set[int]:
    """Send numbered records until `count` are acknowledged; returns the acknowledged numbers."""
    sender = SeqSender()
    sender.start(address)
    try:
        sender.wait_for(count)
    finally:
        sender.stop()
    return set(sender.acknowledged)


def all_delivered(senders: list[SeqSender], logflare: FakeLogflare, timeout: float) -> set[int]:
    """Stop the senders, then wait until Logflare has every record they got acknowledged."""
    for sender in senders:
        sender.stop()
    acknowledged = set().union(*(sender.acknowledged for sender in senders))
    wait_until(lambda: acknowledged <= delivered(logflare).keys(), timeout, "every record")
    return acknowledged


def delivered(logflare: FakeLogflare) -> collections.Counter[int]:
    """How many times Logflare got each sequence number."""
    seqs = (e.get("event_message", "") for e in list(logflare.events))
    return collections.Counter(int(m.split()[1]) for m in seqs if m.startswith("record "))


def loopback_config(tmp_path: Path, telemetry: str = "") -> Path:
    """A gateway on a SQLite file with every endpoint on a free port; `telemetry`: more keys
    of the telemetry section (", logs: {access: true}")."""
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "receivers: {otlp: {grpc: {endpoint: '127.0.0.1:0'}, http: {endpoint: '127.0.0.1:0'}}}\n"
        f"storage: {{url: 'sqlite:///{tmp_path / 'logsieve.db'}'}}\n"
        "viewer: {endpoint: '127.0.0.1:0'}\n"
        f"telemetry: {{metrics: {{endpoint: '127.0.0.1:0'}}{telemetry}}}\n"
    )
    return config


def gateway_config(
    tmp_path: Path,
    storage_url: str,
    logflare: FakeLogflare,
    retry_max: str = "60s",
    interval: str = "200ms",
    queue: str = "{}",
    components: str = "[ingest, processing, viewer]",
    name: str = "gateway.yaml",
) -> Path:
    config = tmp_path / name
    config.write_text(
        f"components: {components}\n"
        "receivers: {otlp: {grpc: {endpoint: '127.0.0.1:0'}, http: {endpoint: '127.0.0.1:0'}}}\n"
        f"storage: {{url: '{storage_url}'}}\n"
        f"queue: {queue}\n"
        f"batch: {{interval: {interval}, lease: 2s, max_batch_records: 2000,"
        " sampling: {default_keep: 1.0}}\n"
        f"exporters: {{logflare: {{endpoint: '{logflare.url}', source: '{logflare.source_id}',"
        f" api_key: '{logflare.api_key}', timeout: 1s, retry_initial: 100ms,"
        f" retry_max: {retry_max}}}}}\n"
        "viewer: {endpoint: '127.0.0.1:0'}\n"
        "telemetry: {metrics: {endpoint: '127.0.0.1:0'}}\n"
    )
    return config


KEEP_EVERYTHING = {"sampling": {"default_keep": 1.0, "rules": []}}


def in_process_gateway(
    tmp_path: Path, exporters: dict[str, Any], clock: Clock, batch: dict[str, Any] | None = None
) -> Gateway:
    """A gateway in this process on its own SQLite file, every port on loopback port 0 and no
    metrics server, its stages driven by the test (no jobs run by themselves)."""
    config = parse_config(
        {
            "storage": {"url": f"sqlite:///{tmp_path / 'q.db'}"},
            "receivers": {
                "otlp": {"grpc": {"endpoint": "127.0.0.1:0"}, "http": {"endpoint": "127.0.0.1:0"}}
            },
            "viewer": {"endpoint": "127.0.0.1:0"},
            "telemetry": {"metrics": {"enabled": False}},
            "batch": KEEP_EVERYTHING if batch is None else batch,
            "exporters": exporters,
        },
        env={},
    )
    return Gateway(config, Overrides(clock=clock, run_jobs=False))
