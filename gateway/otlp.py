"""OTLP protobuf <-> logsieve: queue rows on the way in, readable values on the way out.

`rows_from_request` is the ingest hot path: per record it pulls out only what the batch stage
groups on (severity, time, body) and keeps the rest as the record's own bytes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from gateway import severity
from gateway.model import IncomingRow, ResourceValue

MAX_FUTURE_NS = 3600 * 1_000_000_000  # Logflare drops events more than an hour ahead of it
SERVICE_NAME = "service.name"


class Converted(NamedTuple):
    rows: list[IncomingRow]
    rejected: int  # records over max_record_bytes, left out (reported as partial success)


def rows_from_request(
    request: ExportLogsServiceRequest,
    received_at: int,
    origin_ids: Callable[[list[bytes]], list[int]],
    max_record_bytes: int | None = None,
) -> Converted:
    """One queue row per LogRecord: what dedupe keys on, as plain columns, and the rest as bytes.

    The body is lifted out of the record into its own column (and cleared from the record, so
    it is stored once): the batch stage then groups rows without decoding them. The origins
    (resource and scope) of all the request's records are resolved by one `origin_ids` call,
    however many there are. Records larger than max_record_bytes are left out and counted
    (the caller skips the check, None, when the whole request is smaller than the limit).
    """
    groups = [(r, s) for r in request.resource_logs for s in r.scope_logs if s.log_records]
    if not groups:
        return Converted([], 0)
    origins = origin_ids([_origin_bytes(resource_logs, scope) for resource_logs, scope in groups])
    rows = [
        _row(record, received_at, origin)
        for (_, scope_logs), origin in zip(groups, origins, strict=True)
        for record in scope_logs.log_records
    ]
    if max_record_bytes is None:
        return Converted(rows, 0)
    kept = [row for row in rows if len(row[4]) + len(row[3].encode()) <= max_record_bytes]
    return Converted(kept, len(rows) - len(kept))


def _row(record: LogRecord, received_at: int, origin: int) -> IncomingRow:
    number: int = record.severity_number
    if not severity.is_number(number):
        number = severity.effective_number(number, record.severity_text)
    seen_at = record.time_unix_nano or record.observed_time_unix_nano or received_at
    if seen_at > received_at + MAX_FUTURE_NS:  # a bad clock, or year 2262: Logflare would drop it
        seen_at = received_at
    body = record.body.string_value or body_text(record.body)
    if "\x00" in body:  # PostgreSQL text cannot hold NUL; the record bytes keep the original
        body = body.replace("\x00", "\ufffd")
    record.ClearField("body")
    return (received_at, number, seen_at, body, record.SerializeToString(), origin)


def _origin_bytes(resource_logs: ResourceLogs, scope_logs: ScopeLogs) -> bytes:
    """The resource and scope of a group of records, stored beside each of them."""
    origin = ResourceLogs(resource=resource_logs.resource, schema_url=resource_logs.schema_url)
    origin.scope_logs.add(scope=scope_logs.scope, schema_url=scope_logs.schema_url)
    return origin.SerializeToString()


class Origin:
    """What the batch stage needs of a record's resource and scope, decoded once per origin.
    `resource` is shared by every entry of the origin: read it, never change it."""

    __slots__ = ("resource", "scope", "service")

    def __init__(self, origin: bytes) -> None:
        parsed = ResourceLogs.FromString(origin)
        self.service = service_name(parsed.resource)
        self.scope = parsed.scope_logs[0].scope.name if parsed.scope_logs else ""
        self.resource = flat_attributes(parsed.resource.attributes)


def service_name(resource: Resource) -> str:
    for attribute in resource.attributes:
        if attribute.key == SERVICE_NAME:
            return body_text(attribute.value)
    return ""


def to_python(value: AnyValue) -> Any:
    """An AnyValue as plain JSON-able Python (bytes become base64 text)."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind is None:
        return None
    if kind == "array_value":
        return [to_python(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: to_python(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return getattr(value, kind)


def body_text(value: AnyValue) -> str:
    """The text a person reads for a body: strings as they are, anything else as JSON."""
    if value.HasField("string_value"):
        return value.string_value
    python = to_python(value)
    if python is None:
        return ""
    if isinstance(python, str):
        return python
    return json.dumps(python, separators=(",", ":"), ensure_ascii=False, default=str)


def flat_attributes(attributes: Any) -> dict[str, ResourceValue]:
    """KeyValues as a flat dict on their own (dotted) keys, each value a string, number or
    boolean: lists and maps become their JSON text, an empty value "". Resource attributes
    are few and read by key (`host.name`), so they stay flat where record attributes nest."""
    return {attribute.key: scalar(to_python(attribute.value)) for attribute in attributes}


def scalar(value: Any) -> ResourceValue:
    """A value as a string, number or boolean (lists and maps as compact JSON)."""
    if isinstance(value, str | bool | int | float):
        return value
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """A flat dict nested on dots, as nest_attributes does with KeyValues."""
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        _put(nested, key.split("."), value)
    return nested


def nest_attributes(attributes: Any) -> dict[str, Any]:
    """KeyValues nested on dots: http.method=GET -> {"http": {"method": "GET"}}.

    Logflare rewrites dotted keys into odd column names, so it gets nested objects. A key that
    is both a value and a prefix ("a" and "a.b") keeps its value under "_value".
    """
    nested: dict[str, Any] = {}
    for attribute in attributes:
        key = attribute.key
        if "." in key or key in nested:
            _put(nested, key.split("."), to_python(attribute.value))
        else:  # the common case: a plain key
            nested[key] = to_python(attribute.value)
    return nested


def _put(tree: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        child = tree.get(part)
        if not isinstance(child, dict):
            child = {} if child is None else {"_value": child}
            tree[part] = child
        tree = child
    leaf = path[-1]
    if isinstance(tree.get(leaf), dict):
        tree[leaf]["_value"] = value
    else:
        tree[leaf] = value
