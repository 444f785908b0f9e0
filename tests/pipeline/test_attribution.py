"""Attribution: an entry keeps its services with exact counts, and its first record's
resource attributes, whatever its dedupe key."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.config.settings import parse_config
from gateway.export.logflare import event_json
from gateway.model import MAX_ENTRY_SERVICES, ClaimedRow, Entry
from gateway.otlp import rows_from_request
from gateway.pipeline.batch import BatchSettings, BatchStage, Outbound
from gateway.pipeline.dedupe import MAX_SERVICE_CHARS, bound_services, dedupe
from gateway.pipeline.grouping import Grouping, Rule
from gateway.pipeline.sampling import SamplingPolicy
from gateway.store import Store
from tests.builders import T0, Rec, origins, queued, request
from tests.pipeline.test_grouping import DigitMatcher


def interleaved(records: Sequence[tuple[str, int, str]]) -> list[ClaimedRow]:
    """One row per (body, severity number, service), in this order: each its own request,
    so the origins change from one record to the next."""
    rows: list[ClaimedRow] = []
    for i, (body, number, service) in enumerate(records):
        rows += queued([Rec(body, number, time=T0 + i)], service=service, first_id=i + 1)
    return rows


def run(rows: list[ClaimedRow], grouping: Grouping | Sequence[str]) -> list[Entry]:
    return dedupe(rows, origins(), grouping, DigitMatcher(), top_values=2)


def test_ten_identical_errors_from_three_services_name_all_three() -> None:
    services = ["payments"] * 2 + ["checkout", "auth"] + ["checkout"] * 3 + ["auth", "payments"]
    services.append("checkout")
    rows = interleaved([("card declined", 17, service) for service in services])
    (entry,) = run(rows, ("body", "severity"))
    assert entry.count == 10 and entry.service == "payments"  # the first record's
    assert entry.services == {"checkout": 5, "payments": 3, "auth": 2}  # most first
    assert list(entry.services) == ["checkout", "payments", "auth"]
    assert entry.services_other == 0


def test_runs_of_one_origin_are_counted_whole() -> None:
    rows = queued([Rec("x")] * 4, service="a")
    rows += queued([Rec("x")] * 3, service="b", first_id=5)
    rows += queued([Rec("x")] * 2, service="a", first_id=8)
    (entry,) = run(rows, ("body",))
    assert entry.services == {"a": 6, "b": 3} and entry.count == 9


def test_with_the_service_as_a_key_each_entry_has_one_service() -> None:
    rows = interleaved([("x", 9, "a"), ("x", 9, "b"), ("x", 9, "a")])
    entries = run(rows, ("body", "severity", "service.name"))
    assert [(e.service, e.services) for e in entries] == [("a", {"a": 2}), ("b", {"b": 1})]


def test_entries_regrouped_by_pattern_add_up_their_services() -> None:
    rows = interleaved([("took 5 ms", 9, "a"), ("took 7 ms", 9, "b"), ("took 5 ms", 9, "b")])
    (entry,) = run(rows, ("pattern", "severity"))
    assert entry.count == 3 and entry.services == {"b": 2, "a": 1}


def test_resource_attributes_are_the_first_record_s_flat_and_typed() -> None:
    first = {"service.version": "1.4.2", "host.name": "web-3", "k8s.pod.name": "p-1", "n": 2}
    rows = queued([Rec("x")], service="api", resource=first)
    rows += queued([Rec("x")], service="api", first_id=2, resource={"host.name": "web-4"})
    (entry,) = run(rows, ("body",))
    assert entry.resource == {"service.name": "api", **first}
    assert entry.services == {"api": 2}


def test_services_past_the_bound_are_counted_together() -> None:
    names = [f"svc-{i:02}" for i in range(MAX_ENTRY_SERVICES + 5)]
    rows = interleaved([("x", 9, name) for i, name in enumerate(names) for _ in range(i + 1)])
    (entry,) = run(rows, ("body",))
    kept = names[::-1][:MAX_ENTRY_SERVICES]  # the later names have more records
    assert list(entry.services) == kept
    assert entry.services_other == sum(range(1, 6))
    assert sum(entry.services.values()) + entry.services_other == entry.count


def test_long_service_names_are_cut_and_counted_together() -> None:
    entry = Entry("x", 9, "INFO", "a", 3, T0, T0, services={"a" * 2000: 1, "a" * 3000: 2})
    bound_services(entry)
    assert entry.services == {"a" * MAX_SERVICE_CHARS: 3}


SERVICES = st.sampled_from(["a", "b", "c", "d", ""])
RECORDS = st.lists(
    st.tuples(st.sampled_from(["x", "y 1", "y 2"]), st.sampled_from([5, 9, 17]), SERVICES),
    max_size=50,
)
GROUPINGS = st.sampled_from(
    [
        Grouping(("body", "severity")),
        Grouping(("body",)),
        Grouping(("pattern", "severity")),
        Grouping(("severity",)),
        Grouping(("body", "severity", "service.name")),
        Grouping(("pattern",), (Rule(("body",), "ERROR"),)),
        Grouping(("pattern",), (Rule(("body",), service="a"),)),
    ]
)


@settings(max_examples=300, deadline=None)
@given(records=RECORDS, grouping=GROUPINGS)
def test_services_count_every_record_exactly_once(
    records: list[tuple[str, int, str]], grouping: Grouping
) -> None:
    entries = run(interleaved(records), grouping)
    for entry in entries:
        assert sum(entry.services.values()) + entry.services_other == entry.count
        assert entry.service in entry.services  # the first record's is one of them
    per_service: Counter[str] = Counter()
    for entry in entries:
        per_service.update(entry.services)
    assert per_service == Counter(service for _, _, service in records)


def test_through_the_batch_stage_to_the_table_and_the_outbox(store: Store) -> None:
    """The issue's case: 10 identical ERRORs from three services, each with its resource."""
    sent = [("payments", 4), ("checkout", 3), ("auth", 3), ("checkout", 0)]
    for i, (service, n) in enumerate(sent):
        resource = {"host.name": f"web-{i}", "deployment.environment": "prod", "pod.n": i}
        records = [Rec("card declined", 17, time=T0 + i)] * n
        if records:
            store.enqueue(
                rows_from_request(
                    request(records, service, resource=resource), T0, store.origin_ids
                ).rows
            )
    report = batch_stage(store).run_once(T0)
    assert (report.claimed, report.kept) == (10, 1)
    (recent,) = store.recent_newest(T0, 10)
    assert recent.entry.count == 10 and recent.entry.service == "payments"
    assert recent.entry.services == {"payments": 4, "checkout": 3, "auth": 3}
    assert recent.entry.resource == {
        "service.name": "payments",
        "host.name": "web-0",
        "deployment.environment": "prod",
        "pod.n": 0,
    }
    ((_, text),) = store.outbox_peek("logflare", 10)
    metadata = json.loads(text)["metadata"]
    assert metadata["services"] == [
        {"name": "payments", "count": 4},
        {"name": "checkout", "count": 3},
        {"name": "auth", "count": 3},
    ]
    assert metadata["resource"]["host"] == {"name": "web-0"}


def batch_stage(store: Store) -> BatchStage:
    config = parse_config({}, env={})
    policy = SamplingPolicy.from_config(config.batch.sampling)
    settings = BatchSettings(grouping=Grouping(("body", "severity")))
    return BatchStage(store, policy, settings, outbound=[Outbound("logflare", event_json)])
