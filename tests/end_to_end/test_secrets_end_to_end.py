"""A real `logsieve run` whose Logflare echoes the API key (and the other configured secrets)
in its error answers, as verbose 4xx bodies, a proxy's error page and a redirect: no secret
reaches `logsieve status` (text and JSON), `logsieve dead-letter list`, the live page's
frames, /metrics, /readyz or the gateway's log."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

import grpc
import httpx
import pytest
import websocket
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub

from testkit.logflare import FakeLogflare, Fault
from tests.builders import Rec, request
from tests.harness import GatewayProcess, wait_until

KEY = "lf_live_Zq8+/x0123456789abcdef"  # "+" and "/" change when percent-encoded
GRPC_TOKEN = "grpc-token-0123456789abcdef"
HTTP_TOKEN = "http-token-0123456789abcdef"
VIEWER_TOKEN = "viewer-token-0123456789abcdef"
SECRETS = (KEY, GRPC_TOKEN, HTTP_TOKEN, VIEWER_TOKEN)
PROXY_PAGE = (
    "<html><head><title>500 Internal Server Error</title></head><body>"
    "<h1>upstream failed</h1><pre>POST /api/logs HTTP/1.1\r\n"
    f"X-API-KEY: {KEY}\r\nUser-Agent: logsieve</pre>"
    f"<p>retry with ?api_key={quote(KEY, safe='')} (viewer {VIEWER_TOKEN})</p></body></html>"
)
VERBOSE_400 = Fault(
    400,
    {
        "message": f"invalid batch sent with key {KEY}",
        "request_headers": {"x-api-key": KEY, "authorization": f"Bearer {HTTP_TOKEN}"},
    },
)
# Each fault in turn, with the start of the stored error text it leads to.
ECHOES = (
    ("HTTP 401", Fault(401, {"error": f"Unauthorized: unknown api key {KEY}", "api_key": KEY})),
    ("HTTP 403", Fault(403, f"<html><body>Forbidden: {GRPC_TOKEN} / {KEY}</body></html>")),
    ("HTTP 500", Fault(500, PROXY_PAGE)),
    ("HTTP 302", Fault.redirect(f"https://login.example/?next=/api/logs&key={quote(KEY)}")),
)


def leaked(text: str) -> list[str]:
    """The secrets, or recognisable pieces of them, that `text` holds."""
    pieces = [*SECRETS, *(secret[:12] for secret in SECRETS), quote(KEY, safe=""), "89abcdef"]
    return [piece for piece in pieces if piece in text]


def write_config(tmp_path: Path, logflare: FakeLogflare) -> Path:
    config = tmp_path / "gateway.yaml"
    free = "'127.0.0.1:0'"
    config.write_text(
        "receivers: {otlp: {"
        f"grpc: {{endpoint: {free}, auth: {{bearer_token: '{GRPC_TOKEN}'}}}},"
        f" http: {{endpoint: {free}, auth: {{bearer_token: '{HTTP_TOKEN}'}}}}}}}}\n"
        f"storage: {{url: 'sqlite:///{tmp_path / 'logsieve.db'}'}}\n"
        "batch: {interval: 200ms, lease: 2s}\n"
        f"exporters: {{logflare: {{endpoint: '{logflare.url}', source: '{logflare.source_id}',"
        f" api_key: '{KEY}', timeout: 2s, retry_initial: 100ms, retry_max: 1s}}}}\n"
        f"viewer: {{endpoint: {free}, auth_token: '{VIEWER_TOKEN}'}}\n"
        f"telemetry: {{metrics: {{endpoint: {free}}}}}\n"
    )
    return config


def send(address: str, body: str) -> None:
    with grpc.insecure_channel(address) as channel:
        LogsServiceStub(channel).Export(
            request([Rec(body, 17)]),
            metadata=[("authorization", f"Bearer {GRPC_TOKEN}")],
            timeout=10,
        )


def cli(config: Path, *command: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "gateway", *command, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout + done.stderr


def status(config: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(cli(config, "status", "--json"))
    return found


class LivePage:
    """A page following the live stream: every frame it receives, kept."""

    def __init__(self, viewer_url: str) -> None:
        stream = viewer_url.replace("http://", "ws://", 1) + "/logs/stream"
        auth = [f"Authorization: Bearer {VIEWER_TOKEN}"]
        self._socket = websocket.create_connection(stream, timeout=2, header=auth)
        self._socket.send(json.dumps({"after": "0"}))
        self.frames: list[str] = []
        self._arrived = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while self._socket.connected:
            try:
                frame = self._socket.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except (websocket.WebSocketException, OSError):
                return
            with self._arrived:
                self.frames.append(frame)
                self._arrived.notify_all()

    def wait_for_status(self, starting: str, timeout: float = 30) -> str:
        """The first Status frame whose exporter error text starts with `starting`."""

        def found() -> str | None:
            for frame in self.frames:
                error = json.loads(frame).get("status", {}).get("exporter", {})
                if error.get("lastErrorText", "").startswith(starting):
                    return frame
            return None

        with self._arrived:
            if not self._arrived.wait_for(lambda: found() is not None, timeout):
                raise AssertionError(f"no Status frame with {starting!r}: {self.frames[-3:]}")
            return str(found())

    def close(self) -> None:
        self._socket.close()
        self._reader.join(10)


def viewer_url(gateway: GatewayProcess) -> str:
    """Where the viewer listens, as it says once it does (in a child of its own, maybe later)."""
    found: list[str] = []

    def said() -> bool:
        lines = (re.search(r"viewer at (http://[\w.:\[\]-]+)/logs", line) for line in gateway.log)
        found.extend(match.group(1) for match in lines if match)
        return bool(found)

    wait_until(said, 30, "the viewer's address in the log")
    return found[0]


@pytest.mark.slow
def test_no_secret_reaches_any_surface(tmp_path: Path) -> None:
    with FakeLogflare(api_key=KEY) as logflare:
        logflare.outage = VERBOSE_400
        config = write_config(tmp_path, logflare)
        gateway = GatewayProcess(config)
        page = LivePage(viewer_url(gateway))
        try:
            shown = _walk_through_the_echoes(config, gateway, logflare, page)
            logflare.outage = None
            logflare.wait_for_events(1, timeout=30)  # the kept event, once Logflare is back
        finally:
            page.close()
        assert gateway.terminate() == 0
    shown["dead-letter list --json"] = dead_letters = cli(config, "dead-letter", "list", "--json")
    shown["dead-letter list"] = cli(config, "dead-letter", "list")
    shown["live page frames"] = "\n".join(page.frames)
    shown["gateway log"] = "".join(gateway.log)
    assert json.loads(dead_letters)["total"] == 1  # the 400 is the only refusal for good
    assert {surface: leaked(text) for surface, text in shown.items() if leaked(text)} == {}
    assert "***" in json.loads(dead_letters)["dead_letters"][0]["reason"]  # masked, not gone


def _walk_through_the_echoes(
    config: Path, gateway: GatewayProcess, logflare: FakeLogflare, page: LivePage
) -> dict[str, str]:
    """Each echoing fault in turn; every surface read while its text is the last error."""
    shown: dict[str, str] = {}
    send(gateway.address, "refused for good")
    wait_until(
        lambda: status(config)["exporters"]["logflare"]["dead_letters"] == 1,
        30,
        "the 400's dead letter",
    )
    send(gateway.address, "kept until Logflare is back")
    for marker, fault in ECHOES:
        logflare.outage = fault
        wait_until(
            lambda m=marker: status(config)["exporters"]["logflare"]["last_error_text"].startswith(
                m
            ),  # type: ignore[misc]
            30,
            f"{marker} as the last export error",
        )
        shown[f"{marker}: status"] = cli(config, "status")
        shown[f"{marker}: status --json"] = cli(config, "status", "--json")
        shown[f"{marker}: Status frame"] = page.wait_for_status(marker)
        shown[f"{marker}: /metrics"] = httpx.get(f"{gateway.telemetry_url}/metrics").text
        shown[f"{marker}: /readyz"] = httpx.get(f"{gateway.telemetry_url}/readyz").text
        assert f"{marker}" in shown[f"{marker}: status"]  # the error is shown, masked
    return shown
