"""Traces and metrics sent to the logs gateway, by the real OpenTelemetry exporters, to real
receivers on 127.0.0.1:0: answered with success and every item rejected in partial_success
(so the sender logs no error), counted, never stored; bad data refused as for logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from google.rpc import code_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
    OTLPMetricExporter as GrpcMetricExporter,
)
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
    OTLPMetricExporter as HttpMetricExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2_grpc import MetricsServiceStub
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.config.receivers import GrpcReceiverConfig, HttpReceiverConfig
from gateway.receivers.grpc import OtlpGrpcReceiver
from gateway.receivers.http import OtlpHttpReceiver
from gateway.receivers.ingest import Ingest
from gateway.store import Store
from gateway.telemetry.metrics import Metrics
from testkit.clock import FakeClock
from tests.builders import T0

TOKEN = "a-token-for-the-signal-tests"
REFUSED = "logsieve_receiver_signals_refused_total"


@dataclass
class Receivers:
    http: OtlpHttpReceiver
    grpc: OtlpGrpcReceiver
    metrics: Metrics

    def refused(self, receiver: str, signal: str) -> float | None:
        labels = {"receiver": receiver, "signal": signal}
        return self.metrics.registry.get_sample_value(REFUSED, labels)


def start_receivers(store: Store, auth: dict[str, Any] | None = None) -> Receivers:
    metrics = Metrics()
    ingest = Ingest(store, FakeClock(T0), metrics=metrics)
    extra = {"auth": auth} if auth else {}
    http = OtlpHttpReceiver(
        ingest,
        HttpReceiverConfig.model_validate({"endpoint": "127.0.0.1:0", **extra}),
        FakeClock(T0),
    )
    grpc_receiver = OtlpGrpcReceiver(
        ingest, GrpcReceiverConfig.model_validate({"endpoint": "127.0.0.1:0", **extra})
    )
    http.start()
    grpc_receiver.start()
    return Receivers(http, grpc_receiver, metrics)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """SQLite alone: nothing is stored, so the backend makes no difference here."""
    created = Store(f"sqlite:///{tmp_path / 'logsieve.db'}", pool_size=2)
    created.create_schema()
    yield created
    created.dispose()


@pytest.fixture
def receivers(store: Store) -> Iterator[Receivers]:
    started = start_receivers(store)
    yield started
    started.http.shutdown()
    started.grpc.shutdown(grace=1)


def finished_spans(count: int) -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("checkout")
    for number in range(count):
        with tracer.start_as_current_span(f"GET /cart/{number}"):
            pass
    return list(memory.get_finished_spans())


def collected_metrics() -> Any:
    """Two instruments: a counter with 3 attribute sets and a histogram with 1 (4 points)."""
    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("checkout")
    orders = meter.create_counter("orders")
    for region in ("eu", "us", "asia"):
        orders.add(1, {"region": region})
    meter.create_histogram("latency").record(0.25)
    return reader.get_metrics_data()


def test_the_real_exporters_succeed_and_nothing_is_stored(
    receivers: Receivers, store: Store
) -> None:
    spans = finished_spans(5)
    data = collected_metrics()
    http_url, grpc_address = receivers.http.url, receivers.grpc.address
    assert HttpSpanExporter(f"{http_url}/v1/traces").export(spans) is SpanExportResult.SUCCESS
    assert HttpMetricExporter(f"{http_url}/v1/metrics").export(data) is MetricExportResult.SUCCESS
    grpc_spans = GrpcSpanExporter(grpc_address, insecure=True)
    grpc_metrics = GrpcMetricExporter(grpc_address, insecure=True)
    assert grpc_spans.export(spans) is SpanExportResult.SUCCESS
    assert grpc_metrics.export(data) is MetricExportResult.SUCCESS
    grpc_spans.shutdown()
    grpc_metrics.shutdown()

    for receiver in ("http", "grpc"):
        assert receivers.refused(receiver, "traces") == 5
        assert receivers.refused(receiver, "metrics") == 4
    assert store.queue_depth() == 0


def test_partial_success_says_what_was_dropped_and_how_to_stop_it(receivers: Receivers) -> None:
    spans = ExportTraceServiceRequest()
    scope = spans.resource_spans.add().scope_spans.add()
    for name in ("a", "b", "c"):
        scope.spans.add(name=name, trace_id=b"\x01" * 16, span_id=b"\x02" * 8)
    with grpc.insecure_channel(receivers.grpc.address) as channel:
        answer = TraceServiceStub(channel).Export(spans, timeout=10)
        empty = MetricsServiceStub(channel).Export(ExportMetricsServiceRequest(), timeout=10)
    assert answer.partial_success.rejected_spans == 3
    assert answer.partial_success.error_message == (
        "logsieve receives logs only: 3 spans dropped; set OTEL_TRACES_EXPORTER=none in the sender"
    )
    assert not empty.HasField("partial_success")  # nothing sent, nothing rejected

    response = httpx.post(
        receivers.http.url + "/v1/traces",
        content=spans.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
    )
    assert response.status_code == 200
    assert ExportTraceServiceResponse.FromString(response.content) == answer


def test_otlp_json_traces_and_metrics(receivers: Receivers) -> None:
    span = {
        "traceId": "5b8efff798038103d269b633813fc60c",  # hex, as OTLP/JSON spells ids
        "spanId": "eee19b7ec3c1b174",
        "parentSpanId": "eee19b7ec3c1b173",
        "name": "GET /cart",
        "kind": 2,
        "startTimeUnixNano": "1700000000000000000",
        "links": [{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331"}],
        "someFutureField": True,  # unknown fields are ignored, as for logs
    }
    traces = {"resourceSpans": [{"scopeSpans": [{"spans": [span, span]}]}]}
    points = [{"asInt": "3", "timeUnixNano": "1700000000000000000"}]
    metrics = {
        "resourceMetrics": [
            {"scopeMetrics": [{"metrics": [{"name": "orders", "gauge": {"dataPoints": points}}]}]}
        ]
    }
    answers = [
        httpx.post(receivers.http.url + path, json=body)
        for path, body in (("/v1/traces", traces), ("/v1/metrics", metrics))
    ]
    assert [answer.status_code for answer in answers] == [200, 200]
    assert answers[0].headers["content-type"] == "application/json"
    assert answers[0].json()["partialSuccess"]["rejectedSpans"] == "2"
    assert answers[1].json()["partialSuccess"]["rejectedDataPoints"] == "1"
    assert "OTEL_METRICS_EXPORTER=none" in answers[1].json()["partialSuccess"]["errorMessage"]


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"\xff\xff\xff\xff", "application/x-protobuf"),
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'{"resourceSpans": 7}', "application/json"),
    ],
)
def test_bad_data_is_400_as_for_logs(receivers: Receivers, body: bytes, kind: str) -> None:
    response = httpx.post(
        receivers.http.url + "/v1/traces", content=body, headers={"Content-Type": kind}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == kind
    if kind == "application/x-protobuf":
        assert status_pb2.Status.FromString(response.content).code == code_pb2.INVALID_ARGUMENT
    assert receivers.refused("http", "traces") == 0


def test_bad_data_over_grpc_is_invalid_argument(receivers: Receivers) -> None:
    method = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
    with grpc.insecure_channel(receivers.grpc.address) as channel:
        call = channel.unary_unary(method, None, None)
        with pytest.raises(grpc.RpcError) as raised:
            call(b"\xff\xff\xff\xff", timeout=10)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "ExportMetricsServiceRequest" in str(raised.value.details())


def test_the_token_is_required_as_for_logs(store: Store) -> None:
    receivers = start_receivers(store, {"bearer_token": TOKEN})
    try:
        spans = finished_spans(1)
        anonymous = HttpSpanExporter(f"{receivers.http.url}/v1/traces")
        assert anonymous.export(spans) is SpanExportResult.FAILURE
        with (
            grpc.insecure_channel(receivers.grpc.address) as channel,
            pytest.raises(grpc.RpcError) as raised,
        ):
            TraceServiceStub(channel).Export(ExportTraceServiceRequest(), timeout=10)
        assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED
        signed = HttpSpanExporter(
            f"{receivers.http.url}/v1/traces", headers={"authorization": f"Bearer {TOKEN}"}
        )
        assert signed.export(spans) is SpanExportResult.SUCCESS
        assert receivers.refused("http", "traces") == 1
    finally:
        receivers.http.shutdown()
        receivers.grpc.shutdown(grace=1)


def test_every_series_starts_at_zero_and_each_signal_is_logged_once(
    receivers: Receivers, caplog: pytest.LogCaptureFixture
) -> None:
    for receiver in ("http", "grpc"):
        for signal in ("traces", "metrics"):
            assert receivers.refused(receiver, signal) == 0
    caplog.set_level(logging.WARNING, "logsieve.receiver")
    spans = finished_spans(2)
    exporter = HttpSpanExporter(f"{receivers.http.url}/v1/traces")
    for _ in range(3):
        assert exporter.export(spans) is SpanExportResult.SUCCESS
    told = [r.getMessage() for r in caplog.records if "receives logs only" in r.getMessage()]
    assert told == [
        "the http receiver got traces: logsieve receives logs only: 2 spans dropped;"
        " set OTEL_TRACES_EXPORTER=none in the sender"
        " (counted in logsieve_receiver_signals_refused_total; said once)"
    ]
    assert receivers.refused("http", "traces") == 6


def test_other_paths_are_still_404(receivers: Receivers) -> None:
    response = httpx.post(receivers.http.url + "/v1/profiles", content=b"")
    assert response.status_code == 404
    assert httpx.get(receivers.http.url + "/v1/traces").status_code == 405
