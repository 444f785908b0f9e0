"""The OTLP exporter's records and requests, against the fake OTLP backend over gRPC and HTTP:
what arrives is the entry, with the Collector's logdedup attributes and logsieve's own."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator

import pytest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs

from gateway.export.otlp_record import encode, flat, request_for, rfc3339
from gateway.export.outcome import OutcomeKind
from gateway.model import Entry
from testkit.otlp import FakeOtlp, Fault
from tests.export.otlp_kit import KEY, PROTOCOLS, SPAN, T0, TRACE, entry, exporter, pattern_entry


@pytest.fixture
def fake() -> Iterator[FakeOtlp]:
    with FakeOtlp(required_headers={"x-api-key": KEY}) as server:
        yield server


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_entry_arrives_as_one_record_with_the_collectors_names(
    fake: FakeOtlp, protocol: str
) -> None:
    kept = entry(
        "GET /cart 500",
        count=41,
        first_seen=T0 + 1_500_000_000,
        last_seen=T0 + 61_000_000_000,
        attributes={"http": {"method": "GET", "status_code": 500}, "retry": True},
        trace_id=TRACE,
        span_id=SPAN,
    )
    sender = exporter(fake, protocol, headers={"x-api-key": KEY})
    outcome = sender.export([sender.encode(kept, T0 + 99)])

    assert outcome.kind is OutcomeKind.OK and outcome.rejected == 0
    (got,) = fake.records
    assert got.body == "GET /cart 500" and got.scope == "app"
    assert got.resource == {"service.name": "checkout", "host.name": "web-1"}
    record = got.record
    assert (record.severity_number, record.severity_text) == (17, "ERROR")
    assert (record.time_unix_nano, record.observed_time_unix_nano) == (T0 + 1_500_000_000, T0 + 99)
    assert (record.trace_id.hex(), record.span_id.hex()) == (TRACE, SPAN)
    assert got.attributes == {
        "http.method": "GET",
        "http.status_code": 500,
        "retry": True,
        "log_count": 41,
        "first_observed_timestamp": "2026-01-01T00:00:01Z",
        "last_observed_timestamp": "2026-01-01T00:01:01Z",
    }
    kinds = got.attribute_kinds
    assert kinds["log_count"] == "int_value"  # the Collector's types, not text
    assert kinds["first_observed_timestamp"] == kinds["last_observed_timestamp"] == "string_value"
    assert fake.violations == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_pattern_entry_carries_its_pattern_and_sample_rate(fake: FakeOtlp, protocol: str) -> None:
    sender = exporter(fake, protocol, headers={"x-api-key": KEY})
    assert sender.export([sender.encode(pattern_entry(), T0)]).ok
    (got,) = fake.records
    attributes = got.attributes
    assert attributes["logsieve.pattern.id"] == "000000001234abcd"
    assert attributes["logsieve.pattern.template"] == "Invalid user <*> from <IP>"
    assert attributes["logsieve.pattern.variables"] == [
        {
            "top": [{"value": "admin", "count": 3}, {"value": "root", "count": 2}],
            "other": 1,
            "distinct": 3,
        }
    ]
    assert attributes["logsieve.sample_rate"] == 0.25
    assert got.attribute_kinds["logsieve.sample_rate"] == "double_value"
    assert attributes["log_count"] == 6


def test_unsampled_entries_carry_no_sample_rate_nor_pattern() -> None:
    record = _record(entry())
    names = [kv.key for kv in record.attributes]
    assert names == ["log_count", "first_observed_timestamp", "last_observed_timestamp"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_records_are_grouped_by_resource_then_scope(fake: FakeOtlp, protocol: str) -> None:
    web = {"service.name": "web", "host.name": "a"}
    api = {"service.name": "api", "host.name": "b"}
    kept = [
        entry("1", resource=web),
        entry("2", resource=api),
        entry("3", resource=web, scope="db"),
        entry("4", resource=web),
        entry("5", resource=api),
    ]
    sender = exporter(fake, protocol, headers={"x-api-key": KEY})
    assert sender.export([sender.encode(e, T0) for e in kept]).ok
    (request,) = fake.requests
    assert (request.records, request.resource_groups) == (5, 2)
    by_group = [(r.resource["service.name"], r.scope, r.body) for r in fake.records]
    assert by_group == [
        ("web", "app", "1"),
        ("web", "app", "4"),
        ("web", "db", "3"),
        ("api", "app", "2"),
        ("api", "app", "5"),
    ]


def test_the_stored_text_is_a_resource_logs_holding_one_record() -> None:
    text = encode(entry(count=3), T0)
    one = ResourceLogs.FromString(base64.b64decode(text))
    assert len(one.scope_logs) == 1 and len(one.scope_logs[0].log_records) == 1
    body, count = request_for([text, text])
    assert count == 2 and len(body) > len(base64.b64decode(text))


def test_an_entry_without_a_resource_names_its_service() -> None:
    resource = _decoded(entry(resource={})).resource.attributes
    assert [(kv.key, kv.value.string_value) for kv in resource] == [("service.name", "checkout")]


def test_services_of_an_entry_holding_several() -> None:
    several = entry(count=10, services={"web": 6, "api": 3}, services_other=1)
    attributes = {
        kv.key: kv.value for kv in _decoded(several).scope_logs[0].log_records[0].attributes
    }
    services = {
        kv.key: kv.value.int_value for kv in attributes["logsieve.services"].kvlist_value.values
    }
    assert services == {"web": 6, "api": 3}
    assert attributes["logsieve.services_other"].int_value == 1
    one = entry(services={"checkout": 1})
    assert "logsieve.services" not in [kv.key for kv in _record(one).attributes]


def test_the_records_own_attribute_of_a_logsieve_name_gives_way() -> None:
    clashing = entry(count=5, attributes={"log_count": "mine", "a": {"_value": 1, "b": 2}})
    record = _record(clashing)
    pairs = [(kv.key, kv.value.WhichOneof("value")) for kv in record.attributes]
    assert pairs[:2] == [("a", "int_value"), ("a.b", "int_value")]
    assert [key for key, _ in pairs].count("log_count") == 1
    assert record.attributes[2].value.int_value == 5


def test_values_of_every_kind_survive() -> None:
    nested = {"list": [1, "two", None, {"k": 2.5}], "big": 2**70, "empty": {}, "none": None}
    assert dict(flat(nested)) == nested  # an empty map stays a value, not a prefix
    record = _record(entry(attributes=nested))
    kinds = {kv.key: kv.value.WhichOneof("value") for kv in record.attributes}
    assert kinds["list"] == "array_value" and kinds["empty"] == "kvlist_value"
    assert kinds["big"] == "string_value" and kinds["none"] is None  # past int64: its text


def test_bad_ids_are_left_out_and_times_are_never_0() -> None:
    log = _record(entry(trace_id="zz", span_id="00" * 8, first_seen=0, last_seen=0))
    assert (log.trace_id, log.span_id) == (b"", b"")
    assert log.time_unix_nano == T0 + 7 and log.observed_time_unix_nano == T0 + 7


def test_rfc3339_is_gos_utc_second() -> None:
    assert rfc3339(T0 + 999_999_999) == "2026-01-01T00:00:00Z"
    assert rfc3339(0) == "1970-01-01T00:00:00Z"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_header_values_never_show(
    fake: FakeOtlp, protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    sender = exporter(fake, protocol, headers={"X-Api-Key": KEY})
    assert KEY not in repr(sender) and "'x-api-key': '***'" in repr(sender)
    with caplog.at_level(logging.DEBUG):
        assert sender.export([sender.encode(entry(), T0)]).ok
    assert KEY not in caplog.text
    (request,) = fake.requests
    assert request.headers["x-api-key"] == "***"  # it was sent (the fake masks what it keeps)


def _decoded(kept: Entry) -> ResourceLogs:
    return ResourceLogs.FromString(base64.b64decode(encode(kept, T0 + 7)))


def _record(kept: Entry) -> LogRecord:
    record: LogRecord = _decoded(kept).scope_logs[0].log_records[0]
    return record


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_answer_echoing_a_header_value_is_masked(fake: FakeOtlp, protocol: str) -> None:
    fake.fail_next(Fault.invalid(f"unknown key {KEY} for this tenant"))
    outcome = exporter(fake, protocol, headers={"x-api-key": KEY}).export([encode(entry(), T0)])
    assert outcome.kind is OutcomeKind.REFUSED
    assert KEY not in outcome.detail and "unknown key *** for this tenant" in outcome.detail


def test_a_stored_text_that_is_no_record_is_refused_for_the_outbox_to_isolate(
    fake: FakeOtlp,
) -> None:
    outcome = exporter(fake, "http").export([encode(entry(), T0), "not a record!"])
    assert outcome.kind is OutcomeKind.REFUSED
    assert outcome.detail == "a stored text is not base64, so no OTLP record"
    assert fake.requests == []
