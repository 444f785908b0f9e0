"""Shared fixtures: databases (SQLite always; PostgreSQL when reachable, and always in CI)."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.store import Store
from testkit.logflare import FakeLogflare
from tests.harness import GatewayProcess

pytest_plugins = [
    "tests.logflare_fixtures",  # the fake Logflare's fixtures: fake, client
    "tests.viewer_rig",  # a viewer whose feed a test drives by hand: rig
]

PG_URL = os.environ.get("LOGSIEVE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, reason: str) -> None:
    """Skip a test whose service is missing on a laptop; fail it in CI, where it must run."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this test must run)")
    pytest.skip(reason)


def _pg_store() -> Store:
    store = Store(PG_URL, pool_size=4)
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
        created = _pg_store()
        created.drop_all()
    created.create_schema()
    yield created
    if request.param == "postgresql":
        created.drop_all()
    created.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'logsieve.db'}"


@pytest.fixture
def report(capsys: pytest.CaptureFixture[str]) -> Callable[[str], None]:
    """Print a test's figures to the terminal even while pytest captures output."""

    def emit(line: str) -> None:
        with capsys.disabled():
            print(line)

    return emit


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
