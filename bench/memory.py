"""Peak memory of draining a large backlog, each phase in a FRESH process.

    python -m bench.memory fill URL ROWS   -> fills the queue (its memory is not measured)
    python -m bench.memory drain URL       -> run_batches until empty; prints JSON

The drain process reports its RSS before run_batches (imports, engine) and its peak
(ru_maxrss and VmHWM) after, plus the largest claim it saw.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.procs import LaunchedGateway, child_flag, status_kib


def _fill(url: str, rows: int, flood: bool = False) -> dict[str, Any]:
    from bench.batchbench import fill, fresh_store

    store = fresh_store(url)
    seconds = fill(store, rows, flood=flood)
    depth = store.queue_depth()
    store.dispose()
    return {"rows": depth, "fill_s": seconds}


def _drain(url: str) -> dict[str, Any]:
    from bench.batchbench import default_miner, default_policy, default_settings, instrument
    from gateway.clock import SystemClock
    from gateway.export.logflare import event_json
    from gateway.pipeline.batch import BatchStage, Outbound
    from gateway.runtime.heap import freeze_long_lived
    from gateway.store import Store

    store = Store(url)
    settings = default_settings()
    stage = BatchStage(
        store,
        default_policy(),
        settings,
        outbound=[Outbound("logflare", event_json)],
        miner=default_miner(),
    )
    timing = instrument(store)
    store.queue_depth()  # open the pool's first connection before the baseline
    freeze_long_lived()  # as Gateway.start() does
    baseline_kib = status_kib("VmRSS")
    began = time.perf_counter()
    report = stage.run_batches(SystemClock().now_ns())
    seconds = time.perf_counter() - began
    left = store.queue_depth()
    store.dispose()
    return {
        "claimed": report.claimed,
        "left": left,
        "seconds": seconds,
        "baseline_kib": baseline_kib,
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "hwm_kib": status_kib("VmHWM"),
        "claims": timing.claims,
        "max_claim_rows": timing.max_claim_rows,
        "max_batch_records": settings.max_batch_records,
    }


def _child(*args: str, timeout_s: float) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.memory {args[0]} failed: {done.stderr.strip()[-500:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@dataclass(frozen=True, slots=True)
class MemoryResult:
    rows: int
    fill_s: float
    drain_s: float
    baseline_mib: float
    peak_mib: float
    claims: int
    max_claim_rows: int
    max_batch_records: int
    left: int


def run_memory(url: str, rows: int, flood: bool = False) -> MemoryResult:
    """Fill (in one child process), then drain in a fresh one whose peak RSS is read."""
    filled = _child("fill-flood" if flood else "fill", url, str(rows), timeout_s=300)
    if filled["rows"] != rows:
        raise RuntimeError(f"filled {filled['rows']} rows, wanted {rows}")
    drained = _child("drain", url, timeout_s=400)
    if drained["claimed"] != rows:
        raise RuntimeError(f"drained {drained['claimed']} of {rows} rows")
    return MemoryResult(
        rows=rows,
        fill_s=filled["fill_s"],
        drain_s=drained["seconds"],
        baseline_mib=drained["baseline_kib"] / 1024,
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child forked from
        # this (large) bench process would report the bench's own peak.
        peak_mib=drained["hwm_kib"] / 1024,
        claims=drained["claims"],
        max_claim_rows=drained["max_claim_rows"],
        max_batch_records=drained["max_batch_records"],
        left=drained["left"],
    )


@dataclass(frozen=True, slots=True)
class GatewayMemoryResult:
    rows: int
    drain_s: float  # from the gateway's start to an empty queue
    parent_mib: float  # peak RSS of the receivers
    child_mib: float  # peak RSS of the batch child
    viewer_mib: float  # peak RSS of the viewer child

    @property
    def total_mib(self) -> float:
        return self.parent_mib + self.child_mib + self.viewer_mib


def run_gateway_memory(folder: Path, rows: int) -> GatewayMemoryResult:
    """`logsieve run` as deployed (processing in its child) drains a `rows` template flood;
    the peak RSS of both processes is read from /proc before they stop."""
    url = f"sqlite:///{folder / 'gateway-memory.db'}"
    filled = _child("fill-flood", url, str(rows), timeout_s=300)
    if filled["rows"] != rows:
        raise RuntimeError(f"filled {filled['rows']} rows, wanted {rows}")
    from gateway.store import Store

    config = folder / "gateway-memory.yaml"
    config.write_text(
        "receivers: {otlp: {grpc: {endpoint: '127.0.0.1:0'}, http: {endpoint: '127.0.0.1:0'}}}\n"
        f"storage: {{url: '{url}'}}\nviewer: {{endpoint: '127.0.0.1:0'}}\n"
        "telemetry: {metrics: {endpoint: '127.0.0.1:0'}}\nbatch: {interval: 1s}\n"
    )
    store, began = Store(url), time.monotonic()
    gateway = LaunchedGateway(config)
    try:
        while store.queue_depth() and time.monotonic() - began < 300:
            time.sleep(0.1)
        drain_s = time.monotonic() - began
        peaks = _peaks_by_role(gateway)
    finally:
        gateway.stop()
        store.dispose()
    return GatewayMemoryResult(rows, drain_s, *(peaks[role] / 1024 for role in ROLES))


ROLES = ("", "--batch-child", "--viewer-child")  # the parent, then its children


def _peaks_by_role(gateway: LaunchedGateway) -> dict[str, int]:
    """VmHWM (KiB) of the parent and of each child, told apart by their flags."""
    peaks = dict.fromkeys(ROLES, 0)
    for pid in gateway.pids():
        flag = child_flag(pid)
        peaks[flag if flag in ROLES else ""] += status_kib("VmHWM", pid)
    return peaks


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] in ("fill", "fill-flood"):
        print(json.dumps(_fill(argv[1], int(argv[2]), flood=argv[0] == "fill-flood")))
        return 0
    if len(argv) == 2 and argv[0] == "drain":
        print(json.dumps(_drain(argv[1])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
