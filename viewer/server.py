"""ViewerServer: the viewer app on werkzeug's threaded server, in a daemon thread.

Each page holds one thread for its websocket; the feed, not the pages, reads the store.
Open sockets end when the LiveFeed shuts down (it closes their subscriptions).
"""

from __future__ import annotations

import threading

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

SHUTDOWN_POLL_SECONDS = 0.1  # how often serve_forever looks for shutdown()


class ViewerServer:
    def __init__(self, app: Flask, host: str, port: int) -> None:
        # Bind now, so a port taken or refused fails at construction, and port 0 is known.
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self.host = host
        self.port: int = self._server.server_port
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """Where a browser on this machine reaches the viewer (wildcard binds -> loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stopped:
                return
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
                name="viewer-http",
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
