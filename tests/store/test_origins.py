"""Origins (resource + scope) in bulk: a request of thousands of distinct resources costs one
transaction and a few statements, not one transaction per resource; ids are right and stable."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from sqlalchemy import event
from sqlalchemy.engine import Engine

from gateway.errors import StorageError
from gateway.otlp import Origin, rows_from_request
from gateway.receivers.ingest import Ingest, Verdict
from gateway.store import Store
from testkit.clock import FakeClock
from tests.builders import T0
from tests.conftest import PG_URL, require

S = 1_000_000_000


def distinct_resources(count: int, tag: str = "pod") -> ExportLogsServiceRequest:
    """`count` ResourceLogs, each its own service with one record whose body names it."""
    request = ExportLogsServiceRequest()
    for i in range(count):
        resource_logs = request.resource_logs.add()
        name = AnyValue(string_value=f"{tag}-{i}")
        resource_logs.resource.attributes.append(KeyValue(key="service.name", value=name))
        record = resource_logs.scope_logs.add().log_records.add()
        record.body.string_value = f"{tag}-{i}"
    return request


@pytest.fixture
def work() -> Iterator[collections.Counter[str]]:
    """Transactions committed and statements run on log_origin, by every engine meanwhile."""
    counted: collections.Counter[str] = collections.Counter()

    def on_commit(_conn: Any) -> None:
        counted["commits"] += 1

    def on_statement(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        if "log_origin" in sql:
            counted["origin statements"] += 1

    event.listen(Engine, "commit", on_commit)
    event.listen(Engine, "before_cursor_execute", on_statement)
    yield counted
    event.remove(Engine, "commit", on_commit)
    event.remove(Engine, "before_cursor_execute", on_statement)


def export(store: Store, request: ExportLogsServiceRequest) -> None:
    outcome = Ingest(store, FakeClock(T0)).for_receiver("grpc").enqueue(request, request.ByteSize())
    assert outcome.verdict is Verdict.ACCEPTED


@pytest.mark.parametrize("count", [2_000, 20_000])
def test_distinct_resources_cost_two_transactions_however_many(
    store: Store, work: collections.Counter[str], count: int
) -> None:
    export(store, distinct_resources(count))
    # One for the origins, one for the queue rows (it was one per origin plus one).
    assert work["commits"] == 2
    # A few chunked statements (SQLite) or two array statements (PostgreSQL), not 2 x count.
    assert work["origin statements"] <= count / 200
    assert store.queue_depth() == count


def test_each_row_gets_its_own_resources_origin(store: Store) -> None:
    export(store, distinct_resources(3_000))
    claim = store.claim_batch(1, 60 * S, limit=3_000)
    assert len(claim.rows) == 3_000
    assert len(claim.origins) == 3_000
    for row in claim.rows:
        body, origin_id = row[3], row[4]
        assert Origin(claim.origins[origin_id]).service == body


@pytest.fixture(params=["sqlite", "postgresql"])
def two_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Two stores on one database, as two gateways sharing it: neither sees the other's cache."""
    url = f"sqlite:///{tmp_path / 'logsieve.db'}" if request.param == "sqlite" else PG_URL
    first, second = Store(url, pool_size=2), Store(url, pool_size=2)
    try:
        first.ping()
    except StorageError as exc:
        require(False, f"PostgreSQL not reachable at {PG_URL}: {exc}")
    first.drop_all()
    first.create_schema()
    yield first, second
    first.drop_all()
    first.dispose()
    second.dispose()


def test_known_origins_are_cached_and_found_by_another_store(
    two_stores: tuple[Store, Store], work: collections.Counter[str]
) -> None:
    store, other = two_stores
    origins = origins_of(distinct_resources(1_500))
    first = store.origin_ids(origins)
    assert len(set(first)) == 1_500
    work.clear()
    assert store.origin_ids(origins) == first
    assert work["origin statements"] == 0  # cached: no database work
    mixed = [origins[3], origins_of(distinct_resources(1, "new"))[0], origins[3], origins[7]]
    ids = other.origin_ids(mixed)
    assert ids[0] == ids[2] == first[3] and ids[3] == first[7]
    assert ids[1] not in first


def test_scopes_without_records_ask_for_no_origin() -> None:
    request = distinct_resources(2)
    request.resource_logs[0].scope_logs.add().scope.name = "empty"
    request.resource_logs.add().resource.attributes.append(
        KeyValue(key="service.name", value=AnyValue(string_value="nothing to say"))
    )
    asked = origins_of(request)
    assert sorted(Origin(origin).service for origin in asked) == ["pod-0", "pod-1"]


def test_a_request_without_records_asks_for_nothing() -> None:
    assert origins_of(ExportLogsServiceRequest()) == []


def origins_of(request: ExportLogsServiceRequest) -> list[bytes]:
    """The origins the receiver's conversion asks the store for, in one call (or none)."""
    calls: list[list[bytes]] = []

    def origin_ids(origins: list[bytes]) -> list[int]:
        calls.append(origins)
        return list(range(1, len(origins) + 1))

    rows_from_request(request, T0, origin_ids)
    assert len(calls) <= 1
    return calls[0] if calls else []
