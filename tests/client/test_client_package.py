"""The client package on its own, as an application gets it: `pip install ./client` into an
empty virtual environment brings only the OpenTelemetry SDK and the OTLP/HTTP exporter (none
of the gateway's dependencies), and the example of client/README.md, run exactly as printed
there, delivers its record to a real gateway receiver without a word on stderr.

Slow (a venv and a pip install, 30-60 s): it runs in CI (CI=true) and on a laptop; only a
machine that cannot make a venv skips it, and CI fails instead."""

from __future__ import annotations

import json
import re
import subprocess
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.receivers.http import OtlpHttpReceiver
from gateway.store import Store
from tests.client.conftest import CLIENT, TOKEN, queued, started_receiver
from tests.conftest import require
from tests.installs import environment_without, run_in

# What an application must never get from the client: the gateway and its heavy parts.
GATEWAY_ONLY = {"logsieve", "grpcio", "flask", "sqlalchemy", "psycopg", "psycopg-binary"}
NEEDED = {"logsieve-client", "opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http"}


@pytest.fixture
def sqlite_receiver(sqlite_url: str) -> Iterator[tuple[OtlpHttpReceiver, Store]]:
    """One backend is enough here: the receiver is not what this test is about."""
    store = Store(sqlite_url, pool_size=4)
    store.create_schema()
    with started_receiver(store) as receiver:
        yield receiver, store
    store.dispose()


def readme_example() -> str:
    """The one Python block of client/README.md."""
    text = (CLIENT / "README.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    return block


def app_environment() -> dict[str, str]:
    """This process's environment without what would make the repository importable or point
    the exporter elsewhere (pip's own settings, e.g. an index or a cache, stay)."""
    return environment_without("PYTHONPATH", "OTEL_", "VIRTUAL_ENV")


def run(*command: str | Path, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_in(app_environment(), *command, cwd=cwd, **env)


def empty_venv(path: Path) -> Path:
    try:
        venv.create(path, with_pip=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        require(False, f"cannot create a virtual environment here: {exc}")
    return path / "bin" / "python"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_client_installs_alone_and_its_readme_example_delivers(
    tmp_path: Path, sqlite_receiver: tuple[OtlpHttpReceiver, Store]
) -> None:
    receiver, store = sqlite_receiver
    app = tmp_path / "app"  # not the repository: nothing of it is importable from here
    app.mkdir()
    python = empty_venv(tmp_path / "env")
    run(python, "-m", "pip", "install", "--quiet", CLIENT, cwd=app)

    listed = run(python, "-m", "pip", "list", "--format=json", cwd=app).stdout
    installed = {package["name"].lower() for package in json.loads(listed)}
    assert installed >= NEEDED
    assert not installed & GATEWAY_ONLY

    result = run(
        python,
        "-c",
        readme_example(),
        cwd=app,
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
        OTEL_EXPORTER_OTLP_HEADERS=f"authorization=Bearer%20{TOKEN}",
    )
    assert result.stderr == ""  # no warning: the exporter is there, the handler quiet
    (arrived,) = queued(store)
    assert (arrived.body, arrived.service, arrived.record.severity_text) == (
        "payment failed",
        "checkout",
        "ERROR",
    )
    assert {kv.key: kv.value.int_value for kv in arrived.record.attributes}["order"] == 42
