"""`python -m bench [--quick] [--only NAME[,NAME]] [--profile]`: run, print one table.

The table is also written to bench/results/latest.md (with py-spy summaries when
--profile is given). Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import h2load
from bench.batchbench import default_policy, run_batch, run_batch_parallel
from bench.budgetbench import HIGH_RATE, QUICK_RATE, RATE, run_budget
from bench.clientbench import run_client_bench
from bench.costbench import run_cost
from bench.e2ebench import run_e2e
from bench.exportbench import run_drains
from bench.exporttogether import run_together
from bench.gatewaybench import Load, run_gateway
from bench.httpbench import run_http_servers
from bench.ingest import IngestOptions, IngestResult, run_ingest
from bench.memory import run_gateway_memory, run_memory
from bench.pagebench import run_page_bench
from bench.patternbench import run_accuracy
from bench.patterncost import run_pattern_cost
from bench.patternmemory import run_pattern_memory
from bench.patternspeed import run_speed
from bench.pg import PgSchema
from bench.pgpair import run_pair
from bench.regexbench import run_regex_bench
from bench.report import build, render
from bench.viewerbench import run_viewer, run_viewer_before
from bench.viewerisolation import run_viewer_isolation
from bench.workload import Workload

RESULTS = Path(__file__).resolve().parent / "results"
SMALL_THREADS = 16  # x 2 client processes: 32 callers of one record each
SMALL_WINDOW_S = 8.0  # 40,000+ calls at the small-request rates: enough, and keeps 10 minutes
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NAMES = (
    "ingest-gateway",
    "ingest-durable",
    "ingest-full",
    "ingest-thread",
    "ingest-http",
    "http-servers",
    "http-servers-small",
    "ingest-small",
    "ingest-small-2",
    "small-handwritten-sqlite3",
    "small-handwritten-discard",
    "ingest-nowrite",
    "handwritten-sqlite3",
    "handwritten-discard",
    "ingest-paused",
    "batch",
    "batch-flood",
    "export-drain",
    "export-together",
    "viewer-1",
    "viewer-50",
    "viewer-50-sockets",
    "viewer-1-before",
    "viewer-isolation",
    "page-speed",
    "query-regex",
    "browser-client",
    "cost",
    "pattern-accuracy",
    "pattern-speed",
    "pattern-cost",
    "pattern-memory",
    "budget",
    "budget-high",
    "end-to-end",
    "memory",
    "memory-flood",
    "memory-gateway",
    "pg-ingest",
    "pg-batch",
    "pg-batch-2",
    "pg-gateways",
)

# Not in the default run (which must stay under 10 minutes); --only runs them.
ON_REQUEST = ("ingest-full", "budget-high")


@dataclass(frozen=True, slots=True)
class Sizes:
    warmup_s: float
    duration_s: float
    batch_rows: int
    memory_rows: int


FULL = Sizes(warmup_s=2.0, duration_s=10.0, batch_rows=200_000, memory_rows=1_000_000)
QUICK = Sizes(warmup_s=1.0, duration_s=4.0, batch_rows=20_000, memory_rows=100_000)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument(
        "--only", default="", help=f"comma-separated measurements: {', '.join(NAMES)}"
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the ingest windows")
    parser.add_argument("--pg-url", default=PG_URL, help="PostgreSQL URL (default %(default)s)")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--threads-per-process", type=int, default=4)
    args = parser.parse_args(argv)
    only = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in only if n not in NAMES]
    if unknown:
        parser.error(f"unknown measurement {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    args.selected = [n for n in NAMES if n in only or (not only and n not in ON_REQUEST)]
    return args


class Runner:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.sizes = QUICK if args.quick else FULL
        self.tmp = tmp
        self.payloads = Workload(seed=7).payloads(32)
        self.small_payloads = Workload(seed=8).payloads(1024, records=1)
        self.policy = default_policy()
        self.results: dict[str, Any] = {}
        self.profiles: list[str] = []
        self.pg = PgSchema(args.pg_url)
        self._pg_url: str | bool | None = False  # False: not opened yet

    def _sqlite(self, name: str) -> str:
        return f"sqlite:///{self.tmp / name}.db"

    def _pg(self) -> str | None:
        """The PostgreSQL URL (a private schema), or None when it is unreachable."""
        if self._pg_url is False:
            self._pg_url = self.pg.open()
        return self._pg_url if isinstance(self._pg_url, str) else None

    def _ingest(
        self,
        name: str,
        url: str | None,
        batch_stage: bool = True,
        synchronous: str = "NORMAL",
        processing_process: bool = True,
        protocol: str = "grpc",
        small: bool = False,
    ) -> IngestResult:
        profile_dir = RESULTS if self.args.profile else None
        opts = IngestOptions(
            warmup_s=self.sizes.warmup_s,
            duration_s=self._window(small)[1],
            client_processes=self.args.client_processes,
            threads_per_process=SMALL_THREADS if small else self.args.threads_per_process,
            records_per_call=1 if small else 512,
            run_batch_stage=batch_stage,
            sqlite_synchronous=synchronous,
            processing_process=processing_process,
            protocol=protocol,
            load="h2load" if small and h2load.available() else "python",
            profile_dir=profile_dir,
            name=name,
        )
        payloads = self.small_payloads if small else self.payloads
        result = run_ingest(url, payloads, self.policy, opts)
        if result.profile_md:
            path = RESULTS / f"profile-{name}.md"
            path.write_text(f"## {name}\n\n{result.profile_md}")
            self.profiles.append(path.read_text())
            print(f"  profile summary: {path}", file=sys.stderr)
        return result

    def step(self, name: str) -> Any:
        sizes = self.sizes
        steps: dict[str, Callable[[], Any]] = {
            "ingest-durable": lambda: self._ingest(name, self._sqlite(name)),
            "ingest-full": lambda: self._ingest(name, self._sqlite(name), synchronous="FULL"),
            "ingest-thread": lambda: self._ingest(
                name, self._sqlite(name), processing_process=False
            ),
            "ingest-http": lambda: self._ingest(name, self._sqlite(name), protocol="http"),
            "http-servers": lambda: run_http_servers(self.payloads, 512, self._window(False)),
            "http-servers-small": lambda: run_http_servers(self.small_payloads, 1, self._window()),
            "ingest-gateway": lambda: run_gateway(self._load(small=False)),
            "ingest-small": lambda: run_gateway(self._load(small=True), processes=1),
            "ingest-small-2": lambda: run_gateway(self._load(small=True), processes=2),
            "small-handwritten-sqlite3": lambda: self._ingest(
                name, None, protocol="handwritten-sqlite3", small=True
            ),
            "small-handwritten-discard": lambda: self._ingest(
                name, None, protocol="handwritten-discard", small=True
            ),
            "ingest-nowrite": lambda: self._ingest(name, None, processing_process=False),
            "handwritten-sqlite3": lambda: self._ingest(name, None, protocol=name),
            "handwritten-discard": lambda: self._ingest(name, None, protocol=name),
            "ingest-paused": lambda: self._ingest(
                name, self._sqlite(name), batch_stage=False, processing_process=False
            ),
            "batch": lambda: run_batch(self._sqlite(name), sizes.batch_rows),
            "batch-flood": lambda: run_batch(self._sqlite(name), sizes.batch_rows, flood=True),
            "export-drain": lambda: run_drains(
                lambda exporter: self._sqlite(f"{name}-{exporter}"), sizes.batch_rows
            ),
            "export-together": lambda: run_together(
                lambda case: self._sqlite(f"{name}-{case}"), sizes.batch_rows // 2
            ),
            "viewer-1": lambda: run_viewer(1),
            "viewer-50": lambda: run_viewer(50),
            "viewer-50-sockets": lambda: run_viewer(1, followers=49),
            "viewer-1-before": run_viewer_before,
            "viewer-isolation": lambda: run_viewer_isolation(rounds=2 if self.args.quick else 4),
            "page-speed": run_page_bench,
            "query-regex": run_regex_bench,
            "browser-client": run_client_bench,
            "cost": run_cost,
            "pattern-accuracy": lambda: run_accuracy(
                *((10_000, 2) if self.args.quick else (50_000, 5))
            ),
            "pattern-speed": lambda: run_speed(batches=1 if self.args.quick else 3),
            "pattern-cost": lambda: run_pattern_cost(150_000 if self.args.quick else 500_000),
            "pattern-memory": lambda: run_pattern_memory(
                self.tmp, 20_000 if self.args.quick else 100_000
            ),
            "budget": lambda: run_budget(QUICK_RATE if self.args.quick else RATE),
            "budget-high": lambda: run_budget(HIGH_RATE),
            "end-to-end": run_e2e,
            "memory": lambda: run_memory(self._sqlite(name), sizes.memory_rows),
            "memory-flood": lambda: run_memory(self._sqlite(name), sizes.memory_rows, flood=True),
            "memory-gateway": lambda: run_gateway_memory(self.tmp, sizes.memory_rows),
            "pg-ingest": lambda: self._on_pg(lambda url: self._ingest(name, url)),
            "pg-batch": lambda: self._on_pg(lambda url: run_batch(url, sizes.batch_rows)),
            "pg-gateways": lambda: self._on_pg(
                lambda url: run_pair(url, self.payloads, sizes.warmup_s, sizes.duration_s)
            ),
            "pg-batch-2": lambda: self._on_pg(
                lambda url: run_batch_parallel(url, sizes.batch_rows, processes=2)
            ),
        }
        return steps[name]()

    def _load(self, small: bool) -> Load:
        if small:  # 32 callers of one record each, from h2load when it is installed
            return Load(self.small_payloads, 1, 32, *self._window(small), h2load=True)
        callers = self.args.client_processes * self.args.threads_per_process
        return Load(self.payloads, 512, callers, *self._window(small))

    def _window(self, small: bool = True) -> tuple[float, float]:
        """(warm-up, measured window) in seconds; small-request rows have a shorter window."""
        duration = min(self.sizes.duration_s, SMALL_WINDOW_S) if small else self.sizes.duration_s
        return self.sizes.warmup_s, duration

    def _on_pg(self, job: Callable[[str], Any]) -> Any:
        url = self._pg()
        return job(url) if url else self.pg.problem

    def run(self) -> None:
        for name in self.args.selected:
            began = time.monotonic()
            print(f"[bench] {name} ...", file=sys.stderr, flush=True)
            try:
                self.results[name] = self.step(name)
            except Exception as exc:
                traceback.print_exc()
                self.results[name] = f"error: {type(exc).__name__}: {exc}"
            for old in self.tmp.glob(f"{name}.db*"):
                old.unlink()
            print(f"[bench] {name} done in {time.monotonic() - began:.0f} s", file=sys.stderr)


def _caption(args: argparse.Namespace, sizes: Sizes, elapsed: float) -> str:
    clients = args.client_processes * args.threads_per_process
    return (
        f"logsieve bench, {time.strftime('%Y-%m-%d %H:%M')}, {'quick' if args.quick else 'full'} "
        f"run in {elapsed:.0f} s on {os.cpu_count()} CPUs ({platform.python_version()}). "
        f"Ingest: row 1 and the small-request rows run real `logsieve run` gateways; the other "
        f"ingest rows a real OtlpGrpcReceiver on 127.0.0.1 in the bench process. {clients} "
        "clients = "
        f"{args.client_processes} spawned PROCESSES x {args.threads_per_process} threads, one gRPC "
        f"channel each, sending pre-serialized 512-record requests as raw bytes; records/s counts "
        f"OK responses completed in a {sizes.duration_s:.0f} s window after {sizes.warmup_s:.0f} s "
        f"warm-up (small requests: {SMALL_WINDOW_S:.0f} s); latency = client-side Export "
        "round trip. Batch sampling rules: "
        f"config/gateway.yaml."
    )


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="logsieve-bench-") as tmp:
        runner = Runner(args, Path(tmp))
        try:
            runner.run()
        finally:
            runner.pg.close()
    table = render(build(runner.results, runner.sizes))
    caption = _caption(args, runner.sizes, time.monotonic() - began)
    RESULTS.mkdir(parents=True, exist_ok=True)
    profiles = "\n".join(runner.profiles)
    extra = f"\n{profiles}" if profiles else ""
    (RESULTS / "latest.md").write_text(f"{caption}\n\n{table}\n{extra}")
    print(f"\n{caption}\n\n{table}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
