"""The open-file budget: `logsieve run` raises its soft limit to the hard one, and holds each
HTTP listener's connections to a share of it, so idle connections on the OTLP/HTTP port cannot
take the descriptors gRPC, the database, /readyz and the viewer need.
"""

from __future__ import annotations

import resource
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub

from gateway.config.settings import parse_config
from gateway.errors import ConfigError
from gateway.http import limits
from gateway.http.limits import OTLP_HTTP_SHARE, connection_cap
from gateway.receivers.http import server_limits
from testkit.logflare import FakeLogflare
from tests.builders import Rec, request
from tests.harness import GatewayProcess, gateway_config, wait_until

DESCRIPTORS = 1024  # the gateway's limit, soft and hard, as in the report
IDLE_CONNECTIONS = 1100  # more than the limit: idle, not one byte sent


def test_a_cap_is_what_was_asked_while_the_limit_allows_it() -> None:
    assert connection_cap(1000, OTLP_HTTP_SHARE, "x", per_connection=2, limit=1 << 20) == 1000


def test_a_cap_is_lowered_to_its_share_of_a_small_limit(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    cap = connection_cap(1000, 0.25, "receivers.otlp.http.max_connections", 2, limit=1024)
    assert cap == 128  # a quarter of 1024 descriptors, two a connection
    assert "receivers.otlp.http.max_connections lowered from 1000 to 128" in caplog.text


def test_a_cap_never_falls_below_a_few_connections() -> None:
    assert connection_cap(100, 0.125, "x", limit=16) == limits.MIN_CONNECTIONS


def test_the_receivers_settings_become_its_server_limits() -> None:
    config = parse_config(
        {
            "receivers": {
                "otlp": {
                    "http": {
                        "max_connections": 50,
                        "threads": 3,
                        "max_connection_idle": "5s",
                        "read_timeout": "2s",
                    }
                }
            }
        }
    )
    limits = server_limits(config.receivers.otlp.http)
    assert (limits.max_connections, limits.threads) == (50, 3)
    assert (limits.idle_timeout, limits.read_timeout) == (5.0, 2.0)


@pytest.mark.parametrize(
    ("key", "value"),
    [("max_connections", 0), ("threads", 0), ("max_connection_idle", "0s"), ("read_timeout", 5)],
)
def test_the_receivers_server_settings_are_validated(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=rf"receivers\.otlp\.http\.{key}"):
        parse_config({"receivers": {"otlp": {"http": {key: value}}}})


def test_the_soft_limit_is_raised_to_the_hard_one() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard < 512:
        pytest.skip("needs a finite hard limit of 512 or more")
    script = "from gateway.http import limits; print(limits.raise_open_file_limit())"
    result = subprocess.run(
        [sys.executable, "-c", script],
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard)),
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert int(result.stdout) == hard


def _limit_descriptors() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (DESCRIPTORS, DESCRIPTORS))


def test_idle_connections_on_the_http_port_leave_grpc_health_and_viewer_serving(
    tmp_path: Path,
) -> None:
    """1,100 idle connections to the OTLP/HTTP port of a gateway limited to 1,024 descriptors:
    gRPC still acknowledges within 5 s, /readyz answers 200, /logs answers; once they close,
    OTLP/HTTP ingests again."""
    limits.raise_open_file_limit()  # this test process holds 1,100 sockets itself
    if limits.open_file_limit() < IDLE_CONNECTIONS + 200:
        pytest.skip("this process cannot open 1,100 sockets")
    with FakeLogflare() as logflare:
        config = gateway_config(tmp_path, f"sqlite:///{tmp_path / 'gw.db'}", logflare)
        gateway = GatewayProcess(config, preexec_fn=_limit_descriptors)
        try:
            wait_until(lambda: bool(gateway.http_url and gateway.viewer_url), 30, "the ports")
            assert gateway.http_url is not None and gateway.viewer_url is not None
            target = urlsplit(gateway.http_url)
            idle = [
                socket.create_connection((target.hostname, target.port), timeout=10)
                for _ in range(IDLE_CONNECTIONS)
            ]
            try:
                _others_still_serve(gateway, gateway.viewer_url)
            finally:
                for sock in idle:
                    sock.close()
            wait_until(lambda: _http_export_ok(gateway.http_url or ""), 60, "an HTTP export")
            assert gateway.process.poll() is None
            assert "receivers.otlp.http.max_connections lowered from 1000 to 128" in "".join(
                gateway.log
            )
        finally:
            gateway.terminate()


def _others_still_serve(gateway: GatewayProcess, viewer_url: str) -> None:
    with grpc.insecure_channel(gateway.address) as channel:
        LogsServiceStub(channel).Export(request([Rec("still acknowledged")]), timeout=5)
    ready = httpx.get(f"{gateway.telemetry_url}/readyz", timeout=5)
    assert ready.status_code == 200, ready.text
    page = httpx.get(f"{viewer_url}/logs", timeout=5)
    assert page.status_code in (200, 401)  # answered (401 would be the sign-in form)


def _http_export_ok(url: str) -> bool:
    body = request([Rec("over HTTP again")]).SerializeToString()
    headers = {"Content-Type": "application/x-protobuf"}
    try:
        return httpx.post(f"{url}/v1/logs", content=body, headers=headers, timeout=5).is_success
    except httpx.HTTPError:
        return False
