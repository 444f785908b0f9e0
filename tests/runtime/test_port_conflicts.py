"""A configured port that is taken: `logsieve run` says so in one line naming the setting and
the address, and exits 1, with no traceback and none of werkzeug's, waitress's or gRPC
core's own text. Each case holds a real listening socket on 127.0.0.1 first."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.cli.endpoints import taken_endpoints
from gateway.config.receivers import GrpcReceiverConfig
from gateway.config.settings import Config, parse_config
from gateway.errors import EndpointError
from gateway.receivers.grpc import OtlpGrpcReceiver
from gateway.receivers.ingest import Ingest
from gateway.runtime.app import Gateway, Overrides
from gateway.runtime.roles import decide_roles, single_process
from gateway.store import Store
from testkit.clock import FakeClock

SETTINGS = {  # setting -> where it stands in the config tree
    "receivers.otlp.grpc.endpoint": ("receivers", "otlp", "grpc"),
    "receivers.otlp.http.endpoint": ("receivers", "otlp", "http"),
    "viewer.endpoint": ("viewer",),
    "telemetry.metrics.endpoint": ("telemetry", "metrics"),
}


@pytest.fixture
def taken() -> Iterator[int]:
    """A port another program listens on."""
    with socket.create_server(("127.0.0.1", 0)) as holder:
        yield holder.getsockname()[1]


def tree(tmp_path: Path, overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """Every endpoint on a free port, but those in `overrides` (setting -> endpoint)."""
    config: dict[str, Any] = {"storage": {"url": f"sqlite:///{tmp_path / 'q.db'}"}}
    for setting, path in SETTINGS.items():
        section = config
        for key in path:
            section = section.setdefault(key, {})
        section["endpoint"] = (overrides or {}).get(setting, "127.0.0.1:0")
    return config


def write(tmp_path: Path, overrides: dict[str, str]) -> Path:
    """The config as a file (YAML is a superset of JSON)."""
    path = tmp_path / "gateway.yaml"
    path.write_text(json.dumps(tree(tmp_path, overrides)))
    return path


def run(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_run_says_which_setting_holds_a_taken_port(
    tmp_path: Path, taken: int, setting: str
) -> None:
    result = run(write(tmp_path, {setting: f"127.0.0.1:{taken}"}))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"{setting}: 127.0.0.1:{taken} is already in use"]


def test_every_taken_port_is_said_and_two_settings_on_one_port_too(
    tmp_path: Path, taken: int
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as other:
        second = other.getsockname()[1]
        endpoints = {
            "receivers.otlp.grpc.endpoint": f"127.0.0.1:{taken}",
            "viewer.endpoint": f"127.0.0.1:{second}",
            "telemetry.metrics.endpoint": f"127.0.0.1:{second}",
        }
        config = parse_config(tree(tmp_path, endpoints), env={})
        said = taken_endpoints(config, decide_roles(config))
    assert said == [
        f"receivers.otlp.grpc.endpoint: 127.0.0.1:{taken} is already in use",
        f"viewer.endpoint: 127.0.0.1:{second} is already in use",
        f"telemetry.metrics.endpoint: 127.0.0.1:{second} is also viewer.endpoint",
    ]


# -- the servers themselves, when a port is taken after the check (or without `run`) --------


def gateway_with(tmp_path: Path, setting: str, port: int) -> Config:
    return parse_config(tree(tmp_path, {setting: f"127.0.0.1:{port}"}), env={})


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_each_server_names_its_setting_when_its_port_is_taken(
    tmp_path: Path, taken: int, setting: str
) -> None:
    config = gateway_with(tmp_path, setting, taken)
    with pytest.raises(EndpointError) as raised:
        gateway = Gateway(config, Overrides(run_jobs=False), single_process(config))
        try:
            gateway.start()
        finally:
            gateway.shutdown()
    assert str(raised.value) == f"{setting}: 127.0.0.1:{taken} is already in use"
    assert isinstance(raised.value, OSError)  # callers that catch OSError still do


def test_grpc_sharing_its_port_with_our_children_reports_a_failed_bind(
    tmp_path: Path, taken: int
) -> None:
    """With processes > 1 the port is not probed (our children share it); gRPC's own failed
    bind still becomes one line naming the setting."""
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    store.create_schema()
    config = GrpcReceiverConfig(endpoint=f"127.0.0.1:{taken}", processes=2)
    receiver = OtlpGrpcReceiver(Ingest(store, FakeClock()), config)
    try:
        with pytest.raises(EndpointError) as raised:
            receiver.start()
    finally:
        store.dispose()
    problem = "cannot be listened on (gRPC's bind failed)"
    assert str(raised.value) == f"receivers.otlp.grpc.endpoint: 127.0.0.1:{taken} {problem}"


@pytest.mark.parametrize(
    ("host", "said"),
    [
        ("192.0.2.1", "cannot be listened on: not an address of this host"),
        ("no-such-host.invalid", "cannot be listened on: the host name does not resolve"),
    ],
)
def test_an_address_that_cannot_be_listened_on_says_why(
    tmp_path: Path, host: str, said: str
) -> None:
    config = parse_config(tree(tmp_path, {"viewer.endpoint": f"{host}:8080"}), env={})
    assert taken_endpoints(config, decide_roles(config)) == [f"viewer.endpoint: {host}:8080 {said}"]
