"""field_values: an entry's values for a field name, as every filter reads them."""

from __future__ import annotations

from gateway.model import Entry, PatternRef
from viewer.fields import field_values


def _entry(**fields: object) -> Entry:
    values: dict[str, object] = {
        "body": "boom",
        "severity_number": 17,
        "severity": "ERROR",
        "service": "payments",
        "count": 10,
        "first_seen": 1,
        "last_seen": 2,
    }
    return Entry(**(values | fields))  # type: ignore[arg-type]


def test_service_is_the_entry_s_and_each_of_its_services() -> None:
    entry = _entry(services={"payments": 6, "checkout": 3, "auth": 1})
    assert field_values(entry, "service") == ["payments", "checkout", "auth"]
    assert field_values(entry, "service.name") == ["payments", "checkout", "auth"]


def test_resource_attributes_by_their_dotted_key() -> None:
    entry = _entry(resource={"host.name": "web-3", "service.version": "1.2", "pid": 42})
    assert field_values(entry, "host.name") == ["web-3"]
    assert field_values(entry, "pid") == ["42"]
    assert field_values(entry, "k8s.pod.name") == []


def test_record_attributes_are_looked_up_flat() -> None:
    attributes = {
        "http": {"status_code": 503, "method": "GET", "route": {"_value": "/x", "id": 7}},
        "ok": True,
        "ratio": 0.25,
        "tags": ["a", "b"],
        "map": {"k.with.dots": "v"},
    }
    entry = _entry(attributes=attributes)
    assert field_values(entry, "http.status_code") == ["503"]
    assert field_values(entry, "http.route") == ["/x"]
    assert field_values(entry, "http.route.id") == ["7"]
    assert field_values(entry, "ok") == ["true"]
    assert field_values(entry, "ratio") == ["0.25"]
    assert field_values(entry, "tags") == ["a", "b"]
    assert field_values(entry, "map.k.with.dots") == ["v"]
    assert field_values(entry, "http") == []  # a prefix, not a value


def test_own_fields() -> None:
    entry = _entry(pattern=PatternRef(0xAB, "boom <*>"), trace_id="0af7", scope="app")
    assert field_values(entry, "pattern") == ["00000000000000ab"]
    assert field_values(entry, "severity") == ["ERROR"]
    assert field_values(entry, "trace_id") == ["0af7"]
    assert field_values(entry, "span_id") == []
    assert field_values(entry, "scope") == ["app"]


def test_a_value_found_twice_is_given_once() -> None:
    entry = _entry(resource={"region": "eu"}, attributes={"region": "eu"})
    assert field_values(entry, "region") == ["eu"]
