"""An entry as an OTLP LogRecord (the text the outbox stores), and stored texts as one request.

The stored text is the base64 of an OTLP `ResourceLogs` holding the entry's resource, one
`ScopeLogs` with its scope, and its one `LogRecord`: a standard protobuf message anyone can
decode, self-contained, so `request_for` can group any set of them by resource and scope.

The record, field by field:

| LogRecord                        | from the entry                                             |
|----------------------------------|------------------------------------------------------------|
| body                             | the first record's body (a string; other bodies as JSON)  |
| severity_number, severity_text   | the entry's number and band name (empty for UNSPECIFIED)   |
| time_unix_nano                   | the first record's time (first_seen)                       |
| observed_time_unix_nano          | when the batch stage kept the entry                        |
| trace_id, span_id                | the first record's                                         |
| attributes                       | the first record's, on their dotted keys, then:            |
| `log_count` (int)                | records the entry stands for (the Collector's logdedup)    |
| `first_observed_timestamp` (str) | first_seen, RFC 3339 in UTC to the second (as logdedup)    |
| `last_observed_timestamp` (str)  | last_seen, likewise                                        |
| `logsieve.sample_rate` (double)  | only when sampled: the keep rate; log_count / it estimates |
| `logsieve.pattern.id` (str)      | the pattern's 16 hex digits, when grouped by pattern       |
| `logsieve.pattern.template` (str)| the template, `<*>` and typed placeholders                 |
| `logsieve.pattern.variables`     | per variable: {top: [{value, count}], other, distinct}     |
| `logsieve.services` (map)        | service.name -> records, when the entry holds several      |
| `logsieve.services_other` (int)  | records of the services left out of that map, when any     |

Resource: the first record's resource attributes (lists and maps as their JSON text, as the
entry keeps them); scope: its scope's name. The record's own attributes with one of these
names give way to logsieve's.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs

from gateway.model import Entry, PatternRef
from gateway.severity import UNSPECIFIED

LOG_COUNT = "log_count"
FIRST_OBSERVED = "first_observed_timestamp"
LAST_OBSERVED = "last_observed_timestamp"
SAMPLE_RATE = "logsieve.sample_rate"
PATTERN_ID = "logsieve.pattern.id"
PATTERN_TEMPLATE = "logsieve.pattern.template"
PATTERN_VARIABLES = "logsieve.pattern.variables"
SERVICES = "logsieve.services"
SERVICES_OTHER = "logsieve.services_other"
SERVICE_NAME = "service.name"
NESTED_VALUE = "_value"  # gateway.otlp.nest_attributes keeps a prefix's own value here
INT64 = range(-(2**63), 2**63)
TRACE_ID_BYTES, SPAN_ID_BYTES = 16, 8


class UnreadableText(ValueError):
    """A stored text that is not an encoded record (a bug, or a row changed by hand)."""


def encode(entry: Entry, now_ns: int) -> str:
    """An entry as the text the outbox stores: base64 of a ResourceLogs with its one record."""
    one = ResourceLogs()
    add_attributes(one.resource.attributes, resource_pairs(entry))
    scope_logs = one.scope_logs.add()
    scope_logs.scope.name = entry.scope
    fill_record(scope_logs.log_records.add(), entry, now_ns)
    return base64.b64encode(one.SerializeToString()).decode("ascii")


def fill_record(built: LogRecord, entry: Entry, now_ns: int) -> None:
    """The entry's LogRecord, written in place (protobuf copies every message it is given)."""
    first_seen = entry.first_seen or now_ns
    last_seen = max(entry.last_seen, first_seen)
    built.time_unix_nano = first_seen
    built.observed_time_unix_nano = now_ns
    built.severity_number = entry.severity_number  # type: ignore[assignment]
    if entry.severity != UNSPECIFIED:
        built.severity_text = entry.severity
    built.body.string_value = entry.body
    built.trace_id = _id_bytes(entry.trace_id, TRACE_ID_BYTES)
    built.span_id = _id_bytes(entry.span_id, SPAN_ID_BYTES)
    ours = logsieve_attributes(entry, first_seen, last_seen)
    add_attributes(built.attributes, ((k, v) for k, v in flat(entry.attributes) if k not in ours))
    add_attributes(built.attributes, ours.items())


def logsieve_attributes(entry: Entry, first_seen: int, last_seen: int) -> dict[str, Any]:
    """The attributes logsieve adds: the Collector's logdedup names, then its own."""
    added: dict[str, Any] = {
        LOG_COUNT: entry.count,
        FIRST_OBSERVED: rfc3339(first_seen),
        LAST_OBSERVED: rfc3339(last_seen),
    }
    if entry.sample_rate < 1.0:
        added[SAMPLE_RATE] = float(entry.sample_rate)
    if entry.pattern is not None:
        added |= pattern_attributes(entry.pattern)
    if len(entry.services) > 1 or entry.services_other:
        added[SERVICES] = dict(entry.services)
    if entry.services_other:
        added[SERVICES_OTHER] = entry.services_other
    return added


def pattern_attributes(pattern: PatternRef) -> dict[str, Any]:
    variables = [
        {
            "top": [{"value": value, "count": count} for value, count in variable.top],
            "other": variable.other,
            "distinct": variable.distinct,
        }
        for variable in pattern.variables
    ]
    return {
        PATTERN_ID: pattern.hex_id,
        PATTERN_TEMPLATE: pattern.template,
        PATTERN_VARIABLES: variables,
    }


def resource_pairs(entry: Entry) -> Iterable[tuple[str, Any]]:
    """The first record's resource; an entry made before entries kept one names its service."""
    resource: Mapping[str, Any] = entry.resource
    if not resource and entry.service:
        resource = {SERVICE_NAME: entry.service}
    return resource.items()


def rfc3339(ns: int) -> str:
    """As Go's time.RFC3339 writes a UTC time (logdedup's format): to the second, with Z."""
    return _rfc3339_second(ns // 1_000_000_000)


@functools.lru_cache(maxsize=4096)  # a batch's entries share their seconds
def _rfc3339_second(second: int) -> str:
    moment = datetime.datetime.fromtimestamp(second, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def flat(nested: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    """Attributes nested on dots (as entries keep them) back on their dotted keys."""
    for key, value in nested.items():
        name = prefix if key == NESTED_VALUE and prefix else f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value:
            yield from flat(value, name)
        else:
            yield name, value


def add_attributes(target: Any, pairs: Iterable[tuple[str, Any]]) -> None:
    """KeyValues appended to a repeated field (attributes, a kvlist's values)."""
    for key, value in pairs:
        set_value(target.add(key=key).value, value)


def set_value(target: AnyValue, value: Any) -> None:
    """Plain Python into an AnyValue, in place: maps become kvlists, lists arrays, None stays
    an empty value, an integer past 64 bits its decimal text."""
    if isinstance(value, str):
        target.string_value = value
    elif isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        if value in INT64:
            target.int_value = value
        else:
            target.string_value = str(value)
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, dict):
        add_attributes(target.kvlist_value.values, value.items())
        target.kvlist_value.SetInParent()  # an empty map is still a map
    elif isinstance(value, list | tuple):
        target.array_value.SetInParent()
        for item in value:
            set_value(target.array_value.values.add(), item)
    elif value is not None:
        target.string_value = json.dumps(value, default=str)


def _id_bytes(hex_id: str, size: int) -> bytes:
    """A trace or span id from its hex; one of another length (or no hex) is left out."""
    try:
        raw = bytes.fromhex(hex_id)
    except ValueError:
        return b""
    return raw if len(raw) == size and any(raw) else b""


def decode(text: str) -> ResourceLogs:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise UnreadableText("a stored text is not base64, so no OTLP record") from None
    try:
        return ResourceLogs.FromString(raw)
    except DecodeError:
        raise UnreadableText("a stored text is not an OTLP ResourceLogs") from None


def request_for(texts: Sequence[str]) -> tuple[bytes, int]:
    """One ExportLogsServiceRequest holding the stored records, grouped by resource and then
    scope (in the order each first appears), serialized; and how many records it holds."""
    request = ExportLogsServiceRequest()
    resources: dict[bytes, ResourceLogs] = {}
    scopes: dict[tuple[bytes, bytes], ScopeLogs] = {}
    count = 0
    for text in texts:
        one = decode(text)
        resource_key = one.resource.SerializeToString(deterministic=True) + one.schema_url.encode()
        target = resources.get(resource_key)
        if target is None:
            target = resources[resource_key] = request.resource_logs.add(
                resource=one.resource, schema_url=one.schema_url
            )
        for scope_logs in one.scope_logs:
            scope_key = (
                scope_logs.scope.SerializeToString(deterministic=True)
                + scope_logs.schema_url.encode()
            )
            group = scopes.get((resource_key, scope_key))
            if group is None:
                group = scopes[(resource_key, scope_key)] = target.scope_logs.add(
                    scope=scope_logs.scope, schema_url=scope_logs.schema_url
                )
            group.log_records.extend(scope_logs.log_records)
            count += len(scope_logs.log_records)
    return request.SerializeToString(), count
