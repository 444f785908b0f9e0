"""`storage.schema` on real PostgreSQL: every table in the schema (made when missing), two
gateways in two schemas of one database never see each other's rows, and the migrations
run inside the schema."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gateway.cli import main as cli
from gateway.config.settings import parse_config
from gateway.otlp import rows_from_request
from gateway.runtime.app import Gateway, Overrides
from gateway.store import SCHEMA_VERSION, Store
from gateway.store._schema import metadata
from testkit.clock import FakeClock
from tests.builders import T0, Rec, request
from tests.conftest import PG_URL, reachable_postgresql
from tests.store.test_migrations import set_back_to

pytestmark = pytest.mark.postgres
LOGSIEVE_TABLES = sorted(metadata.tables)
_names = itertools.count()

OpenStore = Callable[[str], Store]


def tables_in(schema: str) -> list[str]:
    engine = create_engine(PG_URL)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                {"s": schema},
            )
            return sorted(row[0] for row in found)
    finally:
        engine.dispose()


def drop_schemas(names: list[str]) -> None:
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        for name in names:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
    engine.dispose()


@pytest.fixture
def schema_name() -> Iterator[Callable[[str], str]]:
    """Names for this test's schemas (this process's own), dropped afterwards."""
    names: list[str] = []

    def name(label: str) -> str:
        names.append(f"t{os.getpid()}_{next(_names)}_{label}")
        return names[-1]

    yield name
    drop_schemas(names)


@pytest.fixture
def postgresql() -> None:
    """Skip (in CI: fail) when the test database does not answer."""
    reachable_postgresql(pool_size=1).dispose()


@pytest.fixture
def open_store(postgresql: None, schema_name: Callable[[str], str]) -> Iterator[OpenStore]:
    """A Store on the test database in a new schema of its own, disposed afterwards."""
    opened: list[Store] = []

    def open_in(label: str) -> Store:
        store = Store(PG_URL, pool_size=2, schema=schema_name(label))
        opened.append(store)
        return store

    yield open_in
    for store in opened:
        store.dispose()


def enqueue(store: Store, bodies: list[str]) -> None:
    rows = rows_from_request(request([Rec(body) for body in bodies]), T0, store.origin_ids).rows
    store.enqueue(rows)


def test_two_stores_in_two_schemas_of_one_database_do_not_see_each_other(
    open_store: OpenStore,
) -> None:
    alpha, beta = open_store("alpha"), open_store("beta")
    assert alpha.schema_version() is None  # the schema is not there yet: nothing to see
    alpha.create_schema()
    beta.create_schema()
    enqueue(alpha, ["a0", "a1", "a2"])
    enqueue(beta, ["b0", "b1"])
    assert (alpha.queue_depth(), beta.queue_depth()) == (3, 2)
    claim = beta.claim_batch(1, 10**9, 10)
    assert [row[3] for row in claim.rows] == ["b0", "b1"]
    beta.release(claim)
    for store in (alpha, beta):  # every table, logsieve_schema too, in the store's schema
        assert tables_in(store._pg_schema) == LOGSIEVE_TABLES
    alpha.drop_all()
    assert beta.queue_depth() == 2 and beta.schema_version() == SCHEMA_VERSION


def test_a_store_in_a_schema_does_not_fall_back_to_public(open_store: OpenStore) -> None:
    public = Store(PG_URL, pool_size=1)
    try:
        public.create_schema()  # this database's public tables, whatever else is there
    finally:
        public.dispose()
    assert set(LOGSIEVE_TABLES) <= set(tables_in("public"))
    gamma = open_store("gamma")
    assert gamma.schema_version() is None  # public's logsieve_schema is not found
    gamma.create_schema()
    assert gamma.queue_depth() == 0


def config_file(tmp_path: Path, schema: str) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(f"storage: {{url: '{PG_URL}', schema: {schema}}}\n")
    return path


def test_logsieve_migrate_makes_the_schema_and_upgrades_inside_it(
    open_store: OpenStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh = open_store("fresh")
    assert cli.main(["migrate", "--config", str(config_file(tmp_path, fresh._pg_schema))]) == 0
    assert tables_in(fresh._pg_schema) == LOGSIEVE_TABLES
    assert fresh.schema_version() == SCHEMA_VERSION

    old = open_store("old")
    old.create_schema()
    enqueue(old, [f"r{i}" for i in range(5)])
    inside = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={old._pg_schema}"})
    set_back_to(inside.render_as_string(hide_password=False), 1)  # as version 1 left it
    assert old.schema_version() == 1
    capsys.readouterr()
    assert cli.main(["migrate", "--config", str(config_file(tmp_path, old._pg_schema))]) == 0
    assert f"from version 1 to {SCHEMA_VERSION}" in capsys.readouterr().out
    assert old.schema_version() == SCHEMA_VERSION
    assert tables_in(old._pg_schema) == LOGSIEVE_TABLES  # the steps' tables, in the schema
    assert old.queue_depth() == 5


def test_a_schema_is_refused_for_sqlite_and_unsafe_names_everywhere(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PostgreSQL only"):
        Store(f"sqlite:///{tmp_path / 'x.db'}", schema="alpha")
    for name in ("Alpha", "a b", "a;drop", "pg_x", "1a"):
        with pytest.raises(ValueError, match=r"schema name|PostgreSQL's own"):
            Store(PG_URL, schema=name)


def gateway_in(schema: str) -> Gateway:
    config = parse_config(
        {
            "receivers": {
                "otlp": {"grpc": {"endpoint": "127.0.0.1:0"}, "http": {"enabled": False}}
            },
            "storage": {"url": PG_URL, "schema": schema},
            "telemetry": {"metrics": {"enabled": False}},
            "viewer": {"endpoint": "127.0.0.1:0", "own_process": False},
            "batch": {"own_process": False},
        },
        env={},
    )
    return Gateway(config, Overrides(clock=FakeClock(), run_jobs=False))


def export(gateway: Gateway, bodies: list[str]) -> None:
    with grpc.insecure_channel(gateway.receiver.address) as channel:
        LogsServiceStub(channel).Export(request([Rec(body) for body in bodies]), timeout=10)


@pytest.mark.usefixtures("postgresql")
def test_two_gateways_in_two_schemas_keep_their_records_apart(
    schema_name: Callable[[str], str],
) -> None:
    first, second = gateway_in(schema_name("first")), gateway_in(schema_name("second"))
    first.start()
    second.start()
    try:
        export(first, ["to the first"] * 3)
        export(second, ["to the second"] * 2)
        assert (first.store.queue_depth(), second.store.queue_depth()) == (3, 2)
        assert first.batch.run_batches(first.clock.now_ns()).claimed == 3
        now = first.clock.now_ns()
        (entry,) = first.viewer_store.recent_newest(now, 10)  # the viewer's own store too
        assert (entry.entry.body, entry.entry.count) == ("to the first", 3)
        assert second.viewer_store.recent_newest(now, 10) == []
        assert second.store.queue_depth() == 2
    finally:
        first.shutdown()
        second.shutdown()
