"""Batch stage benchmark: fill a queue (untimed), then time BatchStage.run_batches.

The store's claim_batch and finish_batch are wrapped (on the instance, in the benchmark
only) to split the time into claim SQL, Python processing and finish SQL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.workload import FloodWorkload, Workload
from gateway.clock import SystemClock
from gateway.config.settings import load_config
from gateway.export.logflare import event_json
from gateway.model import Claim
from gateway.pipeline.batch import BatchSettings, BatchStage, Outbound
from gateway.pipeline.grouping import Grouping
from gateway.pipeline.learning import miner_for
from gateway.pipeline.patterns.miner import Miner
from gateway.pipeline.sampling import SamplingPolicy
from gateway.runtime.heap import freeze_long_lived
from gateway.store import Store

ROOT = Path(__file__).resolve().parents[1]
CONFIG_PATH = ROOT / "config" / "gateway.yaml"


def default_policy() -> SamplingPolicy:
    """The sampling rules of config/gateway.yaml (environment ignored)."""
    return SamplingPolicy.from_config(load_config(CONFIG_PATH, env={}).batch.sampling)


def default_settings() -> BatchSettings:
    config = load_config(CONFIG_PATH, env={})
    return BatchSettings(
        max_batch_records=config.batch.max_batch_records,
        max_batch_bodies=config.batch.max_batch_bodies,
        grouping=Grouping.from_config(config.batch.dedupe),
        top_values=config.batch.patterns.top_values,
    )


def default_miner() -> Miner | None:
    """The miner of the shipped config/gateway.yaml, when it groups by pattern."""
    return miner_for(load_config(CONFIG_PATH, env={}).batch)


def fresh_store(url: str) -> Store:
    store = Store(url)
    store.drop_all()
    store.create_schema()
    return store


def fill(store: Store, total: int, seed: int = 11, chunk: int = 5120, flood: bool = False) -> float:
    """Enqueue `total` realistic rows in chunks; returns the seconds it took."""
    began = time.perf_counter()
    workload = FloodWorkload(seed) if flood else Workload(seed)
    for rows in workload.row_chunks(
        total, store.origin_ids, chunk=chunk, received_at=time.time_ns()
    ):
        store.enqueue(rows)
    return time.perf_counter() - began


@dataclass(slots=True)
class Timing:
    claim_s: float = 0.0
    finish_s: float = 0.0
    claims: int = 0
    max_claim_rows: int = 0


def instrument(store: Store) -> Timing:
    """Time the store's claim and finish calls (instance attributes shadow the methods)."""
    timing = Timing()
    claim_batch, finish_batch = store.claim_batch, store.finish_batch

    def timed_claim(*args: Any, **kwargs: Any) -> Claim:
        began = time.perf_counter()
        claim = claim_batch(*args, **kwargs)
        timing.claim_s += time.perf_counter() - began
        timing.claims += 1
        timing.max_claim_rows = max(timing.max_claim_rows, len(claim.rows))
        return claim

    def timed_finish(*args: Any, **kwargs: Any) -> bool:
        began = time.perf_counter()
        done = finish_batch(*args, **kwargs)
        timing.finish_s += time.perf_counter() - began
        return done

    store.claim_batch = timed_claim  # type: ignore[method-assign]
    store.finish_batch = timed_finish  # type: ignore[method-assign]
    return timing


@dataclass(slots=True)
class BatchResult:
    records: int
    seconds: float
    fill_s: float
    entries: int
    kept: int
    outboxed: int
    timing: Timing

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    def breakdown(self) -> str:
        t = self.timing
        python_s = self.seconds - t.claim_s - t.finish_s
        return (
            f"{t.claims} claims; claim SQL {t.claim_s:.1f} s, dedupe/sample/JSON {python_s:.1f} s, "
            f"finish SQL {t.finish_s:.1f} s; {self.records:,} records -> {self.entries:,} entries, "
            f"{self.kept:,} kept"
        )


def run_batch(url: str, rows: int, flood: bool = False) -> BatchResult:
    store = fresh_store(url)
    try:
        fill_s = fill(store, rows, flood=flood)
        depth = store.queue_depth()
        if depth != rows:
            raise RuntimeError(f"filled {depth} rows, wanted {rows}")
        stage = BatchStage(
            store,
            default_policy(),
            default_settings(),
            outbound=[Outbound("logflare", event_json)],
            miner=default_miner(),
        )
        timing = instrument(store)
        freeze_long_lived()  # as Gateway.start() does
        began = time.perf_counter()
        report = stage.run_batches(SystemClock().now_ns())
        seconds = time.perf_counter() - began
        if report.claimed != rows or store.queue_depth() != 0:
            raise RuntimeError(f"processed {report.claimed} of {rows} rows")
        return BatchResult(
            records=report.claimed,
            seconds=seconds,
            fill_s=fill_s,
            entries=report.entries,
            kept=report.kept,
            outboxed=report.outboxed,
            timing=timing,
        )
    finally:
        store.dispose()


@dataclass(frozen=True, slots=True)
class ParallelBatchResult:
    records: int
    seconds: float
    claimed_by: tuple[int, ...]  # records each process processed: they must add up, once each

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


def _drain_in_process(url: str, go: Any, results: Any) -> None:
    store = Store(url)
    stage = BatchStage(
        store,
        default_policy(),
        default_settings(),
        outbound=[Outbound("logflare", event_json)],
        miner=default_miner(),
    )
    freeze_long_lived()
    go.wait()
    report = stage.run_batches(SystemClock().now_ns())
    results.put(report.claimed)
    store.dispose()


def run_batch_parallel(url: str, rows: int, processes: int = 2) -> ParallelBatchResult:
    """`processes` batch processes draining one queue at once (PostgreSQL's row claims)."""
    import multiprocessing as mp

    store = fresh_store(url)
    try:
        fill(store, rows)
        ctx = mp.get_context("spawn")
        go, results = ctx.Event(), ctx.Queue()
        workers = [
            ctx.Process(target=_drain_in_process, args=(url, go, results), daemon=True)
            for _ in range(processes)
        ]
        for worker in workers:
            worker.start()
        time.sleep(3.0)  # each has imported and connected before the clock starts
        began = time.perf_counter()
        go.set()
        claimed = tuple(results.get(timeout=600) for _ in workers)
        seconds = time.perf_counter() - began
        for worker in workers:
            worker.join(30)
        if sum(claimed) != rows or store.queue_depth() != 0:
            raise RuntimeError(f"processed {sum(claimed)} of {rows} rows ({claimed})")
        return ParallelBatchResult(rows, seconds, claimed)
    finally:
        store.dispose()
