"""WsgiServer: a WSGI app on werkzeug's threaded server, in a daemon thread (TLS optional).

Used by the viewer and by the OTLP/HTTP receiver. It binds at construction, so a port taken
or refused fails early and port 0 is known at once.
"""

from __future__ import annotations

import ssl
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

SHUTDOWN_POLL_SECONDS = 0.1  # how often serve_forever looks for shutdown()


class WsgiServer:
    def __init__(
        self,
        app: Any,
        host: str,
        port: int,
        *,
        tls: tuple[str, str] | None = None,
        name: str = "http",
    ) -> None:
        context = None
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls)
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, ssl_context=context
        )
        self.host = host
        self.port: int = self._server.server_port
        self.scheme = "https" if tls else "http"
        self._name = name
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """Where a client on this machine reaches it (wildcard binds -> loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{self.port}"

    def start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stopped:
                return
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
                name=self._name,
                daemon=True,
            )
            self._thread.start()

    def shutdown(self) -> None:
        """Stop accepting and close the listening socket; idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            thread = self._thread
        if thread is not None:
            self._server.shutdown()  # blocks until serve_forever returns
            thread.join(timeout=5)
        self._server.server_close()
