"""Builders of OTLP requests for tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from gateway.model import ClaimedRow, Entry
from gateway.otlp import Origin, rows_from_request

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z in unix ns


@dataclass
class Rec:
    body: str | AnyValue = "hello"
    severity_number: int = 9
    severity_text: str = ""
    time: int = T0
    attributes: dict[str, Any] = field(default_factory=dict)
    trace_id: bytes = b""
    span_id: bytes = b""


def any_value(value: Any) -> AnyValue:
    if isinstance(value, AnyValue):
        return value
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    return AnyValue(string_value=str(value))


def request(
    records: Sequence[Rec],
    service: str = "checkout",
    scope: str = "app",
    resource: dict[str, Any] | None = None,  # more resource attributes than service.name
) -> ExportLogsServiceRequest:
    built = ExportLogsServiceRequest()
    resource_logs = built.resource_logs.add()
    if service:
        resource_logs.resource.attributes.add(
            key="service.name", value=AnyValue(string_value=service)
        )
    for key, value in (resource or {}).items():
        resource_logs.resource.attributes.add(key=key, value=any_value(value))
    scope_logs = resource_logs.scope_logs.add()
    scope_logs.scope.name = scope
    for rec in records:
        scope_logs.log_records.add(
            time_unix_nano=rec.time,
            severity_number=rec.severity_number,
            severity_text=rec.severity_text,
            body=any_value(rec.body),
            attributes=[KeyValue(key=k, value=any_value(v)) for k, v in rec.attributes.items()],
            trace_id=rec.trace_id,
            span_id=rec.span_id,
        )
    return built


_ORIGIN_IDS: dict[bytes, int] = {}
_RECORDS: dict[int, bytes] = {}


def _origin_ids(origins: list[bytes]) -> list[int]:
    return [_ORIGIN_IDS.setdefault(origin, len(_ORIGIN_IDS) + 1) for origin in origins]


def queued(
    records: Sequence[Rec],
    service: str = "checkout",
    first_id: int = 1,
    resource: dict[str, Any] | None = None,
) -> list[ClaimedRow]:
    """Rows as the batch stage reads them from the queue, without a database."""
    rows = []
    for i, (_, number, seen_at, body, record, origin_id) in enumerate(
        rows_from_request(request(records, service, resource=resource), T0, _origin_ids).rows
    ):
        _RECORDS[first_id + i] = record
        rows.append((first_id + i, seen_at, number, body, origin_id))
    return rows


def origins() -> dict[int, Origin]:
    """Every origin `queued` has handed out, by id."""
    return {origin_id: Origin(origin) for origin, origin_id in _ORIGIN_IDS.items()}


def record_of(entry: Entry) -> bytes:
    """The stored record bytes of an entry's first row (from the last `queued` call)."""
    return _RECORDS[entry.first_id]
