"""Traces and metrics sent to the logs gateway: answered with success, counted, dropped.

logsieve stores logs only, but an OpenTelemetry SDK set up by environment (the Python distro,
the Java agent...) sends spans and metrics to the same endpoint unless told not to. Answered
404 or UNIMPLEMENTED, the SDK's exporter logs an error into the application at every export,
and retries. So a well-formed ExportTraceServiceRequest or ExportMetricsServiceRequest gets
the OTLP specification's partial success instead: accepted, with every span or data point
reported rejected and a message saying why and which variable stops them. Nothing is
stored; the items are counted in `logsieve_receiver_signals_refused_total{receiver, signal}`
and each receiver logs the first such request once. Bad data gets the answer bad logs get
(400, INVALID_ARGUMENT), and the receiver's other checks (token, origin, size) apply alike.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from prometheus_client import Counter

from gateway.receivers.otlp_json import OtlpJsonError, json_object
from gateway.telemetry.metrics import RECEIVERS, Metrics

log = logging.getLogger("logsieve.receiver")
# Trace and span ids are hex in OTLP/JSON, base64 in protobuf's JSON mapping: they are
# dropped before parsing (nothing here keeps them), so either spelling is well-formed.
_ID_KEYS = frozenset(("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"))


class BadSignalRequest(ValueError):
    """The body is not a request of the signal its path or service names."""


@dataclass(frozen=True, slots=True)
class Signal:
    """One kind of telemetry logsieve does not store, and how to answer it."""

    name: str  # the `signal` label: traces, metrics
    path: str  # its OTLP/HTTP path
    service: str  # its OTLP/gRPC service
    request: type[Message]
    response: type[Message]
    items: str  # what is counted: spans, data points
    variable: str  # the SDK variable that stops the sender
    count: Callable[[Any], int]
    rejected_field: str  # of the response's partial_success

    def decode(self, body: bytes) -> Message:
        """A protobuf body as this signal's request; BadSignalRequest if it is not one."""
        try:
            return self.request.FromString(body)
        except DecodeError as exc:
            raise BadSignalRequest(f"not an {self.request.__name__}: {exc}") from None

    def decode_json(self, body: bytes) -> Message:
        """An OTLP/JSON body as this signal's request; BadSignalRequest if it is not one."""
        try:
            tree = json_object(body)
        except OtlpJsonError as exc:
            raise BadSignalRequest(str(exc)) from None
        try:
            return json_format.ParseDict(
                _without_ids(tree), self.request(), ignore_unknown_fields=True
            )
        except json_format.ParseError as exc:
            raise BadSignalRequest(f"not an {self.request.__name__}: {exc}") from None

    def answer(self, request: Message) -> tuple[int, Message]:
        """(items in the request, the response rejecting every one of them)."""
        items = self.count(request)
        response = self.response()
        if items:
            partial = response.partial_success  # type: ignore[attr-defined]
            setattr(partial, self.rejected_field, items)
            partial.error_message = self.message(items)
        return items, response

    def message(self, items: int) -> str:
        return (
            f"logsieve receives logs only: {items} {self.items} dropped;"
            f" set {self.variable}=none in the sender"
        )


def _spans(request: ExportTraceServiceRequest) -> int:
    return sum(len(scope.spans) for spans in request.resource_spans for scope in spans.scope_spans)


def _data_points(request: ExportMetricsServiceRequest) -> int:
    total = 0
    for resource in request.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                kind = metric.WhichOneof("data")
                total += len(getattr(metric, kind).data_points) if kind else 0
    return total


TRACES = Signal(
    name="traces",
    path="/v1/traces",
    service="opentelemetry.proto.collector.trace.v1.TraceService",
    request=ExportTraceServiceRequest,
    response=ExportTraceServiceResponse,
    items="spans",
    variable="OTEL_TRACES_EXPORTER",
    count=_spans,
    rejected_field="rejected_spans",
)
METRICS = Signal(
    name="metrics",
    path="/v1/metrics",
    service="opentelemetry.proto.collector.metrics.v1.MetricsService",
    request=ExportMetricsServiceRequest,
    response=ExportMetricsServiceResponse,
    items="data points",
    variable="OTEL_METRICS_EXPORTER",
    count=_data_points,
    rejected_field="rejected_data_points",
)
SIGNALS = (TRACES, METRICS)
BY_PATH = {signal.path: signal for signal in SIGNALS}


def _without_ids(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _without_ids(value) for key, value in node.items() if key not in _ID_KEYS}
    if isinstance(node, list):
        return [_without_ids(item) for item in node]
    return node


# One counter per Metrics (a registry refuses a second of the same name); made when the
# first receiver starts, every series at 0, so a dashboard sees it before the first span.
_COUNTERS: weakref.WeakKeyDictionary[Metrics, Counter] = weakref.WeakKeyDictionary()


def _counter(metrics: Metrics) -> Counter:
    counter = _COUNTERS.get(metrics)
    if counter is None:
        counter = Counter(
            "logsieve_receiver_signals_refused",
            "Spans (signal=traces) and metric data points (signal=metrics) answered as"
            " rejected in partial_success: logsieve receives logs only",
            ["receiver", "signal"],
            registry=metrics.registry,
        )
        for receiver in RECEIVERS:
            for signal in SIGNALS:
                counter.labels(receiver=receiver, signal=signal.name)
        _COUNTERS[metrics] = counter
    return counter


class SignalSink:
    """Where one receiver's traces and metrics go: counted, logged once per signal, dropped."""

    def __init__(self, receiver: str, metrics: Metrics | None) -> None:
        self._receiver = receiver
        self._counter = _counter(metrics) if metrics is not None else None
        self._told: set[str] = set()  # signals already logged by this receiver

    def take(self, signal: Signal, request: Message) -> Message:
        """The response to a decoded request of `signal`, counted."""
        items, response = signal.answer(request)
        if self._counter is not None and items:
            self._counter.labels(receiver=self._receiver, signal=signal.name).inc(items)
        if items and signal.name not in self._told:
            self._told.add(signal.name)
            log.warning(
                "the %s receiver got %s: %s (counted in logsieve_receiver_signals_refused_total;"
                " said once)",
                self._receiver,
                signal.name,
                signal.message(items),
            )
        return response
