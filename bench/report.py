"""The results table: one markdown row per measurement, with its unit and its comparison."""

from __future__ import annotations

from typing import Any

from bench.batchbench import BatchResult, ParallelBatchResult
from bench.budget_report import budget_rows
from bench.clientbench import ClientResult
from bench.costbench import CostResult
from bench.e2ebench import EndToEndResult
from bench.exportbench import drain_rows
from bench.exporttogether import together_rows
from bench.ingest import IngestResult
from bench.ingest_report import (
    HANDWRITTEN,
    HTTP_SERVER_ROWS,
    INGEST_VARIANTS,
    SMALL_ROWS,
    durable_row,
    handwritten_row,
    nowrite_row,
    paused_row,
    small_row,
    variant_row,
)
from bench.memory import GatewayMemoryResult, MemoryResult
from bench.page_report import page_rows
from bench.patternbench import PATTERN_ROWS
from bench.patternmemory import PATTERN_MEMORY_ROW, PATTERNS
from bench.pgpair import PairResult
from bench.regexbench import regex_rows
from bench.rows import Row, failed, pass_fail
from bench.viewerbench import ViewerResult
from bench.viewerisolation import isolation_rows

BATCH_TARGET = 2.0  # batch stage / durable ingest


def _pattern_batch_row(measurement: str, cost: Any, durable: Any) -> Row:
    """The batch stage's records/s grouping by pattern, against durable ingest in this run."""
    rate = cost.records / cost.by_pattern.seconds
    ratio = rate / durable.records_per_s
    return Row(
        measurement,
        f"{rate:,.0f} records/s",
        f"{ratio:.2f}x durable ingest ({durable.records_per_s:,.0f}/s); target ≥ 1.0x",
        "PASS" if ratio >= 1.0 else "FAIL",
        f"{cost.records:,} records in batches of 50,000, about 43 % of a batch's bodies "
        f"distinct, the median of three passes; the same batches by body: "
        f"{cost.records / cost.by_body.seconds:,.0f}/s",
    )


def _batch_row(measurement: str, b: BatchResult, ingest: Any, ingest_name: str) -> Row:
    if isinstance(ingest, IngestResult) and ingest.records_per_s > 0:
        ratio = b.records_per_s / ingest.records_per_s
        compared = (
            f"{ratio:.2f}x {ingest_name} ({ingest.records_per_s:,.0f}/s); "
            f"target ≥ {BATCH_TARGET:g}x"
        )
        verdict = pass_fail(ratio >= BATCH_TARGET)
    else:
        compared, verdict = f"{ingest_name} not measured; target ≥ {BATCH_TARGET:g}x", "n/a"
    result = f"{b.records_per_s:,.0f} records/s ({b.seconds:.1f} s)"
    return Row(measurement, result, compared, verdict, b.breakdown())


def build(results: dict[str, Any], sizes: Any) -> list[Row]:
    rows: list[Row] = []
    # Row 1 is a real `logsieve run`; the variants are measured with the receiver in the
    # bench process (1a), so they are compared with 1a, measured the same way.
    embedded: Any = results.get("ingest-durable")
    durable: Any = results.get("ingest-gateway", embedded)
    if "ingest-gateway" in results:
        name = (
            "1. Ingest, durable, a real `logsieve run` (SQLite file; receivers, viewer and"
            " /metrics in the parent; batch stage every 1 s in the batch child)"
        )
        rows.append(failed(name, durable) or durable_row(name, durable))
    if "ingest-durable" in results:
        name = (
            "1a. The same receiver and batch child, the receiver in the bench process"
            " (no viewer, /metrics or admission beside it): the base of rows 1b-1d, 2b, 5a"
        )
        rows.append(failed(name, embedded) or variant_row(name, embedded, durable, "row 1"))
    for key, name in INGEST_VARIANTS.items():
        if key in results:
            variant = results[key]
            rows.append(failed(name, variant) or variant_row(name, variant, embedded))
    for key, size in HTTP_SERVER_ROWS.items():
        if key in results:
            name = f"1g. OTLP/HTTP on waitress against werkzeug's dev server, {size}"
            served = results[key]
            rows.append(failed(name, served) or Row(name, *served.cells()))
    for key, name in SMALL_ROWS.items():
        if key in results:
            small = results[key]
            rows.append(failed(name, small) or small_row(name, small, key == "ingest-small-2"))
    small_best = results.get("ingest-small-2", results.get("ingest-small"))
    for key, what in HANDWRITTEN.items():
        if f"small-{key}" in results:
            name = f"1f. Small requests, comparison: a hand-written Python receiver that {what}"
            plain = results[f"small-{key}"]
            rows.append(failed(name, plain) or handwritten_row(name, plain, small_best))
    if "ingest-nowrite" in results:
        name = "2. Ingest, no write (stand-in store: parse + convert, discard)"
        nowrite = results["ingest-nowrite"]
        rows.append(failed(name, nowrite) or nowrite_row(name, nowrite, durable))
    for key, what in HANDWRITTEN.items():
        if key in results:
            name = f"2c. Comparison: a hand-written Python receiver that {what}"
            plain = results[key]
            rows.append(failed(name, plain) or handwritten_row(name, plain, durable))
    if "ingest-paused" in results:
        name = "2b. Ingest, durable, batch stage paused (diagnostic)"
        paused = results["ingest-paused"]
        rows.append(failed(name, paused) or paused_row(name, paused, embedded))
    if "batch" in results:
        name = f"3. Batch stage run_batches (SQLite, {sizes.batch_rows:,} rows)"
        batch = results["batch"]
        rows.append(failed(name, batch) or _batch_row(name, batch, durable, "durable ingest"))
    if "batch-flood" in results:
        name = f"3b. Batch stage run_batches, template flood (SQLite, {sizes.batch_rows:,} rows)"
        flood = results["batch-flood"]
        rows.append(failed(name, flood) or _batch_row(name, flood, durable, "durable ingest"))
    rows += [Row(*cells) for cells in drain_rows(results.get("export-drain"))]
    rows += [Row(*cells) for cells in together_rows(results.get("export-together"))]
    for key, opened in VIEWER_RUNS.items():
        if key in results:
            name = f"7. Live view, {opened}: insert to display (paint)"
            view = results[key]
            rows.append(failed(name, view) or _viewer_row(name, view, results.get("viewer-1")))
    rows += [Row(*cells) for cells in page_rows(results)]
    rows += [Row(*cells) for cells in regex_rows(results.get("query-regex"))]
    rows += [Row(*cells) for cells in isolation_rows(results.get("viewer-isolation"))]
    if "browser-client" in results:
        name = "8. Browser logging script (/static/logsieve-client.js) in headless Chromium"
        client = results["browser-client"]
        rows.append(failed(name, client) or _client_row(name, client))
    if "cost" in results:
        name = "9. Cost: a 10-minute flood at 20,000 records/s (12 M records), seeded"
        cost = results["cost"]
        rows.append(failed(name, cost) or _cost_row(name, cost))
    for key, name in PATTERN_ROWS.items():
        if key in results:
            mined = results[key]
            rows.append(failed(name, mined) or Row(name, *mined.cells()))
    if "pattern-cost" in results and hasattr(durable, "records_per_s"):
        name = "11d. Batch stage grouping by pattern on the realistic stream (SQLite)"
        cost = results["pattern-cost"]
        rows.append(failed(name, cost) or _pattern_batch_row(name, cost, durable))
    if "pattern-memory" in results:
        learned = results["pattern-memory"]
        name = PATTERN_MEMORY_ROW.format(getattr(learned, "patterns", PATTERNS))
        rows.append(failed(name, learned) or Row(name, *learned.cells()))
    for key in ("budget", "budget-high"):
        rows += [Row(*cells) for cells in budget_rows(results.get(key), key)]
    if "end-to-end" in results:
        name = "10. End to end: acknowledgement to the live pages, template flood at 50,000/s"
        e2e = results["end-to-end"]
        rows.append(failed(name, e2e) or _e2e_row(name, e2e))
    if "memory" in results:
        name = f"4. Peak RSS draining a {sizes.memory_rows:,}-row backlog (SQLite)"
        memory = results["memory"]
        rows.append(failed(name, memory) or _memory_row(name, memory))
    if "memory-flood" in results:
        name = f"4b. Peak RSS and rate draining a {sizes.memory_rows:,}-row template flood (SQLite)"
        flood = results["memory-flood"]
        rows.append(failed(name, flood) or _memory_row(name, flood))
    if "memory-gateway" in results:
        backlog = f"{sizes.memory_rows:,}-row template flood"
        name = f"4c. Peak RSS of the whole gateway (`logsieve run`) draining a {backlog}"
        whole = results["memory-gateway"]
        rows.append(failed(name, whole) or _gateway_memory_row(name, whole))
    pg_ingest: Any = results.get("pg-ingest")
    if "pg-ingest" in results:
        name = "5a. Ingest, durable (PostgreSQL; batch stage every 1 s)"
        rows.append(failed(name, pg_ingest) or variant_row(name, pg_ingest, embedded))
    if "pg-batch" in results:
        name = f"5b. Batch stage run_batches (PostgreSQL, {sizes.batch_rows:,} rows)"
        pg_batch = results["pg-batch"]
        rows.append(failed(name, pg_batch) or _batch_row(name, pg_batch, pg_ingest, "PG ingest"))
    if "pg-batch-2" in results:
        backlog = f"{sizes.batch_rows:,} rows"
        name = f"5c. Batch stage, two batch processes at once (PostgreSQL, {backlog})"
        pair = results["pg-batch-2"]
        rows.append(failed(name, pair) or _parallel_row(name, pair, results.get("pg-batch")))
    if "pg-gateways" in results:
        name = "5d. PostgreSQL: one gateway against two on one database (each `logsieve run`)"
        pair = results["pg-gateways"]
        rows.append(failed(name, pair) or _pair_row(name, pair))
    return rows


GATEWAY_RSS_TARGET_MB = 300  # the whole gateway, draining a 1,000,000-row backlog


def _gateway_memory_row(name: str, m: GatewayMemoryResult) -> Row:
    total_mb = m.total_mib * 1.048576
    result = (
        f"{m.total_mib:,.0f} MiB ({total_mb:,.0f} MB): receivers {m.parent_mib:,.0f} MiB"
        f" + batch child {m.child_mib:,.0f} MiB + viewer child {m.viewer_mib:,.0f} MiB"
    )
    compared = f"target < {GATEWAY_RSS_TARGET_MB} MB"
    details = (
        f"VmHWM of each process, read before it stops; queue empty {m.drain_s:.1f} s after"
        f" start ({m.rows / m.drain_s:,.0f} records/s including start-up)"
    )
    return Row(name, result, compared, pass_fail(total_mb < GATEWAY_RSS_TARGET_MB), details)


SECOND_GATEWAY_TARGET = 0.6  # what a second gateway adds, at least


def _pair_row(name: str, p: PairResult) -> Row:
    one, two = p.one, p.two
    ingest_gain = two.ingest_per_s / one.ingest_per_s - 1 if one.ingest_per_s else 0.0
    processed_gain = two.processed_per_s / one.processed_per_s - 1 if one.processed_per_s else 0.0
    result = (
        f"one: ingest {one.ingest_per_s:,.0f}/s, processed {one.processed_per_s:,.0f}/s; "
        f"two: ingest {two.ingest_per_s:,.0f}/s, processed {two.processed_per_s:,.0f}/s"
    )
    compared = (
        f"the second adds {ingest_gain:+.0%} ingest, {processed_gain:+.0%} processing; "
        f"target ≥ +{SECOND_GATEWAY_TARGET:.0%}"
    )
    verdict = pass_fail(min(ingest_gain, processed_gain) >= SECOND_GATEWAY_TARGET)
    details = "; ".join(
        f"{d.gateways} gateway{'s' if d.gateways > 1 else ''}: CPU gateways {d.gateway_cores:.2f}"
        f" cores, PostgreSQL {d.postgres_cores:.2f}, clients {d.client_cores:.2f}"
        f" (of 2); Export p99 {d.p99_ms:,.0f} ms"
        for d in (one, two)
    )
    return Row(name, result, compared, verdict, details)


def _memory_row(name: str, m: MemoryResult) -> Row:
    result = (
        f"{m.peak_mib:,.0f} MiB peak RSS; drain {m.drain_s:.1f} s "
        f"({m.rows / m.drain_s:,.0f} records/s)"
    )
    compared = (
        f"RSS before run_batches {m.baseline_mib:,.0f} MiB "
        f"(+{m.peak_mib - m.baseline_mib:,.0f} MiB); "
        f"a claim loads ≤ max_batch_records = {m.max_batch_records:,}"
    )
    bounded = m.max_claim_rows <= m.max_batch_records and m.left == 0
    details = (
        f"fresh subprocess (VmHWM); {m.claims} claims, "
        f"largest {m.max_claim_rows:,} rows; "
        f"{m.left} rows left; fill (untimed, separate process) {m.fill_s:.0f} s"
    )
    return Row(name, result, compared, pass_fail(bounded), details)


def render(rows: list[Row]) -> str:
    header = "| Measurement | Result | Compared with | Verdict | Details |"
    lines = [header, "|---|---|---|---|---|"]
    for row in rows:
        cells = (row.measurement, row.result, row.compared_with, row.verdict, row.details)
        lines.append("| " + " | ".join(" ".join(c.replace("|", "/").split()) for c in cells) + " |")
    return "\n".join(lines)


VIEWER_RUNS = {
    "viewer-1": "1 Chromium page open",
    "viewer-50": "50 Chromium pages open",
    "viewer-50-sockets": "50 pages open (1 Chromium page, 49 websocket followers)",
}
QUERY_GROWTH_ALLOWED = 1.2  # 50 pages vs 1: room for a periodic query landing once more


def _viewer_row(name: str, v: ViewerResult, one_page: Any) -> Row:
    result = f"p50 {v.p50_ms:,.0f} ms, p99 {v.p99_ms:,.0f} ms"
    compared = f"{v.queries_per_s:.1f} database queries/s by the viewer"
    verdict = "info" if v.missing == 0 else "FAIL"
    if v.pages > 1 and isinstance(one_page, ViewerResult):
        # One poller serves every page: the queries must not grow with pages.
        limit = one_page.queries_per_s * QUERY_GROWTH_ALLOWED
        compared += f"; 1 page: {one_page.queries_per_s:.1f}/s (must not grow with pages)"
        verdict = pass_fail(v.queries_per_s <= limit and v.missing == 0)
    by_call = ", ".join(f"{call} {per_s:.2f}/s" for call, per_s in v.queries) or "none"
    busy = "n/a" if v.busy_cores is None else f"{v.busy_cores:.1f}"
    details = (
        f"{v.entries} entries at {v.per_second}/s to {v.pages} page(s), "
        f"{v.painted} of them headless Chromium tabs measured to display; "
        f"display = MutationObserver, then requestAnimationFrame + setTimeout 0; "
        f"(page, entry) pairs never shown {v.missing}; queries by call: {by_call}; "
        f"lowest frame rate before the window {v.frame_rate:.0f}/s; "
        f"machine CPU busy in the window {busy} of {v.cores} cores; "
        f"pages LIVE after {v.setup_s:.0f} s"
    )
    return Row(name, result, compared, verdict, details)


def _client_row(name: str, c: ClientResult) -> Row:
    size = f"{c.gzip_bytes / 1024:.1f} KiB gzipped ({c.raw_bytes / 1024:.1f} KiB raw)"
    result = f"{size}; {c.us_per_call:.1f} µs per logged event"
    batch = f"a {c.batch_records}-event batch"
    compared = f"{batch}: built in {c.batch_build_ms:.2f} ms, sent in {c.batch_send_ms:.1f} ms"
    details = (
        f"median of rounds of {c.calls:,} LogSieve.info(message, attributes) calls timed with "
        f"performance.now(); one batch request body {c.request_bytes:,} bytes of OTLP/JSON; "
        "sent over loopback to a stub receiver answering 200"
    )
    return Row(name, result, compared, "info", details)


def _parallel_row(name: str, p: ParallelBatchResult, single: Any) -> Row:
    result = f"{p.records_per_s:,.0f} records/s ({p.seconds:.1f} s)"
    compared = "one process not measured"
    if isinstance(single, BatchResult) and single.records_per_s > 0:
        compared = f"{p.records_per_s / single.records_per_s:.2f}x one batch process"
    split = " + ".join(f"{n:,}" for n in p.claimed_by)
    details = (
        f"{len(p.claimed_by)} processes, each BatchStage.run_batches on the same queue; "
        f"records each processed: {split} = {sum(p.claimed_by):,}, each once; "
        "the database runs on the same 2 cores"
    )
    return Row(name, result, compared, "info", details)


ESTIMATE_TARGET = 0.05  # count x sample_rate within 5 % of the truth, per severity


def _cost_row(name: str, c: CostResult) -> Row:
    result = f"{c.events_per_million:,.0f} Logflare events per million records"
    compared = (
        f"1,000,000 without dedupe and sampling ({1_000_000 / c.events_per_million:.0f}x "
        f"fewer); {c.entries * 1_000_000 / c.records:,.0f} after dedupe alone"
    )
    worst = max(c.estimate_error.values())
    exact = c.error_templates_exact == c.error_templates
    estimates = ", ".join(f"{band} {err:.1%}" for band, err in sorted(c.estimate_error.items()))
    details = (
        f"{c.records:,} records ({c.error_share:.1%} errors) -> {c.entries:,} entries -> "
        f"{c.events:,} events; error templates with exact counts in Logflare: "
        f"{c.error_templates_exact} of {c.error_templates}; count x sample_rate vs the truth: "
        f"{estimates} (target within {ESTIMATE_TARGET:.0%}); {c.seconds:.0f} s"
    )
    return Row(name, result, compared, pass_fail(exact and worst <= ESTIMATE_TARGET), details)


def _e2e_row(name: str, e: EndToEndResult) -> Row:
    limit = e.interval_s + 1.0
    result = f"p50 {e.p50_s:.2f} s, p99 {e.p99_s:.2f} s"
    compared = f"target p99 ≤ interval + 1 s = {limit:.0f} s"
    verdict = pass_fail(e.p99_s <= limit and e.seen == e.probes * e.pages)
    details = (
        f"{e.achieved_rate:,.0f} records/s achieved (paced at {e.rate:,}); {e.pages} pages "
        f"(websocket followers); {e.probes} probes, {e.seen} (probe, page) arrivals; "
        f"batch stage every {e.interval_s:.0f} s in the batch child"
    )
    return Row(name, result, compared, verdict, details)
