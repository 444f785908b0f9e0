"""Load from h2load (nghttp2's HTTP/2 benchmark, in C) for the small-request runs.

At one record per Export, Python client processes spend 0.5-0.8 of a core to keep 32 calls
going, and on a 2-core machine that CPU is taken from the server being measured. h2load
costs a fraction of that, as the gateway's real clients would, being on other machines. It
speaks gRPC's framing well enough for a unary call: POST with `content-type:
application/grpc`, `te: trailers`, and a length-prefixed message as the body.

h2load sees only HTTP statuses, and a gRPC error is an HTTP 200 with an error in its
trailers. So the bench checks acknowledgements against what was committed instead: each
OK call commits exactly one row, so the rows a run added must equal the 200s h2load saw.
"""

from __future__ import annotations

import resource
import shutil
import struct
import subprocess
import tempfile
import time
from pathlib import Path

from bench.clients import METHOD, ClientResult, LoadPlan


def available() -> bool:
    return shutil.which("h2load") is not None


def describe(used: bool, callers: int) -> str:
    """How a run's load was made, for its row's details."""
    source = "h2load (C)" if used else "Python client processes"
    return f"load from {source}: {callers} connections, one call in flight each"


def grpc_frame(payload: bytes) -> bytes:
    """A gRPC length-prefixed message: not compressed, 4-byte big-endian length."""
    return b"\x00" + struct.pack(">I", len(payload)) + payload


class H2LoadRun:
    """`callers` connections with one call in flight each, for warm-up plus the window.

    The same interface as clients.LoadRun. h2load sends one body, so every call carries
    plan.payloads[0]. The warm-up is part of h2load's own run (its --warm-up-time would
    leave those calls out of its log, and every acknowledged call must be counted).
    """

    def __init__(self, plan: LoadPlan, callers: int) -> None:
        if plan.address.startswith("http"):
            raise ValueError("h2load drives the gRPC receivers only")
        self._plan, self._callers = plan, callers
        self._dir = Path(tempfile.mkdtemp(prefix="logsieve-h2load-"))
        (self._dir / "body").write_bytes(grpc_frame(plan.payloads[0]))
        self._proc: subprocess.Popen[bytes] | None = None
        self._wall0 = self._mono0 = 0.0
        self._children0 = 0.0

    def _command(self) -> list[str]:
        seconds = max(1, round(self._plan.warmup_s + self._plan.duration_s))
        return [
            "h2load",
            f"--clients={self._callers}",
            "--max-concurrent-streams=1",
            f"--duration={seconds}",
            "--header=content-type: application/grpc",
            "--header=te: trailers",
            f"--data={self._dir / 'body'}",
            f"--log-file={self._dir / 'log'}",
            f"http://{self._plan.address}{METHOD}",
        ]

    def start(self, delay_s: float = 0.0) -> float:
        """Start sending now; returns the (monotonic) instant the run began."""
        self._children0 = _children_cpu_s()
        self._wall0, self._mono0 = time.time(), time.monotonic()
        self._proc = subprocess.Popen(
            self._command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        return self._mono0

    def collect(self, timeout_s: float) -> ClientResult:
        assert self._proc is not None
        self._proc.wait(timeout=timeout_s + self._plan.warmup_s + self._plan.duration_s)
        result = ClientResult(cpu_s=_children_cpu_s() - self._children0)
        window_start = self._wall0 + self._plan.warmup_s
        window_end = window_start + self._plan.duration_s
        for line in (self._dir / "log").read_text().splitlines():
            started_us, status, elapsed_us = (int(field) for field in line.split("\t"))
            if status != 200:
                result.errors[f"HTTP {status}"] += 1
                continue
            result.total_ok_calls += 1
            done = (started_us + elapsed_us) / 1e6
            if window_start <= done <= window_end:
                result.window_ok_calls += 1
                result.latencies_s.append(elapsed_us / 1e6)
        shutil.rmtree(self._dir, ignore_errors=True)
        return result

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
