"""The ingest rows of the bench table (rows 1-2b): records/s, latency and where the CPU went."""

from __future__ import annotations

from typing import Any

from bench.ingest import IngestResult
from bench.rows import Row, pass_fail

DURABLE_TARGET = 150_000  # records/s (the performance issue; the first asked 60,000)
RATIO_TARGET = 0.6  # durable / no-write


def ingest_result(r: IngestResult) -> str:
    return f"{r.records_per_s:,.0f} records/s; p50 {r.p50_ms:,.1f} ms, p99 {r.p99_ms:,.0f} ms"


def ingest_details(r: IngestResult, batch_stage: bool) -> str:
    parts = [f"server CPU {r.server_cpu_s / r.window_s:.2f} cores"]
    if batch_stage:
        where = "batch process" if r.batch_elsewhere else "of which batch-stage thread"
        parts.append(f"{where} {r.batch_cpu_s / r.window_s:.2f}")
        parts.append(f"batch stage finished {r.batch_records_per_s:,.0f} records/s meanwhile")
    parts.append(f"receiver {r.receiver_cpu_us_per_record:.1f} µs CPU/record")
    if batch_stage or r.backlog_at_end:
        parts.append(f"queue backlog at window end {r.backlog_at_end:,} rows")
    if r.integrity != "n/a":
        parts.append(f"integrity {r.integrity}")
    if r.errors:
        parts.append("errors " + ", ".join(f"{k}={v}" for k, v in sorted(r.errors.items())))
    parts.append(f"client CPU {r.client_cpu_s / r.window_s:.2f} cores")
    parts += r.notes
    return "; ".join(parts)


INGEST_VARIANTS = {  # row 1 with one thing changed
    "ingest-full": "1b. Ingest, durable, storage.sqlite_synchronous=full (fsync per commit)",
    "ingest-thread": (
        "1c. Ingest, durable, batch stage a thread of the same process (own_process: false)"
    ),
    "ingest-http": (
        "1d. Ingest, durable, over OTLP/HTTP (protobuf bodies, one connection per caller)"
    ),
}


def variant_row(name: str, r: IngestResult, base: Any, label: str = "row 1a") -> Row:
    """A variant (another setting, protocol or database): compared with its base row."""
    compared = f"{label} not measured"
    if isinstance(base, IngestResult) and base.records_per_s > 0:
        compared = f"{r.records_per_s / base.records_per_s:.2f}x {label}"
    verdict = "MISMATCH" if r.integrity.startswith("MISMATCH") else "info"
    return Row(name, ingest_result(r), compared, verdict, ingest_details(r, batch_stage=True))


def durable_row(name: str, r: IngestResult) -> Row:
    compared = f"target ≥ {DURABLE_TARGET:,} records/s"
    verdict = pass_fail(
        r.records_per_s >= DURABLE_TARGET and not r.integrity.startswith("MISMATCH")
    )
    return Row(name, ingest_result(r), compared, verdict, ingest_details(r, batch_stage=True))


HANDWRITTEN = {
    "handwritten-sqlite3": "commits each request's records as rows with sqlite3",
    "handwritten-discard": "parses each request and discards it",
}


def handwritten_row(name: str, r: IngestResult, durable: Any) -> Row:
    compared = "logsieve durable not measured"
    if isinstance(durable, IngestResult) and r.records_per_s > 0:
        compared = f"logsieve durable ingest = {durable.records_per_s / r.records_per_s:.2f}x this"
    details = (
        "same clients as logsieve's row; grpcio's thread-pool server with a raw-bytes handler,"
        " as most hand-written receivers are (bench/handwritten.py)"
    )
    return Row(name, ingest_result(r), compared, "info", details)


SMALL_TARGET = 5_000  # records/s with one record per request


HTTP_SERVER_ROWS = {  # bench/httpbench.py: the same app and clients on both servers
    "http-servers": "512-record requests",
    "http-servers-small": "1-record requests",
}
SMALL_ROWS = {
    "ingest-small": "1e. Ingest, durable, small requests: 1 record per Export, 32 callers;"
    " `logsieve run` as it starts by default (one gRPC receiver process)",
    "ingest-small-2": "1e. The same with `receivers.otlp.grpc.processes: 2`"
    " (a second receiver process on the port)",
}


def small_row(name: str, r: IngestResult, target: bool) -> Row:
    """The target applies to the two-process deployment; the default one is shown beside."""
    intact = not r.integrity.startswith("MISMATCH")
    if target:
        compared = f"target ≥ {SMALL_TARGET:,} records/s (commits shared by concurrent requests)"
        verdict = pass_fail(r.records_per_s >= SMALL_TARGET and intact)
    else:
        compared, verdict = "the row below is the deployment for this load", pass_fail(intact)
    details = ingest_details(r, batch_stage=False)
    return Row(name, ingest_result(r), compared, verdict, details)


def nowrite_row(name: str, r: IngestResult, durable: Any) -> Row:
    if isinstance(durable, IngestResult) and r.records_per_s > 0:
        ratio = durable.records_per_s / r.records_per_s
        compared = f"durable / no-write = {ratio:.2f}; target ≥ {RATIO_TARGET}"
        verdict = pass_fail(ratio >= RATIO_TARGET)
    else:
        compared, verdict = f"durable not measured; target ratio ≥ {RATIO_TARGET}", "n/a"
    return Row(name, ingest_result(r), compared, verdict, ingest_details(r, batch_stage=False))


def paused_row(name: str, r: IngestResult, durable: Any) -> Row:
    if isinstance(durable, IngestResult) and durable.records_per_s > 0:
        ratio = r.records_per_s / durable.records_per_s
        compared = f"{ratio:.2f}x row 1a (same, batch stage running)"
    else:
        compared = "row 1a not measured"
    details = "no batch stage: isolates the receiver + SQLite insert path; " + ingest_details(
        r, batch_stage=False
    )
    return Row(name, ingest_result(r), compared, "info", details)
