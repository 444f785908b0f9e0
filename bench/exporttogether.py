"""Row 6d: Logflare's delivery while an OTLP backend is down, against Logflare alone and
against both backends up, in one run.

Each case makes the same backlog (the batch stage runs while the backends are away), then
drains Logflare's share on this thread while the OTLP exporter's stage runs on a thread of its
own, as `logsieve run` runs them: with the OTLP backend up it drains its share at the same
time; down (every request answered UNAVAILABLE), it retries with backoff. Logflare's events/s
in each case, over the same events.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.batchbench import fill, fresh_store
from bench.exportbench import BATCH_EVENTS, DrainResult
from gateway.config.otlp_exporter import OtlpExporterConfig
from gateway.config.settings import LogflareConfig
from gateway.export.logflare import LogflareExporter
from gateway.export.otlp import OtlpExporter
from gateway.export.outbox import Backoff, ExportStage
from gateway.pipeline.batch import BatchSettings, BatchStage, Outbound
from gateway.pipeline.sampling import SamplingPolicy
from gateway.store import Store
from testkit.logflare import FakeLogflare
from testkit.otlp import FakeOtlp, Fault

CASES = ("alone", "otlp up", "otlp down")
RETRY_TICK_S = 0.1  # how often the OTLP stage's thread looks at its outbox (the gateway: 1 s)
Cells = tuple[str, str, str, str, str]


@dataclass(frozen=True, slots=True)
class TogetherResult:
    runs: dict[str, DrainResult]  # Logflare's drain, by case
    otlp_attempts: int  # requests the OTLP backend answered while it was down


def run_together(url_for: Callable[[str], str], rows: int) -> TogetherResult:
    runs, attempts = {}, 0
    for case in CASES:
        runs[case], tried = _case(url_for(case.replace(" ", "-")), rows, case)
        attempts = tried if case == "otlp down" else attempts
    return TogetherResult(runs, attempts)


def _case(url: str, rows: int, case: str) -> tuple[DrainResult, int]:
    store = fresh_store(url)
    try:
        with FakeLogflare() as logflare, FakeOtlp(resettable=False) as otlp:
            logflare_exporter = LogflareExporter(
                LogflareConfig.model_validate(
                    {
                        "endpoint": logflare.url,
                        "source": logflare.source_id,
                        "api_key": logflare.api_key,
                    }
                )
            )
            otlp_exporter = OtlpExporter(
                OtlpExporterConfig.model_validate({"endpoint": otlp.grpc_url})
            )
            outbound = [Outbound("logflare", logflare_exporter.encode)]
            if case != "alone":
                outbound.append(Outbound("otlp", otlp_exporter.encode))
            fill(store, rows)
            BatchStage(store, SamplingPolicy(), BatchSettings(), outbound=outbound).run_batches(
                time.time_ns()
            )
            if case == "otlp down":
                otlp.outage = Fault.unavailable(retry_after=None)
            result = _drain(store, logflare_exporter, otlp_exporter if case != "alone" else None)
            logflare_exporter.shutdown()
            otlp_exporter.shutdown()
            if len(logflare.events) != result.events:
                raise RuntimeError(f"{case}: Logflare stored {len(logflare.events)} events")
            return result, len(otlp.requests)
    finally:
        store.dispose()


def _drain(store: Store, logflare: LogflareExporter, otlp: OtlpExporter | None) -> DrainResult:
    backlog = store.outbox_depths().get("logflare", 0)
    stage = ExportStage(store, logflare, batch_events=BATCH_EVENTS, max_requests_per_run=1_000_000)
    stop = threading.Event()
    other = threading.Thread(target=_keep_exporting, args=(store, otlp, stop), daemon=True)
    if otlp is not None:
        other.start()
    began = time.perf_counter()
    report = stage.run_once(time.time_ns())
    seconds = time.perf_counter() - began
    stop.set()
    if otlp is not None:
        other.join(60)
    if report.sent != backlog:
        raise RuntimeError(f"Logflare got {report.sent} of {backlog} events")
    return DrainResult(backlog, seconds, report.requests)


def _keep_exporting(store: Store, otlp: OtlpExporter | None, stop: threading.Event) -> None:
    """The OTLP stage as the gateway's timer thread runs it, until told to stop."""
    assert otlp is not None
    stage = ExportStage(
        store,
        otlp,
        name="otlp",
        batch_events=BATCH_EVENTS,
        backoff=Backoff(initial=RETRY_TICK_S, maximum=RETRY_TICK_S * 5),
    )
    while not stop.is_set():
        stage.run_once(time.time_ns())
        stop.wait(RETRY_TICK_S)


def together_rows(value: TogetherResult | str | None) -> list[Cells]:
    name = "6d. Logflare's delivery while the OTLP backend is down (both exporters configured)"
    if value is None:
        return []
    if isinstance(value, str):
        return [(name, "—", "—", "SKIP" if value.startswith("skipped") else "ERROR", value)]
    alone, up, down = (value.runs[case] for case in CASES)
    result = f"{down.events_per_s:,.0f} events/s to Logflare with the OTLP backend down"
    compared = (
        f"{down.events_per_s / alone.events_per_s:.2f}x Logflare alone "
        f"({alone.events_per_s:,.0f}/s); {down.events_per_s / up.events_per_s:.2f}x with the "
        f"OTLP backend up and draining at the same time ({up.events_per_s:,.0f}/s)"
    )
    details = (
        f"the same {down.events:,} events drained in each case; the OTLP stage on its own "
        f"thread, retrying every {RETRY_TICK_S:g}-{RETRY_TICK_S * 5:g} s while its backend "
        f"answered UNAVAILABLE ({value.otlp_attempts} requests refused); fakes on loopback in "
        "the bench's process"
    )
    return [(name, result, compared, "info", details)]
