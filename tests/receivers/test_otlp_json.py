"""gateway/receivers/otlp_json.py: OTLP/JSON as the specification writes it (hex ids, enums as
numbers, int64 as strings, bytes as base64, unknown fields ignored), and what it refuses."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from gateway.receivers.otlp_json import OtlpJsonError, dumps, parse_request

TRACE_HEX = "5b8efff798038103d269b633813fc60c"
SPAN_HEX = "eee19b7ec3c1b174"


def body_of(*records: dict[str, Any], **top: Any) -> bytes:
    """An OTLP/JSON request of one resource and scope holding `records`."""
    tree = {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]
                },
                "scopeLogs": [{"scope": {"name": "app"}, "logRecords": list(records)}],
            }
        ],
        **top,
    }
    return orjson.dumps(tree)


def only_record(body: bytes) -> LogRecord:
    request = parse_request(body)
    (resource_logs,) = request.resource_logs
    (scope_logs,) = resource_logs.scope_logs
    (record,) = scope_logs.log_records
    assert isinstance(record, LogRecord)
    return record


def test_a_specification_example_decodes_field_by_field() -> None:
    request = parse_request(
        body_of(
            {
                "timeUnixNano": "1767225600000000001",  # int64 as a string, as OTLP/JSON writes
                "observedTimeUnixNano": 1767225600000000002,  # a number is taken too
                "severityNumber": 13,
                "severityText": "Warning",
                "traceId": TRACE_HEX,
                "spanId": SPAN_HEX,
                "flags": 1,
                "body": {"stringValue": "disk almost full"},
                "attributes": [
                    {"key": "free.bytes", "value": {"intValue": "1024"}},
                    {"key": "ratio", "value": {"doubleValue": 0.5}},
                    {"key": "ok", "value": {"boolValue": False}},
                ],
            }
        )
    )
    (resource_logs,) = request.resource_logs
    assert resource_logs.resource.attributes[0].value.string_value == "checkout"
    assert resource_logs.scope_logs[0].scope.name == "app"
    record = resource_logs.scope_logs[0].log_records[0]
    assert record.time_unix_nano == 1_767_225_600_000_000_001
    assert record.observed_time_unix_nano == 1_767_225_600_000_000_002
    assert (record.severity_number, record.severity_text) == (13, "Warning")
    assert record.trace_id == bytes.fromhex(TRACE_HEX)
    assert record.span_id == bytes.fromhex(SPAN_HEX)
    assert record.flags == 1
    assert record.body.string_value == "disk almost full"
    values = {kv.key: kv.value for kv in record.attributes}
    assert values["free.bytes"].int_value == 1024
    assert values["ratio"].double_value == 0.5
    assert values["ok"].HasField("bool_value") and values["ok"].bool_value is False


def test_hex_ids_in_upper_case_decode_to_the_same_bytes() -> None:
    record = only_record(body_of({"traceId": TRACE_HEX.upper(), "spanId": SPAN_HEX.upper()}))
    assert record.trace_id == bytes.fromhex(TRACE_HEX)
    assert record.span_id == bytes.fromhex(SPAN_HEX)


def test_empty_ids_stay_empty() -> None:
    record = only_record(body_of({"traceId": "", "spanId": "", "body": {"stringValue": "x"}}))
    assert (record.trace_id, record.span_id) == (b"", b"")


def test_snake_case_keys_are_accepted_hex_ids_included() -> None:
    tree = {
        "resource_logs": [
            {
                "scope_logs": [
                    {
                        "log_records": [
                            {"trace_id": TRACE_HEX, "span_id": SPAN_HEX, "severity_number": 17}
                        ]
                    }
                ]
            }
        ]
    }
    record = only_record(orjson.dumps(tree))
    assert record.trace_id == bytes.fromhex(TRACE_HEX)
    assert record.span_id == bytes.fromhex(SPAN_HEX)
    assert record.severity_number == 17


def test_severity_by_enum_name_is_taken_as_by_number() -> None:
    by_name = only_record(body_of({"severityNumber": "SEVERITY_NUMBER_ERROR"}))
    by_number = only_record(body_of({"severityNumber": 17}))
    assert by_name.severity_number == by_number.severity_number == 17


def test_an_unknown_severity_name_is_ignored_like_an_unknown_field() -> None:
    # Protobuf's parser, told to ignore unknown fields, ignores unknown enum names too: the
    # record is kept, its severity left unspecified (its text can still name a band).
    record = only_record(body_of({"severityNumber": "SEVERITY_NUMBER_LOUD", "severityText": "x"}))
    assert (record.severity_number, record.severity_text) == (0, "x")


def test_bytes_are_base64_but_ids_are_hex() -> None:
    record = only_record(
        body_of({"traceId": "00ff" * 8, "body": {"bytesValue": "AAEC/w=="}})  # 00 01 02 ff
    )
    assert record.body.bytes_value == b"\x00\x01\x02\xff"
    assert record.trace_id == b"\x00\xff" * 8


def test_nested_values_decode() -> None:
    body = {
        "kvlistValue": {
            "values": [
                {"key": "user", "value": {"stringValue": "ada"}},
                {"key": "tries", "value": {"arrayValue": {"values": [{"intValue": "1"}]}}},
            ]
        }
    }
    record = only_record(body_of({"body": body}))
    user, tries = record.body.kvlist_value.values
    assert (user.key, user.value.string_value) == ("user", "ada")
    assert tries.value.array_value.values[0].int_value == 1


def test_unknown_fields_are_ignored_at_every_level() -> None:
    record = {"body": {"stringValue": "kept"}, "futureField": {"a": 1}, "zzNew": "e"}
    tree = orjson.loads(body_of(record, somethingNew=[1, 2]))
    tree["resourceLogs"][0]["notYetDefined"] = True
    tree["resourceLogs"][0]["scopeLogs"][0]["scope"]["novelty"] = "x"
    assert only_record(orjson.dumps(tree)).body.string_value == "kept"


def test_several_resources_scopes_and_records_keep_their_order() -> None:
    tree = {
        "resourceLogs": [
            {
                "scopeLogs": [
                    {"logRecords": [{"body": {"stringValue": f"{r}{s}"}} for s in "12"]},
                    {"logRecords": [{"body": {"stringValue": f"{r}3"}}]},
                ]
            }
            for r in "ab"
        ]
    }
    request = parse_request(orjson.dumps(tree))
    bodies = [
        record.body.string_value
        for resource_logs in request.resource_logs
        for scope_logs in resource_logs.scope_logs
        for record in scope_logs.log_records
    ]
    assert bodies == ["a1", "a2", "a3", "b1", "b2", "b3"]


def test_an_empty_object_is_an_empty_request() -> None:
    assert len(parse_request(b"{}").resource_logs) == 0


@pytest.mark.parametrize("body", [b"", b"{", b"not json", b"\xff\xfe", b'{"resourceLogs": [}'])
def test_a_body_that_is_not_json_is_refused(body: bytes) -> None:
    with pytest.raises(OtlpJsonError, match=r"^not JSON: "):
        parse_request(body)


@pytest.mark.parametrize("body", [b"[]", b'"resourceLogs"', b"42", b"null"])
def test_a_body_that_is_not_an_object_is_refused(body: bytes) -> None:
    with pytest.raises(OtlpJsonError, match="must be a JSON object"):
        parse_request(body)


@pytest.mark.parametrize("key", ["traceId", "spanId", "trace_id", "span_id"])
def test_an_id_that_is_not_hex_is_refused_and_named(key: str) -> None:
    # Base64, as protobuf's own JSON mapping would write it, is not OTLP/JSON.
    with pytest.raises(OtlpJsonError, match=f"^{key} 'W47/95gDgQPSabYzgT/GDA==' is not hex$"):
        parse_request(body_of({key: "W47/95gDgQPSabYzgT/GDA=="}))


def test_a_very_long_bad_id_is_cut_in_the_message() -> None:
    with pytest.raises(OtlpJsonError) as refused:
        parse_request(body_of({"traceId": "z" * 10_000}))
    assert str(refused.value) == f"traceId {'z' * 40!r} is not hex"


@pytest.mark.parametrize(
    "tree",
    [
        {"resourceLogs": 3},  # not a list
        {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"timeUnixNano": "soon"}]}]}]},
        {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"intValue": "1.5"}}]}]}]},
    ],
)
def test_a_wrong_shape_or_value_is_refused_as_not_a_request(tree: dict[str, Any]) -> None:
    with pytest.raises(OtlpJsonError, match=r"^not an ExportLogsServiceRequest: "):
        parse_request(orjson.dumps(tree))


def test_the_error_is_a_value_error() -> None:
    # Callers that catch ValueError (bad input) catch it too.
    assert issubclass(OtlpJsonError, ValueError)


def test_dumps_writes_lower_camel_case_keys_and_int64_as_strings() -> None:
    response = ExportLogsServiceResponse()
    response.partial_success.rejected_log_records = 3
    response.partial_success.error_message = "too large"
    assert orjson.loads(dumps(response)) == {
        "partialSuccess": {"rejectedLogRecords": "3", "errorMessage": "too large"}
    }
    assert dumps(ExportLogsServiceResponse()) == b"{}"
    status = status_pb2.Status(code=14, message="the queue is full")
    assert orjson.loads(dumps(status)) == {"code": 14, "message": "the queue is full"}
