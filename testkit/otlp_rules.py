"""What the OTLP specification asks of a logs request, as the fake backend (testkit/otlp.py)
checks it, and what it records of each record that arrives.

Each broken rule is a violation: something no OTLP exporter should send. The fake still takes
such a request (a real backend often does), so a test sees both the violation and the data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from gateway.otlp import body_text, to_python

MAX_SEVERITY = 24
TRACE_ID_BYTES, SPAN_ID_BYTES = 16, 8


@dataclass(frozen=True, slots=True)
class Received:
    """One LogRecord as it arrived, with the resource and scope it came under."""

    resource: dict[str, Any]
    scope: str
    record: LogRecord

    @property
    def body(self) -> str:
        return body_text(self.record.body)

    @property
    def attributes(self) -> dict[str, Any]:
        """On their own keys; kvlists become dicts, arrays lists, as to_python makes them."""
        return {kv.key: to_python(kv.value) for kv in self.record.attributes}

    @property
    def attribute_kinds(self) -> dict[str, str | None]:
        """Each attribute's AnyValue kind (int_value, string_value...): the wire's types."""
        return {kv.key: kv.value.WhichOneof("value") for kv in self.record.attributes}


def received(request: ExportLogsServiceRequest) -> Iterator[Received]:
    for resource_logs in request.resource_logs:
        resource = {kv.key: to_python(kv.value) for kv in resource_logs.resource.attributes}
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                yield Received(resource, scope_logs.scope.name, record)


def violations(request: ExportLogsServiceRequest) -> list[str]:
    """The rules of the logs data model that the request breaks, one line each."""
    found: list[str] = []
    for r, resource_logs in enumerate(request.resource_logs):
        found += _unique_keys(f"resource_logs[{r}].resource", resource_logs.resource.attributes)
        if not resource_logs.scope_logs:
            found.append(f"resource_logs[{r}] holds no scope_logs")
        for s, scope_logs in enumerate(resource_logs.scope_logs):
            if not scope_logs.log_records:
                found.append(f"resource_logs[{r}].scope_logs[{s}] holds no log_records")
            for i, record in enumerate(scope_logs.log_records):
                found += _record_violations(f"resource_logs[{r}].scope_logs[{s}][{i}]", record)
    return found


def _record_violations(at: str, record: LogRecord) -> list[str]:
    found = _unique_keys(at, record.attributes)
    if len(record.trace_id) not in (0, TRACE_ID_BYTES) or record.trace_id == bytes(16):
        found.append(f"{at}: trace_id of {len(record.trace_id)} bytes (16, not all zero)")
    if len(record.span_id) not in (0, SPAN_ID_BYTES) or record.span_id == bytes(8):
        found.append(f"{at}: span_id of {len(record.span_id)} bytes (8, not all zero)")
    if not 0 <= record.severity_number <= MAX_SEVERITY:
        found.append(f"{at}: severity_number {record.severity_number} is not 0-24")
    if not (record.time_unix_nano or record.observed_time_unix_nano):
        found.append(f"{at}: neither time_unix_nano nor observed_time_unix_nano is set")
    if not record.HasField("body"):
        found.append(f"{at}: no body")
    return found


def _unique_keys(at: str, attributes: Any) -> list[str]:
    keys = [kv.key for kv in attributes]
    found = [f"{at}: an attribute with an empty key" for key in keys if not key]
    duplicates = sorted(key for key, n in Counter(keys).items() if n > 1)
    return found + [f"{at}: attribute {key!r} given twice" for key in duplicates]
