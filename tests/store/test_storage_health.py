"""The store's storage health: a SQLite file deleted, replaced or made unwritable under it is
refused (never written, never acknowledged, never made anew), /readyz names the reason, and
storage failures are said once, then once a minute with counts."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from gateway.errors import StorageUnavailable
from gateway.model import IncomingRow
from gateway.runtime.scheduler import Periodic
from gateway.store import FailureLog, StorageRefused, Store
from testkit.clock import FakeClock
from tests.builders import T0
from tests.conftest import PG_URL, require, small_filesystem

FILES = ("", "-wal", "-shm")
HEALTH_LOG = "logsieve.store"


def row(body: str = "x") -> IncomingRow:
    return (T0, 9, T0, body, b"record", 0)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'queue.db'}", pool_size=2)
    store.create_schema()
    store.enqueue([row()])
    yield store
    store.dispose()


def files(store: Store) -> list[str]:
    return [store.path + suffix for suffix in FILES]


def health_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == HEALTH_LOG]


def test_a_deleted_database_is_refused_after_the_commit_and_never_made_anew(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    for name in files(sqlite_store):
        os.unlink(name)
    for _ in range(20):  # each would have been acknowledged into the unlinked file
        with pytest.raises(StorageRefused):
            sqlite_store.enqueue([row()])
    problem = sqlite_store.storage_problem()
    assert problem is not None and "queue.db was deleted" in problem
    assert not os.path.exists(sqlite_store.path)  # no empty database in its place
    lines = health_lines(caplog)
    assert len(lines) == 1, lines  # one line, not one per request
    assert sqlite_store.path in lines[0] and "gone" in lines[0]


def test_a_commit_that_lands_in_a_file_deleted_meanwhile_is_not_acknowledged(
    sqlite_store: Store,
) -> None:
    # Deleted while the commit runs: the rows reach the unlinked file, and enqueue must raise
    # afterwards rather than return (returning is what acknowledges them).
    original = sqlite_store._insert_queue_rows

    def insert_then_lose_the_file(rows: Sequence[IncomingRow]) -> None:
        original(rows)
        for name in files(sqlite_store):
            os.unlink(name)

    sqlite_store._insert_queue_rows = insert_then_lose_the_file  # type: ignore[method-assign]
    sqlite_store._group._write = insert_then_lose_the_file  # type: ignore[union-attr]
    with pytest.raises(StorageRefused):
        sqlite_store.enqueue([row()])


def test_a_replaced_database_is_refused(sqlite_store: Store, tmp_path: Path) -> None:
    impostor = tmp_path / "other.db"
    shutil.copy(sqlite_store.path, impostor)
    os.replace(impostor, sqlite_store.path)
    with pytest.raises(StorageRefused, match="replaced by another file"):
        sqlite_store.queue_depth()
    assert "replaced" in (sqlite_store.storage_problem() or "")


def chattr(flag: str, *names: str) -> None:
    subprocess.run(["chattr", flag, *names], check=True, capture_output=True)


@pytest.fixture
def immutable_ok(tmp_path: Path) -> None:
    probe = tmp_path / "probe"
    probe.touch()
    try:
        chattr("+i", str(probe))
    except (OSError, subprocess.CalledProcessError):
        require(False, "chattr +i needs root and a filesystem that supports it")
    chattr("-i", str(probe))


@pytest.mark.usefixtures("immutable_ok")
def test_an_immutable_shm_is_refused_before_sqlite_touches_its_mapping(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    shm = sqlite_store.path + "-shm"
    chattr("+i", shm)  # a write into its mapping would now be SIGBUS: this process would die
    try:
        for _ in range(5):
            with pytest.raises(StorageRefused, match="cannot be written"):
                sqlite_store.enqueue([row()])
        assert "immutable" in (sqlite_store.storage_problem() or "")
    finally:
        chattr("-i", shm)
    sqlite_store.enqueue([row()])  # writable again: taken again, without a restart
    assert sqlite_store.queue_depth() == 2
    lines = health_lines(caplog)
    assert len(lines) == 2 and "cannot be written" in lines[0] and "again" in lines[1]


def test_a_follower_never_creates_a_database_deleted_under_its_leader(
    sqlite_store: Store,
) -> None:
    for name in files(sqlite_store):
        os.unlink(name)
    child = Store(f"sqlite:///{sqlite_store.path}", follower=True)  # a restarted child
    with pytest.raises(StorageUnavailable, match="deleted"):
        child.ping()
    child.dispose()
    assert not os.path.exists(sqlite_store.path)


def test_the_next_start_says_the_data_went_with_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    first = Store(url)
    first.create_schema()
    first.enqueue([row()])
    first.dispose()
    for suffix in FILES:
        Path(f"{tmp_path / 'queue.db'}{suffix}").unlink(missing_ok=True)
    second = Store(url)
    second.create_schema()  # starts anew, and says so
    assert second.queue_depth() == 0
    second.dispose()
    lines = health_lines(caplog)
    assert len(lines) == 1 and "what it held is gone" in lines[0]


def test_a_fresh_database_starts_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'new' / 'queue.db'}")
    store.create_schema()
    assert store.storage_problem() is None
    store.dispose()
    assert health_lines(caplog) == []


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with small_filesystem(tmp_path, "2m") as mount:
        yield mount


def fill(filler: Path) -> None:
    """Take every block the filesystem has left."""
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass  # ENOSPC: full
    finally:
        os.close(fd)


def test_a_full_disk_shows_in_readiness_until_a_write_works(small_disk: Path) -> None:
    store = Store(f"sqlite:///{small_disk / 'queue.db'}")
    store.create_schema()
    filler = small_disk / "filler"
    fill(filler)
    big = [row("x" * 2000)] * 500
    with pytest.raises(StorageUnavailable):
        for _ in range(20):
            store.enqueue(big)
    assert store.storage_problem() == "storage: disk full"
    filler.unlink()
    store.enqueue([row()])
    assert store.storage_problem() is None
    store.dispose()


def test_a_read_only_postgresql_is_refused_and_named_in_readiness() -> None:
    admin = create_engine(PG_URL.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = "test_storage_health_ro"
    try:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            conn.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:
        require(False, f"PostgreSQL not reachable at {PG_URL}: {exc}")
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    store = Store(url, pool_size=2)
    try:
        store.create_schema()
        store.enqueue([row()])
        assert store.storage_problem() is None
        with admin.connect() as conn:
            conn.execute(text(f"ALTER DATABASE {name} SET default_transaction_read_only = on"))
        store.dispose()  # new sessions take the database's setting
        with pytest.raises(StorageUnavailable):
            store.enqueue([row()])
        assert store.storage_problem() == "storage: the database is read-only (it refuses writes)"
    finally:
        store.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


# -- one line a minute ---------------------------------------------------------------------


def test_failures_are_said_once_then_once_a_minute_with_counts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(0)
    failures = FailureLog("run_batches", clock, logging.getLogger("test.failures"))
    full = StorageUnavailable("database or disk is full")
    for _ in range(120):  # one a second for two minutes, as a 1 s job would
        failures.failed(full)
        clock.advance(1)
    lines = [r.getMessage() for r in caplog.records if r.name == "test.failures"]
    assert len(lines) == 2, lines
    assert lines[0].startswith("run_batches failed: database or disk is full")
    assert "failed 60 times in the last minute (61 since it last worked)" in lines[1]
    failures.succeeded()
    failures.succeeded()
    lines = [r.getMessage() for r in caplog.records if r.name == "test.failures"]
    assert lines[2:] == ["run_batches works again after 120 failures"]
    assert all(r.exc_info is None for r in caplog.records)  # never a traceback


def test_a_failure_the_store_already_said_is_only_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(0)
    failures = FailureLog("enqueue", clock, logging.getLogger("test.failures"))
    for _ in range(10):
        failures.failed(StorageRefused("storage: /x/queue.db was deleted"))
    assert [r for r in caplog.records if r.name == "test.failures"] == []
    clock.advance(61)
    failures.failed(StorageRefused("storage: /x/queue.db was deleted"))
    lines = [r.getMessage() for r in caplog.records if r.name == "test.failures"]
    assert len(lines) == 1 and "failed 10 times in the last minute" in lines[0]


def test_a_periodic_job_failing_on_storage_logs_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(0)

    def job(_now: int) -> None:
        raise StorageUnavailable("database or disk is full")

    periodic = Periodic("run_batches", 1.0, job, clock)
    for _ in range(30):
        periodic.run_once()
        clock.advance(1)
    records = [r for r in caplog.records if r.name == "logsieve.scheduler"]
    assert len(records) == 1 and records[0].exc_info is None


def test_a_file_deleted_between_two_looks_is_said_deleted_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unlink races the check: stat finds the file, then it is gone for the next look."""
    from gateway.store import _health

    name = tmp_path / "q.db"
    name.write_bytes(b"")
    opened = _health._identity(str(name))
    monkeypatch.setattr(_health.os, "access", lambda *_: False)

    def gone(_: str) -> None:
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(_health.os, "statvfs", gone)
    problem = _health._problem((str(name), opened))
    assert problem == f"storage: {name} was deleted while the gateway ran"
