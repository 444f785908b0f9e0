"""Access lines (gateway/http/access_log.py): none by default; with telemetry.logs.access one
plain line per request on both engines, without werkzeug's colour codes, and probes and static
files only when they fail. Checked on the servers in this process and on a real gateway's
stderr, setting off and on."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websocket
from flask import Flask
from flask_sock import Sock

from gateway.http import access_log
from gateway.http.wsgi_server import WsgiServer
from tests.builders import Rec, request
from tests.harness import GatewayProcess, loopback_config, wait_until

ENGINES = ["waitress", "threaded"]
ESCAPES = ("\x1b", "\\x1b", "[32m", "[0m")
LINE = re.compile(r'INFO logsieve\.access: 127\.0\.0\.1 "(\w+) (\S+)" (\d{3}) [\d.]+ ms$')


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """200 for any path but those saying otherwise: /readyz?down and /static/missing."""
    path, query = environ["PATH_INFO"], environ.get("QUERY_STRING", "")
    status = "200 OK"
    if path == "/readyz" and query == "down":
        status = "503 Service Unavailable"
    elif path == "/static/missing.js":
        status = "404 Not Found"
    start_response(status, [("Content-Length", "2")])
    return [b"ok"]


@pytest.fixture
def access() -> Iterator[Callable[[bool], None]]:
    """Turn access lines on or off for a test; off again after it (the default)."""
    yield access_log.enable
    access_log.enable(False)


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[WsgiServer]:
    server = WsgiServer(app, "127.0.0.1", 0, websockets=request.param == "threaded")
    server.start()
    yield server
    server.shutdown()


def requests_to(server: WsgiServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for path in ("/readyz", "/healthz", "/metrics", "/static/logs.js", "/favicon.ico"):
            assert client.get(path).status_code == 200
        assert client.get("/readyz?down").status_code == 503
        assert client.get("/static/missing.js").status_code == 404
        assert client.post("/v1/logs?token=s3cret", content=b"x").status_code == 200
        assert client.get("/logs/caf%C3%A9").status_code == 200


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The servers' lines (the test's HTTP client logs its requests too: left out)."""
    ours = [r for r in caplog.records if r.name in ("logsieve.access", "werkzeug")]
    return [f"{r.name}: {r.getMessage()}" for r in ours]


@pytest.mark.parametrize("served", ENGINES, indirect=True)
def test_no_line_at_all_by_default(served: WsgiServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # even at DEBUG: off means off
    requests_to(served)
    assert [r for r in caplog.records if r.name in ("logsieve.access", "werkzeug")] == []


@pytest.mark.parametrize("served", ENGINES, indirect=True)
def test_on_one_plain_line_per_request_probes_and_static_files_only_when_they_fail(
    served: WsgiServer, caplog: pytest.LogCaptureFixture, access: Callable[[bool], None]
) -> None:
    access(True)
    caplog.set_level(logging.INFO)
    requests_to(served)
    found = lines(caplog)
    assert [line.split(" ", 2)[2].rsplit(" ", 2)[0] for line in found] == [
        '"GET /readyz" 503',
        '"GET /static/missing.js" 404',
        '"POST /v1/logs" 200',  # never the query string: it may carry a token
        '"GET /logs/café" 200',
    ]
    assert all(line.startswith("logsieve.access: 127.0.0.1 ") for line in found)
    assert all(line.endswith(" ms") for line in found)
    assert not any(escape in line for line in found for escape in ESCAPES)
    assert not any("s3cret" in line for line in found)


@pytest.mark.parametrize("served", ["threaded"], indirect=True)
def test_on_the_lines_follow_the_log_level(
    served: WsgiServer, caplog: pytest.LogCaptureFixture, access: Callable[[bool], None]
) -> None:
    access(True)
    caplog.set_level(logging.WARNING)  # telemetry.logs.level: WARNING
    requests_to(served)
    assert lines(caplog) == []


def test_a_websocket_gets_one_line_when_it_closes_with_101(
    caplog: pytest.LogCaptureFixture, access: Callable[[bool], None]
) -> None:
    flask_app = Flask(__name__)

    def echo_once(ws: Any) -> None:
        ws.send(f"echo: {ws.receive(timeout=10)}")

    Sock(flask_app).route("/logs/stream")(echo_once)
    access(True)
    caplog.set_level(logging.INFO)
    server = WsgiServer(flask_app, "127.0.0.1", 0, websockets=True)
    server.start()
    try:
        client = websocket.create_connection(f"ws://127.0.0.1:{server.port}/logs/stream")
        client.send("hi")
        assert client.recv() == "echo: hi"
        client.close()
        wait_until(lambda: lines(caplog) != [], 10, "the websocket's line")
    finally:
        server.shutdown()
    [line] = lines(caplog)
    assert '"GET /logs/stream" 101 ' in line


# -- a real gateway ---------------------------------------------------------------------------


def gateway_config(tmp_path: Path, access: bool | None) -> Path:
    logs = "" if access is None else f", logs: {{access: {str(access).lower()}}}"
    return loopback_config(tmp_path, logs)


def visit(gateway: GatewayProcess) -> None:
    """What a probe, Prometheus, a browser and an application do to a gateway."""
    wait_until(lambda: gateway.viewer_url is not None, 60, "the viewer child")
    assert gateway.viewer_url is not None and gateway.http_url is not None
    for _ in range(3):
        for path in ("/readyz", "/healthz", "/metrics"):
            assert httpx.get(gateway.telemetry_url + path, timeout=10).status_code == 200
        for path in ("/logs", "/static/logs.js", "/static/logsieve-client.js"):
            assert httpx.get(gateway.viewer_url + path, timeout=10).status_code == 200
    assert httpx.get(gateway.viewer_url + "/static/nothing.js", timeout=10).status_code == 404
    body = request([Rec("hello")]).SerializeToString()
    headers = {"Content-Type": "application/x-protobuf"}
    sent = httpx.post(gateway.http_url + "/v1/logs", content=body, headers=headers, timeout=10)
    assert sent.status_code == 200


def stopped_log(gateway: GatewayProcess) -> str:
    assert gateway.terminate() == 0
    wait_until(lambda: any("stopped" in line for line in gateway.log), 30, "the last line")
    return "".join(gateway.log)


def test_a_real_gateway_writes_no_access_line_by_default(tmp_path: Path) -> None:
    gateway = GatewayProcess(gateway_config(tmp_path, None))
    visit(gateway)
    log = stopped_log(gateway)
    assert "logsieve.access" not in log and "werkzeug" not in log
    assert "GET /" not in log and "POST /" not in log


def test_a_real_gateway_with_access_lines_on(tmp_path: Path) -> None:
    gateway = GatewayProcess(gateway_config(tmp_path, True))
    visit(gateway)
    log = stopped_log(gateway)
    access = [LINE.search(line) for line in log.splitlines() if "logsieve.access:" in line]
    requests = sorted(" ".join(match.groups()) for match in access if match)
    assert len(requests) == len(access)  # every access line has the documented shape
    assert requests == [
        *["GET /logs 200"] * 3,  # the page, from the viewer child
        "GET /static/nothing.js 404",  # a static file that failed
        "POST /v1/logs 200",  # the receiver, in the parent
    ]
    assert "werkzeug" not in log
    assert not any(escape in log for escape in ESCAPES)
