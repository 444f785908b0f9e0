"""The whole gateway on free ports, fed by the real OpenTelemetry SDK through `logging`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource

from gateway.config.settings import parse_config
from gateway.runtime.app import Gateway, Overrides
from testkit.clock import FakeClock
from testkit.logflare import FakeLogflare

INFO_DROPPED = [
    {"match": {"severity_at_least": "ERROR"}, "keep": 1.0},
    {"match": {"severity": "INFO"}, "keep": 0.0},
]


def gateway_config(tmp_path: Path, logflare: FakeLogflare, interval: str = "1h") -> Any:
    return parse_config(
        {
            "receivers": {
                "otlp": {"grpc": {"endpoint": "127.0.0.1:0"}, "http": {"endpoint": "127.0.0.1:0"}}
            },
            "telemetry": {"metrics": {"endpoint": "127.0.0.1:0"}},
            "storage": {"url": f"sqlite:///{tmp_path / 'logsieve.db'}"},
            "batch": {"interval": interval, "sampling": {"rules": INFO_DROPPED}},
            "exporters": {
                "logflare": {
                    "endpoint": logflare.url,
                    "source": logflare.source_id,
                    "api_key": logflare.api_key,
                }
            },
            "viewer": {"endpoint": "127.0.0.1:0"},
        },
        env={},
    )


@pytest.fixture
def gateway(tmp_path: Path, logflare: FakeLogflare) -> Iterator[Gateway]:
    started = Gateway(
        gateway_config(tmp_path, logflare), Overrides(clock=FakeClock(), run_jobs=False)
    )
    started.start()
    yield started
    started.shutdown()


def send_through_sdk(address: str, emit: Any) -> None:
    """Log through Python logging -> OTel SDK -> OTLP/gRPC, then flush."""
    provider = LoggerProvider(resource=Resource.create({"service.name": "checkout"}))
    provider.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"http://{address}", insecure=True))
    )
    logger = logging.getLogger(f"e2e.{id(provider)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = LoggingHandler(logger_provider=provider)
    logger.addHandler(handler)
    try:
        emit(logger)
        assert provider.force_flush(10_000)
    finally:
        logger.removeHandler(handler)
        provider.shutdown()


def emit_flood(logger: logging.Logger) -> None:
    for _ in range(100):
        logger.error("Error: Failed to connect to db:5432")
    for i in range(30):
        logger.info("user %d logged in", i % 3)


def test_sdk_logs_reach_logflare_deduped_and_sampled(
    gateway: Gateway, logflare: FakeLogflare
) -> None:
    send_through_sdk(gateway.receiver.address, emit_flood)
    assert gateway.store.queue_depth() == 130  # acknowledged means committed

    report = gateway.batch.run_batches(gateway.clock.now_ns())
    assert (report.claimed, report.kept) == (130, 1)
    assert report.sampled_out_records == {"INFO": 30}
    assert gateway.export_stages["logflare"].run_once(gateway.clock.now_ns()).sent == 1

    events = logflare.events
    assert sum(e["metadata"]["count"] for e in events) == 100
    assert {e["event_message"] for e in events} == {"Error: Failed to connect to db:5432"}
    (event,) = events
    assert event["metadata"]["level"] == "error" and event["metadata"]["service"] == {
        "name": "checkout"
    }
    assert event["timestamp"] > 0 and event["metadata"]["sample_rate"] == 1
    assert not [e for e in events if "INFO" in str(e) or "logged in" in e["event_message"]]
    assert logflare.violations == []
    assert gateway.store.queue_depth() == 0
    (recent,) = gateway.store.recent_newest(gateway.clock.now_ns(), 10)
    assert (recent.entry.body, recent.entry.count) == ("Error: Failed to connect to db:5432", 100)


def test_running_gateway_delivers_on_its_own_timer(tmp_path: Path, logflare: FakeLogflare) -> None:
    config = gateway_config(tmp_path, logflare, interval="200ms")
    gateway = Gateway(config)
    gateway.start()
    try:
        send_through_sdk(gateway.receiver.address, emit_flood)
        (event,) = logflare.wait_for_events(1, timeout=20)
        assert event["metadata"]["count"] == 100
    finally:
        gateway.shutdown()
    assert logflare.violations == []


def test_shutdown_loses_nothing_accepted(tmp_path: Path, logflare: FakeLogflare) -> None:
    config = gateway_config(tmp_path, logflare)
    first = Gateway(config, Overrides(clock=FakeClock(), run_jobs=False))
    first.start()
    send_through_sdk(first.receiver.address, emit_flood)
    first.shutdown()
    first.shutdown()  # idempotent

    second = Gateway(config, Overrides(clock=FakeClock(), run_jobs=False))
    second.start()
    try:
        assert second.store.queue_depth() == 130
        assert second.batch.run_batches(second.clock.now_ns()).claimed == 130
    finally:
        second.shutdown()
