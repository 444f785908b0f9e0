"""Pattern row 11e: peak RSS of the whole gateway with 100,000 patterns learned (target < 300 MB).

A real `logsieve run` (receivers in the parent, the batch stage in its batch child, the viewer
in its viewer child), grouping by pattern with `batch.patterns.max_patterns: 100000`, is sent
over OTLP/gRPC the bodies that teach 100,000 distinct templates (bench/manytemplates.py): its
miner learns them all and the store keeps them. A second gateway on the same store then starts
as one does after a restart: its batch stage loads the 100,000 stored patterns before its first
batch, and is sent a new body of each template (new values), which the loaded patterns match.
A third, on a fresh store, takes the first one's records grouping by body (no miner): what the
same records cost without patterns.

Three measures of each gateway, because summing RSS counts the pages its processes share
(the interpreter, the libraries) once per process, while a container's limit counts them once:

- each process's peak RSS (VmHWM, exact), by role, and their sum;
- the peak of the sum of the processes' PSS (/proc/PID/smaps_rollup: a shared page counted as
  1/N in each of the N processes that map it), sampled every SAMPLE_S;
- where this machine lets the bench make a memory cgroup (v2, else v1's memory controller),
  the gateway runs in one of its own, from its first instruction (its children inherit it),
  and the cgroup's own accounting is read: its peak charge (memory.peak, v1's
  memory.max_usage_in_bytes: what a Docker or Kubernetes limit is held against, page cache
  included), and the peak, sampled, of that charge without inactive file pages (the working
  set kubelet and `docker stats` report). A page already cached by another process (a
  library the bench itself loaded) is charged to that process's cgroup, not to this one.

The verdict is on the cgroup's peak working set when there is a cgroup, else on the PSS sum:
see PatternMemoryResult.cells.

The miner alone is measured in fresh processes: the RSS growth of one learning the same bodies
(and matching them, as the batch stage does), and of one loading the 100,000 templates.

    python -m bench.patternmemory learn|load COUNT   -> the miner alone; prints JSON
"""

from __future__ import annotations

import gc
import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from bench.cgroup import (
    MB_PER_MIB,
    CgroupPeaks,
    ContainedGateway,
    MemoryCgroup,
    PssPeak,
    Sampler,
)
from bench.manytemplates import bodies, learning_bodies, templates
from bench.memory import ROLES, _peaks_by_role
from bench.procs import LaunchedGateway, status_kib

PATTERNS = 100_000
PATTERN_MEMORY_ROW = (
    "11e. Patterns: peak RSS of the whole gateway (`logsieve run`, all its processes) with"
    " {:,} patterns learned, and of the miner alone"
)
RSS_TARGET_MB = 300  # the whole gateway, every process summed
RECORDS_PER_CALL = 1_000
BATCH_BODIES = 50_000  # config/gateway.yaml's max_batch_records: one batch's bodies at most
LEARN_SEED, MATCH_SEED = 1, 2  # the values of the first and of the second bodies


@dataclass(frozen=True, slots=True)
class MinerMemory:
    """The miner alone, in a fresh process: RSS growth (after a collection), and seconds."""

    learned_patterns: int
    learned_mib: float
    learn_s: float
    loaded_patterns: int
    loaded_mib: float
    load_s: float


@dataclass(frozen=True, slots=True)
class GatewayPeaks:
    """One `logsieve run`: each role's peak RSS (VmHWM), the peak PSS sum, the cgroup's peaks,
    and what it held at the end."""

    parent_mib: float  # receivers
    child_mib: float  # batch stage (the miner)
    viewer_mib: float
    seconds: float  # from its start to an empty queue
    stored_patterns: int
    pss: PssPeak
    cgroup: CgroupPeaks | None = None  # None: this machine gave the bench no memory cgroup

    @property
    def total_mib(self) -> float:
        return self.parent_mib + self.child_mib + self.viewer_mib

    @property
    def judged_mib(self) -> float:
        """What the verdict is on: the cgroup's peak working set, else the PSS sum's peak."""
        return self.cgroup.working_mib if self.cgroup else self.pss.total_mib

    def roles(self) -> str:
        cgroup = self.cgroup.describe() if self.cgroup else "no cgroup"
        return (
            f"peak RSS: receivers {self.parent_mib:,.0f} + batch child {self.child_mib:,.0f} + "
            f"viewer child {self.viewer_mib:,.0f} = {self.total_mib:,.0f} MiB "
            f"({self.total_mib * MB_PER_MIB:,.0f} MB); {self.pss.describe()}; {cgroup}"
        )


@dataclass(frozen=True, slots=True)
class PatternMemoryResult:
    patterns: int  # distinct templates sent
    learning: GatewayPeaks  # learns them over OTLP
    restarted: GatewayPeaks  # loads them from the store, then matches new bodies
    by_body: GatewayPeaks  # the learning gateway's records grouped by body: no miner
    miner: MinerMemory

    @property
    def worst(self) -> GatewayPeaks:
        return max((self.learning, self.restarted), key=lambda run: run.judged_mib)

    def cells(self) -> tuple[str, str, str, str]:
        """(result, compared with, verdict, details) for the bench table."""
        worst = self.worst
        judged_mb = worst.judged_mib * MB_PER_MIB
        miner = self.miner
        per_100k = 100_000 / max(1, miner.learned_patterns)
        if worst.cgroup:
            measure = "the gateway's memory cgroup's peak working set"
            why = (
                "the verdict is on the cgroup's peak working set: the kernel's own accounting "
                "of the whole gateway, each page once, which is what a container's memory "
                "limit holds it to (less the inactive page cache, which the kernel reclaims "
                "before it would refuse; kubelet and `docker stats` report the same figure); "
                "the RSS sum counts the shared pages once per process"
            )
            result = (
                f"{judged_mb:,.0f} MB peak working set (cgroup v{worst.cgroup.version}; peak "
                f"charge {worst.cgroup.peak_mib * MB_PER_MIB:,.0f} MB); PSS sum "
                f"{worst.pss.total_mib * MB_PER_MIB:,.0f} MB; RSS sum "
                f"{worst.total_mib * MB_PER_MIB:,.0f} MB; batch child {worst.child_mib:,.0f} MiB"
            )
        else:
            measure = "the peak of the sum of the gateway's processes' PSS"
            why = (
                "no memory cgroup could be made here, so the verdict is on the PSS sum: each "
                "shared page counted once over the processes, as a container's limit counts "
                "it; the RSS sum counts the shared pages once per process"
            )
            result = (
                f"{judged_mb:,.0f} MB peak PSS sum; RSS sum "
                f"{worst.total_mib * MB_PER_MIB:,.0f} MB; batch child {worst.child_mib:,.0f} MiB"
            )
        details = (
            f"{why}; learning gateway ({self.patterns:,} templates taught over OTLP; "
            f"{self.learning.stored_patterns:,} patterns stored; queue empty after "
            f"{self.learning.seconds:.0f} s): {self.learning.roles()}; restarted gateway (loads "
            f"them, then a new body of each; {self.restarted.stored_patterns:,} stored; "
            f"{self.restarted.seconds:.0f} s): {self.restarted.roles()}; the learning "
            f"gateway's records grouped by body (no miner): {self.by_body.roles()}; the miner "
            f"alone, a fresh process's RSS growth: learning {miner.learned_patterns:,} patterns "
            f"{miner.learned_mib:,.0f} MiB ({miner.learned_mib * per_100k:,.0f} MiB per "
            f"100,000; {miner.learn_s:.0f} s), loading {miner.loaded_patterns:,} "
            f"{miner.loaded_mib:,.0f} MiB ({miner.load_s:.0f} s)"
        )
        return (
            result,
            f"target < {RSS_TARGET_MB} MB: {measure}",
            "PASS" if judged_mb < RSS_TARGET_MB else "FAIL",
            details,
        )


def run_pattern_memory(folder: Path, count: int = PATTERNS) -> PatternMemoryResult:
    """The miner alone (a child process), then the learning and the restarted gateway."""
    miner = _miner_child(count)
    chosen = templates(count)
    url = f"sqlite:///{folder / 'pattern-memory.db'}"
    config = folder / "pattern-memory.yaml"
    config.write_text(_config(url, count))
    learning = _gateway_run(config, url, learning_bodies(chosen, LEARN_SEED))
    restarted = _gateway_run(config, url, bodies(chosen, MATCH_SEED))
    control = folder / "pattern-memory-body.yaml"
    body_url = f"sqlite:///{folder / 'pattern-memory-body.db'}"
    control.write_text(_config(body_url, count, keys="body, severity"))
    by_body = _gateway_run(control, body_url, learning_bodies(chosen, LEARN_SEED))
    return PatternMemoryResult(count, learning, restarted, by_body, miner)


def _config(url: str, max_patterns: int, keys: str = "pattern, severity") -> str:
    return (
        "receivers: {otlp: {grpc: {endpoint: '127.0.0.1:0'}, http: {endpoint: '127.0.0.1:0'}}}\n"
        f"storage: {{url: '{url}'}}\nviewer: {{endpoint: '127.0.0.1:0'}}\n"
        "telemetry: {metrics: {endpoint: '127.0.0.1:0'}}\n"
        f"batch:\n  interval: 1s\n  dedupe: {{keys: [{keys}]}}\n"
        f"  patterns: {{max_patterns: {max_patterns}}}\n"
    )


def _gateway_run(config: Path, url: str, records: Iterator[tuple[str, int]]) -> GatewayPeaks:
    """Start a gateway (in a memory cgroup of its own when one can be made), send the records,
    wait for its queue to empty, read the peaks."""
    from gateway.store import Store

    store, began = Store(url), time.monotonic()
    cgroup = MemoryCgroup.make()
    try:
        gateway = ContainedGateway(config, cgroup) if cgroup else LaunchedGateway(config)
        sampler = Sampler(gateway, cgroup)
        try:
            with grpc.insecure_channel(gateway.address) as channel:
                export = LogsServiceStub(channel).Export
                for request in _requests(records):
                    export(request, timeout=60)
                _wait_empty(store, began)
            seconds = time.monotonic() - began
            peaks = _peaks_by_role(gateway)
            pss = sampler.stop()
            stored = store.pattern_count()
            contained = cgroup.peaks(sampler.working_bytes) if cgroup else None
        finally:
            sampler.stop()
            gateway.stop()
            store.dispose()
    finally:
        if cgroup:
            cgroup.remove()
    parent, child, viewer = (peaks[role] / 1024 for role in ROLES)
    return GatewayPeaks(parent, child, viewer, seconds, stored, pss, contained)


def _wait_empty(store: Any, began: float, limit_s: float = 300) -> None:
    while store.queue_depth():
        if time.monotonic() - began > limit_s:
            raise RuntimeError(f"the queue did not empty in {limit_s:.0f} s")
        time.sleep(0.2)


def _requests(records: Iterator[tuple[str, int]]) -> Iterator[ExportLogsServiceRequest]:
    """The records in requests of RECORDS_PER_CALL, one service, timestamps a µs apart."""
    resource = Resource(attributes=[_text("service.name", "pattern-memory")])
    now = time.time_ns()
    while chunk := list(islice(records, RECORDS_PER_CALL)):
        logs = [
            LogRecord(
                time_unix_nano=now,
                severity_number=severity,  # type: ignore[arg-type]
                body=AnyValue(string_value=body),
            )
            for body, severity in chunk
        ]
        now += 1_000 * len(chunk)
        scope = ScopeLogs(log_records=logs)
        yield ExportLogsServiceRequest(
            resource_logs=[ResourceLogs(resource=resource, scope_logs=[scope])]
        )


def _text(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _miner_child(count: int) -> MinerMemory:
    """The miner alone, learning and then loading, each in a fresh process."""
    learned, learn_s = _child("learn", count)
    loaded, load_s = _child("load", count)
    return MinerMemory(*learned, learn_s, *loaded, load_s)


def _child(how: str, count: int) -> tuple[tuple[int, float], float]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.patternmemory", how, str(count)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.patternmemory {how} failed: {done.stderr.strip()[-500:]}")
    patterns, mib, seconds = json.loads(done.stdout.strip().splitlines()[-1])
    return (patterns, mib), seconds


def miner_alone(how: str, count: int) -> tuple[int, float, float]:
    """In this (fresh) process: (patterns, RSS growth in MiB, seconds) of a miner learning one
    body of each template in batches and matching them, as the batch stage does ("learn"), or
    loading the templates, as it does from the store after a restart ("load")."""
    from gateway.pipeline.patterns.masks import WILDCARD, Masker
    from gateway.pipeline.patterns.miner import Miner

    chosen = templates(count)
    if how == "load":  # the templates as the store keeps them: the user name a wildcard
        rng, mask = random.Random(LEARN_SEED), Masker().masked_with_values
        texts = [" ".join(mask(t.body(rng, WILDCARD))[0].split()) for t in chosen]
    else:
        texts = [body for body, _ in learning_bodies(chosen, LEARN_SEED)]
    Miner().match("warm the masks up 1")
    gc.collect()
    before = status_kib("VmRSS")
    miner = Miner(max_patterns=count)
    began = time.perf_counter()
    if how == "load":
        miner.load(texts)
    else:
        _learn(miner, texts)
    seconds = time.perf_counter() - began
    gc.collect()
    return len(miner), (status_kib("VmRSS") - before) / 1024, seconds


def _learn(miner: Any, texts: list[str]) -> None:
    for start in range(0, len(texts), BATCH_BODIES):
        batch = texts[start : start + BATCH_BODIES]
        miner.learn(batch)
        for text in batch:
            miner.match(text)
    miner.learn(())  # an empty batch: the last batch's masking goes, as it does in a gateway


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] in ("learn", "load"):
        print(json.dumps(miner_alone(argv[0], int(argv[1]))))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
