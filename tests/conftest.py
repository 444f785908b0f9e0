"""Shared fixtures: databases (SQLite always; PostgreSQL when reachable, and always in CI)."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

# Imported before any test runs `logsieve run` in this process, which would otherwise switch
# prometheus-client to multiprocess mode for the rest of the session
# (supervisor.prepare_shared_metrics).
import prometheus_client  # noqa: F401
import psycopg
import pytest
from sqlalchemy.engine import make_url

from gateway.store import Store
from testkit.logflare import FakeLogflare
from tests.harness import GatewayProcess

pytest_plugins = [
    "tests.logflare_fixtures",  # the fake Logflare's fixtures: fake, client
    "tests.viewer_rig",  # a viewer whose feed a test drives by hand: rig
]

BASE_PG_URL = os.environ.get(
    "LOGSIEVE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1... under pytest-xdist


def worker_url(base: str, worker: str) -> str:
    """A database of each xdist worker's own (test_gw0, test_gw1): tests empty theirs with
    drop_all(), which on a shared one would pull the tables from under the other worker."""
    if not worker:
        return base
    url = make_url(base)
    return url.set(database=f"{url.database}_{worker}").render_as_string(hide_password=False)


PG_URL = worker_url(BASE_PG_URL, WORKER)
IN_CI = os.environ.get("CI", "").lower() == "true"


def ensure_database(url: str) -> str | None:
    """Create the database `url` names when missing; None once it exists, else why the server
    could not be reached."""
    base = make_url(BASE_PG_URL).set(drivername="postgresql")
    name = make_url(url).database
    try:
        with psycopg.connect(
            base.render_as_string(hide_password=False), autocommit=True, connect_timeout=5
        ) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
    except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
        pass  # another session made it meanwhile
    except psycopg.OperationalError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session", autouse=True)
def worker_database() -> None:
    """Create this worker's database when missing; an unreachable server is left for the
    PostgreSQL tests to skip (or, in CI, fail) on."""
    if PG_URL != BASE_PG_URL:
        ensure_database(PG_URL)


def require(condition: bool, reason: str) -> None:
    """Skip a test whose service is missing on a laptop; fail it in CI, where it must run."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this test must run)")
    pytest.skip(reason)


def reachable_postgresql(pool_size: int = 4) -> Store:
    """A Store on the test database; skip (in CI: fail) when it does not answer."""
    store = Store(PG_URL, pool_size=pool_size)
    try:
        store.ping()
    except Exception as exc:
        store.dispose()
        require(False, f"PostgreSQL not reachable at {PG_URL}: {exc}")
    return store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store on each backend."""
    if request.param == "sqlite":
        created = Store(f"sqlite:///{tmp_path / 'logsieve.db'}", pool_size=4)
    else:
        created = reachable_postgresql()
        created.drop_all()
    created.create_schema()
    yield created
    if request.param == "postgresql":
        created.drop_all()
    created.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'logsieve.db'}"


FIGURE = "figure"  # a user property: one line `report` prints


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Print a test's figures to the terminal even while pytest captures output. They travel
    with the test's report, so that an xdist worker's (whose own output goes nowhere) reach the
    terminal too: Figures prints them."""

    def emit(line: str) -> None:
        request.node.user_properties.append((FIGURE, line))

    return emit


class Figures:
    """Prints the figures of each test as its last report (teardown's) arrives."""

    def __init__(self, terminal: pytest.TerminalReporter) -> None:
        self.terminal = terminal

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "teardown":
            return
        for key, line in report.user_properties:
            if key == FIGURE:
                self.terminal.write_line(line)


@pytest.hookimpl(trylast=True)  # after the terminal reporter is registered
def pytest_configure(config: pytest.Config) -> None:
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None and not hasattr(config, "workerinput"):  # not an xdist worker
        config.pluginmanager.register(Figures(terminal), "logsieve-figures")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests (real processes, kills, floods: 10-70 s each) first, so that the
    workers end on short tests together instead of one waiting on another's last long one."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root logger back as it was: `logsieve run` replaces its handlers."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.fixture(autouse=True)
def no_gateway_left_behind() -> Iterator[None]:
    """Whatever happens to a test (a failure, a timeout), the gateway processes it started
    through tests.harness end with it."""
    yield
    GatewayProcess.kill_all()


@pytest.fixture
def logflare() -> Iterator[FakeLogflare]:
    """A fake Logflare on loopback with the system clock, for tests of whole gateways."""
    with FakeLogflare() as fake:
        yield fake


@contextlib.contextmanager
def small_filesystem(tmp_path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` (e.g. "2m") of the test's own, to fill for real (root only: CI runs
    as root)."""
    require(os.geteuid() == 0, "mounting a small tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)
