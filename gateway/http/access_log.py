"""Access lines: one line per HTTP request in the gateway's own log, off by default.

Why off: with them on by default, a probe every few seconds and every static file of the
live page made most of the gateway's own log, hiding the lines that say something. Why here
and not in the servers: werkzeug's request lines (the viewer, TLS listeners) carry terminal
colour codes, which the safe formatter then shows escaped (`\\x1b[32m`), and waitress (the
receiver, /metrics) writes none at all; one WSGI wrapper around every app says the same
thing for both engines, without colours.

`telemetry.logs.access: true` turns them on (gateway/runtime/app.py calls `enable`), at INFO
on the `logsieve.access` logger, so `telemetry.logs.level` above INFO still silences them.
Even then probes (/healthz, /readyz, /metrics) and static files are left out unless they
fail (status 400 and up): a scrape every 15 s says nothing, a failing one does. A line holds
the client address, method, path (never the query string, which may carry a token), status
and milliseconds until the reply's head; a websocket's line comes when it closes, with 101
and how long it was open.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

LOGGER = "logsieve.access"
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
STATIC = ("/static/", "/favicon.ico")
FAILED = 400  # a probe or a static file at or past this status is logged all the same
_OFF = logging.CRITICAL + 1

log = logging.getLogger(LOGGER)
log.setLevel(_OFF)  # off until the configuration says otherwise


def enable(on: bool) -> None:
    """`telemetry.logs.access`: on, the lines follow the process's log level (they are INFO);
    off, none at all, whatever the level."""
    log.setLevel(logging.NOTSET if on else _OFF)


def quiet(path: str) -> bool:
    """A path whose successful requests are not worth a line: probes and static files."""
    return path in PROBES or path.startswith(STATIC)


class AccessLog:
    """A WSGI app that logs each request its inner app answers (when the logger is on)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if not log.isEnabledFor(logging.INFO):  # off: no cost but this test
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        started = time.monotonic()

        def logging_start_response(status: str, headers: Any, *exc_info: Any) -> Any:
            _line(environ, status, time.monotonic() - started)
            return start_response(status, headers, *exc_info)

        return self.app(environ, logging_start_response)  # type: ignore[no-any-return]


def _line(environ: dict[str, Any], status: str, seconds: float) -> None:
    code = int(status.split(" ", 1)[0])
    path = _text(environ.get("PATH_INFO", "")) or "/"
    if code < FAILED and quiet(path):
        return
    if str(environ.get("HTTP_UPGRADE", "")).lower() == "websocket" and code < FAILED:
        code = 101  # flask-sock answers 200 to werkzeug once the socket has closed
    log.info(
        '%s "%s %s" %d %.1f ms',
        environ.get("REMOTE_ADDR", "-"),
        environ.get("REQUEST_METHOD", "-"),
        path,
        code,
        seconds * 1000,
    )


def _text(wsgi_path: str) -> str:
    """PEP 3333 gives the path's bytes as latin-1 characters: show them as the UTF-8 sent."""
    try:
        return wsgi_path.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return wsgi_path
