"""The gateway's own telemetry: metrics that move as a scripted run goes through (received,
refused, deduped, sampled, exported), /healthz, and /readyz flipping when the database goes
away and comes back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub
from prometheus_client.parser import text_string_to_metric_families

from gateway.config.settings import parse_config
from gateway.export.outcome import ExportOutcome, OutcomeKind
from gateway.runtime.app import Gateway, Overrides
from testkit.clock import FakeClock
from testkit.logflare import RecordingExporter
from tests.builders import Rec, request
from tests.conftest import PG_URL, reachable_postgresql
from tests.tcp_proxy import TcpProxy

EXPORT = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
TOKEN = "http-token-for-metrics-tests"


def config(storage_url: str) -> Any:
    return parse_config(
        {
            "receivers": {
                "otlp": {
                    "grpc": {"endpoint": "127.0.0.1:0"},
                    "http": {"endpoint": "127.0.0.1:0", "auth": {"bearer_token": TOKEN}},
                }
            },
            "storage": {"url": storage_url},
            "batch": {
                "interval": "1h",
                "sampling": {"rules": [{"match": {"severity": "INFO"}, "keep": 0.0}]},
            },
            "viewer": {"endpoint": "127.0.0.1:0"},
            "telemetry": {"metrics": {"endpoint": "127.0.0.1:0"}},
        },
        env={},
    )


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    started = Gateway(
        config(f"sqlite:///{tmp_path / 'gateway.db'}"),
        Overrides(clock=FakeClock(), exporters={"logflare": RecordingExporter()}, run_jobs=False),
    )
    started.start()
    yield started
    started.shutdown()


def scrape(gateway: Gateway) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    assert gateway.telemetry is not None
    text = httpx.get(gateway.telemetry.url + "/metrics", timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_metrics_follow_a_scripted_run(gateway: Gateway) -> None:
    with grpc.insecure_channel(gateway.receiver.address) as channel:
        records = [Rec("db down", 17)] * 100 + [Rec(f"chatter {i}", 9) for i in range(50)]
        LogsServiceStub(channel).Export(request(records), timeout=10)
        with pytest.raises(grpc.RpcError):
            channel.unary_unary(EXPORT)(b"\xff\xff", timeout=10)  # garbage: refused
    assert gateway.http_receiver is not None
    body = request([Rec("no token")]).SerializeToString()
    headers = {"Content-Type": "application/x-protobuf"}
    assert (
        httpx.post(
            gateway.http_receiver.url + "/v1/logs", content=body, headers=headers
        ).status_code
        == 401
    )

    before = scrape(gateway)
    assert value(before, "logsieve_queue_depth") == 150
    assert value(before, "logsieve_queue_bytes") > 150 * len("db down")
    now = gateway.clock.now_ns()
    gateway.batch.run_batches(now)
    exporter, stage = gateway.exporters["logflare"], gateway.export_stages["logflare"]
    assert isinstance(exporter, RecordingExporter)
    exporter.script(ExportOutcome(OutcomeKind.RETRY, 503, detail="HTTP 503"))
    stage.run_once(now)  # fails: the event stays in the outbox
    stage.run_once(now + 3600 * 10**9)  # after the backoff: delivered

    after = scrape(gateway)
    assert value(after, "logsieve_receiver_records_received_total", receiver="grpc") == 150
    assert value(after, "logsieve_receiver_records_accepted_total", receiver="grpc") == 150
    refused = "logsieve_receiver_requests_refused_total"
    assert value(after, refused, receiver="grpc", reason="invalid") == 1
    assert value(after, refused, receiver="http", reason="unauthenticated") == 1
    assert value(after, "logsieve_batch_records_total") == 150
    assert value(after, "logsieve_batch_entries_total") == 51  # 1 error entry + 50 distinct INFO
    assert value(after, "logsieve_batch_dedupe_ratio") == pytest.approx(150 / 51)
    assert value(after, "logsieve_sampled_out_records_total", severity="INFO") == 50
    assert value(after, "logsieve_sampled_out_records_total", severity="ERROR") == 0
    assert value(after, "logsieve_exported_events_total", exporter="logflare") == 1
    assert value(after, "logsieve_export_failed_requests_total", exporter="logflare") == 1
    assert value(after, "logsieve_export_retried_events_total", exporter="logflare") == 1
    assert value(after, "logsieve_batch_duration_seconds_count") == 1
    assert value(after, "logsieve_queue_depth") == 0
    assert value(after, "logsieve_outbox_depth", exporter="logflare") == 0
    assert value(after, "logsieve_recent_rows") == 1
    assert value(after, "logsieve_viewer_sockets") == 0
    # No label carries what a producer wrote: bodies and service names never appear.
    assert not any("db down" in str(key) or "checkout" in str(key) for key in after)


def test_a_fresh_gateway_shows_every_refusal_series_its_build_and_its_process(
    gateway: Gateway,
) -> None:
    """What a dashboard or an alert needs is on /metrics before the first event."""
    fresh = scrape(gateway)
    refused = "logsieve_receiver_requests_refused_total"
    for receiver in ("grpc", "http"):
        assert value(fresh, refused, receiver=receiver, reason="unauthenticated") == 0
        assert value(fresh, refused, receiver=receiver, reason="rate_limited") == 0
        assert (
            value(
                fresh,
                "logsieve_receiver_records_refused_total",
                receiver=receiver,
                reason="queue_full",
            )
            == 0
        )
    assert value(fresh, "logsieve_persistent_dropped_records_total") == 0
    build = [labels for (name, labels) in fresh if name == "logsieve_build_info"]
    assert len(build) == 1 and ("storage", "sqlite") in build[0]
    assert value(fresh, "process_cpu_seconds_total", role="main") > 0
    assert value(fresh, "process_open_fds", role="main") > 0
    assert not any(name == "logsieve_persistent_counter" for name, _ in fresh)


def test_healthz_and_readyz(gateway: Gateway) -> None:
    assert gateway.telemetry is not None
    assert httpx.get(gateway.telemetry.url + "/healthz").json() == {"alive": True}
    ready = httpx.get(gateway.telemetry.url + "/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {
        "database": True,
        "receivers": True,
        "not_shutting_down": True,
    }


def test_readiness_flips_when_the_database_goes_away_and_recovers() -> None:
    reachable_postgresql().dispose()  # skips on a laptop without PostgreSQL; fails in CI
    proxy = TcpProxy(("127.0.0.1", 5432))
    url = PG_URL.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    gateway = Gateway(config(url), Overrides(clock=FakeClock(), run_jobs=False))
    gateway.start()
    try:
        assert gateway.telemetry is not None
        readyz = gateway.telemetry.url + "/readyz"
        assert httpx.get(readyz).status_code == 200
        proxy.cut()
        refused = httpx.get(readyz, timeout=30)
        assert refused.status_code == 503
        assert refused.json()["checks"]["database"] is False
        assert httpx.get(gateway.telemetry.url + "/healthz").status_code == 200  # alive still
        proxy.restore()
        assert httpx.get(readyz, timeout=30).status_code == 200
    finally:
        gateway.shutdown()
        proxy.close()
    assert gateway.readiness()["not_shutting_down"] is False
