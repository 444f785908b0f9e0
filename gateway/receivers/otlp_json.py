"""The OTLP/JSON encoding of ExportLogsService: what differs from protobuf's JSON mapping.

OTLP/JSON is protobuf's JSON mapping with three changes: trace and span ids are hex, not
base64; enums may be given by number (protobuf's parser takes those already); keys are
lowerCamelCase (also accepted as they are). Unknown fields are ignored, as the OTLP
specification asks of receivers.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

ID_KEYS = ("traceId", "spanId", "trace_id", "span_id")


class OtlpJsonError(ValueError):
    """The body is not an OTLP/JSON ExportLogsServiceRequest."""


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; OtlpJsonError if it is not one."""
    try:
        tree = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise OtlpJsonError(f"not JSON: {exc}") from None
    if not isinstance(tree, dict):
        raise OtlpJsonError("the body must be a JSON object")
    return tree


def parse_request(body: bytes) -> ExportLogsServiceRequest:
    tree = json_object(body)
    for record in _log_records(tree):
        _hex_ids_to_base64(record)
    try:
        return json_format.ParseDict(tree, ExportLogsServiceRequest(), ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise OtlpJsonError(f"not an ExportLogsServiceRequest: {exc}") from None


def dumps(message: Message) -> bytes:
    """A response or a google.rpc.Status as OTLP/JSON (lowerCamelCase keys)."""
    return json_format.MessageToJson(message, indent=None).encode()


def _log_records(tree: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for resource_logs in _objects(tree.get("resourceLogs", tree.get("resource_logs"))):
        for scope_logs in _objects(resource_logs.get("scopeLogs", resource_logs.get("scope_logs"))):
            found.extend(_objects(scope_logs.get("logRecords", scope_logs.get("log_records"))))
    return found


def _objects(value: Any) -> list[dict[str, Any]]:
    # A wrong shape is left for the protobuf parser to name precisely.
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _hex_ids_to_base64(record: dict[str, Any]) -> None:
    for key in ID_KEYS:
        value = record.get(key)
        if isinstance(value, str) and value:
            try:
                record[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
            except ValueError:
                raise OtlpJsonError(f"{key} {value[:40]!r} is not hex") from None
