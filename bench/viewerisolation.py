"""Row 7j: the viewer cannot hurt ingest. A real `logsieve run` (receivers in the parent, the
viewer and the batch stage in children of their own) takes a paced gRPC stream, 20 records
every 20 ms, in phases alone and while 200 websocket pages open at once on the viewer (in a
process of their own, at nice 10: browsers run on other machines). Alternated, so that a busy
machine weighs on both alike; the figure is the ratio of the two Export p99s (about 1x: the
pages must not reach the receivers' process). testkit/pages.py runs the phases, as
tests/runtime/test_viewer_isolation.py does to check nothing is refused or lost.
"""

from __future__ import annotations

import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import procs
from testkit.pages import PAGES, PERIOD_S, RECORDS_PER_REQUEST, PacedSender, alternate_phases
from testkit.pages import percentile as cut

NAME = "7j. Viewer isolation: ingest Export latency while 200 live pages open at once"
PHASE_S = 4.0
Cells = tuple[str, str, str, str, str]


@dataclass(frozen=True, slots=True)
class IsolationResult:
    alone_ms: tuple[float, float]  # p50, p99
    with_pages_ms: tuple[float, float]
    requests: tuple[int, int]  # alone, with pages
    refused: int
    rounds: int


def run_viewer_isolation(rounds: int = 4) -> IsolationResult:
    folder = Path(tempfile.mkdtemp(prefix="logsieve-bench-isolation-"))
    viewer_port = _free_port()
    gateway = procs.LaunchedGateway(_config(folder, viewer_port))
    try:
        _wait_listening(viewer_port)
        sender = PacedSender(gateway.address)
        url = f"ws://127.0.0.1:{viewer_port}/logs/stream"
        phases = alternate_phases(sender, url, rounds, PHASE_S)
    finally:
        gateway.stop()
    return IsolationResult(
        alone_ms=_p50_p99_ms(phases.alone),
        with_pages_ms=_p50_p99_ms(phases.with_pages),
        requests=(len(phases.alone), len(phases.with_pages)),
        refused=len(sender.failures),
        rounds=rounds,
    )


def _p50_p99_ms(latencies: list[float]) -> tuple[float, float]:
    return cut(latencies, 0.5) * 1000, cut(latencies, 0.99) * 1000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(folder: Path, viewer_port: int) -> Path:
    """As `logsieve run` starts by default, every endpoint on loopback; no exporter."""
    config = folder / "gateway.yaml"
    config.write_text(
        "receivers: {otlp: {grpc: {endpoint: '127.0.0.1:0'}, http: {enabled: false}}}\n"
        f"storage: {{url: 'sqlite:///{folder}/queue.db'}}\n"
        "batch: {interval: 1s}\n"
        f"viewer: {{endpoint: '127.0.0.1:{viewer_port}'}}\n"
        "telemetry: {metrics: {endpoint: '127.0.0.1:0'}}\n"
    )
    return config


def _wait_listening(port: int, timeout_s: float = 60.0) -> None:
    """The viewer child starts after the parent says it has: wait for its socket."""
    deadline = time.monotonic() + timeout_s
    while not procs.listening(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the viewer did not listen on {port} in {timeout_s:.0f} s")
        time.sleep(0.05)


def isolation_rows(value: IsolationResult | str | None) -> list[Cells]:
    if value is None:
        return []
    if isinstance(value, str):
        return [(NAME, "—", "—", "SKIP" if value.startswith("skipped") else "ERROR", value)]
    (alone_p50, alone_p99), (pages_p50, pages_p99) = value.alone_ms, value.with_pages_ms
    result = (
        f"alone p50 {alone_p50:.1f} ms, p99 {alone_p99:.1f} ms; with {PAGES} pages opening"
        f" p50 {pages_p50:.1f} ms, p99 {pages_p99:.1f} ms"
    )
    compared = f"p99 with pages / alone = {pages_p99 / alone_p99:.2f}x; target about 1x"
    details = (
        f"a real `logsieve run` (viewer and batch stage in children); {RECORDS_PER_REQUEST}"
        f" records every {PERIOD_S * 1000:.0f} ms on one gRPC channel; {value.rounds} rounds of"
        f" {PHASE_S:.0f} s alone then {PHASE_S:.0f} s while {PAGES} websocket pages (another"
        " process, nice 10) open at once and read their backfill, every one of them; requests"
        f" {value.requests[0]} alone + {value.requests[1]} with pages, {value.refused} refused"
    )
    return [(NAME, result, compared, "info" if value.refused == 0 else "FAIL", details)]
