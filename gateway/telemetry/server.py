"""The gateway's own telemetry endpoint: /metrics (Prometheus), /healthz and /readyz.

/healthz answers 200 while the process serves requests at all (a liveness probe).
/readyz answers 200 only when the gateway can do its work: the database answers, the
receivers are bound, and it is not shutting down; otherwise 503, with each check named and,
under "reasons", why a check failed when it knows (`storage: ... was deleted`, `disk full`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import make_wsgi_app

from gateway.http.limits import METRICS_CONNECTIONS, ServerLimits
from gateway.http.wsgi_server import WsgiServer
from gateway.telemetry.metrics import Metrics

Checks = Callable[[], dict[str, bool | str]]  # a failed check: False, or why it failed
# Prometheus and a few probes: a small fixed cap, so this endpoint never takes the
# descriptors the receivers need, and one scrape cannot hold a connection for long.
LIMITS = ServerLimits(
    max_connections=METRICS_CONNECTIONS,
    threads=2,
    idle_timeout=30.0,
    read_timeout=10.0,
    cap_setting="the metrics endpoint's connection cap",
)
MAX_BODY = 64 * 1024  # every path is a GET


class TelemetryServer:
    def __init__(self, metrics: Metrics, checks: Checks, endpoint: str) -> None:
        self._metrics_app = make_wsgi_app(metrics.exposition)
        self._checks = checks
        host, port = endpoint.rsplit(":", 1)
        self._server = WsgiServer(
            self.wsgi,
            host.strip("[]"),
            int(port),
            name="telemetry",
            limits=LIMITS,
            setting="telemetry.metrics.endpoint",
            max_body=MAX_BODY,
        )
        self.url = self._server.url

    def start(self) -> None:
        self._server.start()

    def shutdown(self) -> None:
        self._server.shutdown()

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return self._metrics_app(environ, start_response)  # type: ignore[no-any-return]
        if path == "/healthz":
            return _reply(start_response, "200 OK", {"alive": True})
        if path == "/readyz":
            return self._readiness(start_response)
        return _reply(
            start_response, "404 Not Found", {"paths": ["/metrics", "/healthz", "/readyz"]}
        )

    def _readiness(self, start_response: Any) -> list[bytes]:
        checks = self._safe_checks()
        passed = {name: result is True for name, result in checks.items()}
        body: dict[str, Any] = {"ready": all(passed.values()), "checks": passed}
        reasons = {name: result for name, result in checks.items() if isinstance(result, str)}
        if reasons:
            body["reasons"] = reasons
        status = "200 OK" if body["ready"] else "503 Service Unavailable"
        return _reply(start_response, status, body)

    def _safe_checks(self) -> dict[str, bool | str]:
        try:
            return self._checks()
        except Exception:  # a failing check is a "not ready", never a 500
            return {"checks_ran": False}


def _reply(start_response: Any, status: str, body: dict[str, Any]) -> list[bytes]:
    payload = json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    start_response(status, headers)
    return [payload]
