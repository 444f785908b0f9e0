"""Dedupe: identical records collapse into one entry with exact counts and time range."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue, KeyValueList

from gateway.model import ClaimedRow, Entry
from gateway.pipeline.dedupe import DEFAULT_KEYS, add_details, dedupe
from tests.builders import T0, Rec, origins, queued, record_of


def run(rows: list[ClaimedRow], keys: Sequence[str] = DEFAULT_KEYS) -> list[Entry]:
    return dedupe(rows, origins(), keys)


def test_identical_records_collapse_with_count_and_time_range() -> None:
    rows = queued([Rec("Error: Failed to connect", 17, time=T0 + i) for i in range(100)])
    (entry,) = run(rows)
    assert (entry.body, entry.severity, entry.count) == ("Error: Failed to connect", "ERROR", 100)
    assert (entry.first_seen, entry.last_seen) == (T0, T0 + 99)
    assert entry.service == "checkout" and entry.scope == "app"


def test_key_is_body_and_severity_band_in_order_of_first_appearance() -> None:
    rows = queued([Rec("a", 9), Rec("b", 9), Rec("a", 17), Rec("a", 10), Rec("b", 9)])
    entries = run(rows)
    assert [(e.body, e.severity, e.count) for e in entries] == [
        ("a", "INFO", 2),  # 9 and 10 are both INFO
        ("b", "INFO", 2),
        ("a", "ERROR", 1),
    ]


def test_service_name_key_keeps_services_apart() -> None:
    rows = queued([Rec("x")], service="a") + queued([Rec("x")], service="b", first_id=2)
    assert len(run(rows)) == 1
    assert [e.service for e in run(rows, ("body", "severity", "service.name"))] == ["a", "b"]


def test_first_record_gives_attributes_nested_on_dots_and_ids_in_hex() -> None:
    first = Rec(
        "x",
        attributes={"http.method": "GET", "http.status": 500, "user": "u1"},
        trace_id=b"\x0a" * 16,
        span_id=b"\x0b" * 8,
    )
    (entry,) = run(queued([first, Rec("x", attributes={"user": "u2"})]))
    assert entry.attributes == {}  # details wait until the entry is kept
    add_details(entry, record_of(entry))
    assert entry.attributes == {"http": {"method": "GET", "status": 500}, "user": "u1"}
    assert entry.trace_id == "0a" * 16 and entry.span_id == "0b" * 8


def test_leaf_and_prefix_of_the_same_key_both_survive() -> None:
    (entry,) = run(queued([Rec("x", attributes={"a": 1, "a.b": 2})]))
    add_details(entry, record_of(entry))
    assert entry.attributes == {"a": {"_value": 1, "b": 2}}


def test_severity_zero_takes_its_band_from_text() -> None:
    entries = run(
        queued([Rec("w", 0, "warning"), Rec("e", 0, "ERROR"), Rec("u", 0, "loud"), Rec("n", 0)])
    )
    assert [(e.severity, e.severity_number) for e in entries] == [
        ("WARN", 13),
        ("ERROR", 17),
        ("UNSPECIFIED", 0),
        ("UNSPECIFIED", 0),
    ]


def test_non_string_bodies_render_as_json_and_missing_time_uses_receive_time() -> None:
    kv = AnyValue(
        kvlist_value=KeyValueList(values=[KeyValue(key="k", value=AnyValue(int_value=1))])
    )
    entries = run(queued([Rec(kv, time=0), Rec(AnyValue(), time=0)]))
    assert [e.body for e in entries] == ['{"k":1}', ""]
    assert entries[0].first_seen == T0  # builders' received_at


def test_out_of_range_severity_is_unspecified_not_a_crash() -> None:
    (entry,) = run(queued([Rec("x", 255)]))
    assert entry.severity == "UNSPECIFIED"


def test_a_new_entry_holds_each_field_where_entry_names_it() -> None:
    # dedupe builds entries with positional arguments (for speed): a field added to Entry
    # in another place must not shift the values into the wrong fields.
    rows = queued([Rec("x", 13, time=T0 + 5)], service="api", resource={"host.name": "h"})
    (entry,) = run(rows)
    expected = Entry(
        body="x",
        severity_number=13,
        severity="WARN",
        service="api",
        count=1,
        first_seen=T0 + 5,
        last_seen=T0 + 5,
        scope="app",
        services={"api": 1},
        resource={"service.name": "api", "host.name": "h"},
    )
    assert entry == expected
    assert (entry.attributes, entry.sample_rate, entry.pattern, entry.services_other) == (
        {},
        1.0,
        None,
        0,
    )
    assert (entry.trace_id, entry.span_id, entry.first_id) == ("", "", rows[0][0])
