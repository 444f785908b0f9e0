"""The stream carries an entry's services and resource attributes (proto Entry fields 19-21),
and the service filter finds an aggregate by any of its services."""

from __future__ import annotations

import json

from google.protobuf import json_format
from logsieve.v1 import entry_pb2

from gateway.model import Entry, RecentEntry
from tests.viewer_rig import T0, Rig, bodies, make_entry, open_stream, recv
from viewer import stream
from viewer.feed import LiveFeed
from viewer.filters import StreamFilter

RESOURCE = {
    "service.name": "payments",
    "service.version": "1.4.2",
    "deployment.environment": "prod",
    "host.name": "web-3",
    "k8s.pod.name": "payments-7d9f",
    "process.pid": 42,
    "big": 2**60,
    "sampled": True,
    "ratio": 0.25,
}


def aggregate(body: str = "card declined") -> Entry:
    return make_entry(
        body,
        service="payments",
        count=14,
        services={"payments": 6, "checkout": 3, "auth": 1},
        services_other=4,
        resource=RESOURCE,
    )


def test_services_and_resource_reach_the_page_as_json() -> None:
    sent = json.loads(stream.entry_json(RecentEntry(7, aggregate(), T0)))
    assert sent["services"] == [
        {"name": "payments", "count": "6"},  # uint64: a string, as `count` is
        {"name": "checkout", "count": "3"},
        {"name": "auth", "count": "1"},
    ]
    assert sent["servicesOther"] == "4"
    assert sent["resource"] == {**RESOURCE, "big": str(2**60)}  # past 2**53: a string
    assert isinstance(sent["resource"]["process.pid"], int | float)


def test_the_new_fields_round_trip_through_proto3_json() -> None:
    message = stream.to_proto(RecentEntry(7, aggregate(), T0))
    parsed = json_format.Parse(
        stream.entry_json(RecentEntry(7, aggregate(), T0)), entry_pb2.Entry()
    )
    assert parsed == message
    assert [(s.name, s.count) for s in parsed.services] == [
        ("payments", 6),
        ("checkout", 3),
        ("auth", 1),
    ]
    assert parsed.services_other == 4
    assert json_format.MessageToDict(parsed.resource)["k8s.pod.name"] == "payments-7d9f"


def test_an_entry_without_counted_services_names_its_own() -> None:
    old = make_entry("stored before version 5", service="api", count=3)  # no services
    sent = json.loads(stream.entry_json(RecentEntry(1, old, T0)))
    assert sent["services"] == [{"name": "api", "count": "3"}]
    assert "servicesOther" not in sent and "resource" not in sent  # proto3 leaves out zeros


def test_the_service_filter_keeps_an_entry_by_any_of_its_services() -> None:
    recent = RecentEntry(1, aggregate(), T0)
    for name in ("payments", "checkout", "auth"):
        assert StreamFilter(service=name).keeps(recent)
    assert not StreamFilter(service="cart").keeps(recent)
    assert not StreamFilter(service="pay").keeps(recent)


def test_a_subscription_to_a_service_gets_the_aggregates_naming_it(rig: Rig) -> None:
    rig.add(aggregate("card declined"), make_entry("cart emptied", service="cart"))
    server = rig.serve()
    ws, backfill = open_stream(server, service="auth")
    assert bodies(backfill) == ["card declined"]
    (sent,) = backfill["entries"]["entries"]
    assert [s["name"] for s in sent["services"]] == ["payments", "checkout", "auth"]
    assert sent["resource"]["host.name"] == "web-3"
    rig.add(aggregate("card expired"), make_entry("auth alone", service="auth"))
    rig.feed.poll_once(rig.clock.now)
    assert bodies(recv(ws)) == ["card expired", "auth alone"]
    ws.close()


def test_the_page_s_service_list_names_the_services_of_aggregates(rig: Rig) -> None:
    feed = LiveFeed(rig.store, rig.clock, status_interval=3600)
    rig.add(make_entry("first", service="cart"))
    sub = feed.subscribe()
    rig.add(aggregate())
    feed.poll_once(rig.clock.now)
    assert feed.poll_status(rig.clock.now).services == ("auth", "cart", "checkout", "payments")
    feed.unsubscribe(sub)
    feed.shutdown()
