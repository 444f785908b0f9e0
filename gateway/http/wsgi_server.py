"""WsgiServer: a WSGI app served in a daemon thread, with production limits (TLS optional).

Used by the OTLP/HTTP receiver, the metrics endpoint and the viewer. Two engines behind one
interface (gateway.http.limits.ServerLimits says what each listener allows):
- waitress (gateway.http.waitress_server), the default: requests are read whole on one event loop,
  so slow and idle clients cost no thread; a fixed pool of worker threads runs the app;
- werkzeug's threaded server, hardened (gateway.http.threaded_server): for the viewer, whose
  websocket needs the raw socket that only werkzeug (of the servers that run in a thread of
  our process) hands over, and for a listener with TLS, which waitress does not do.

It binds at construction, so a port taken or refused fails early, as one OSError naming the
setting and the address (gateway.http.ports), and port 0 is known at once.
"""

from __future__ import annotations

import ssl
import threading
from typing import Any, Protocol

from gateway.http.access_log import AccessLog
from gateway.http.limits import ServerLimits
from gateway.http.ports import listen
from gateway.http.threaded_server import ThreadedListener
from gateway.http.waitress_server import WaitressListener

DEFAULT_LIMITS = ServerLimits()
DEFAULT_MAX_BODY = 64 * 1024 * 1024  # waitress refuses (413) a larger body before buffering it


class Listener(Protocol):
    port: int

    def serve_forever(self) -> None: ...

    def stop(self) -> None: ...

    def release(self) -> None: ...


class WsgiServer:
    def __init__(
        self,
        app: Any,
        host: str,
        port: int,
        *,
        tls: tuple[str, str] | None = None,
        name: str = "http",
        limits: ServerLimits = DEFAULT_LIMITS,
        setting: str = "endpoint",
        websockets: bool = False,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        """`setting` names the endpoint's setting in messages; `websockets`: the app needs
        the raw socket (flask-sock); `max_body`: the largest body waitress buffers. Requests
        are logged by gateway.http.access_log (when telemetry.logs.access is on)."""
        listening = listen(host, port, setting)  # a taken port: EndpointError, one line
        app = AccessLog(app)
        self._listener: Listener = (
            ThreadedListener(app, listening, limits, _tls_context(tls))
            if tls or websockets
            else WaitressListener(app, listening, limits, max_body)
        )
        self.host = host
        self.port: int = self._listener.port
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
                target=self._listener.serve_forever, name=self._name, daemon=True
            )
            self._thread.start()

    def shutdown(self) -> None:
        """Stop accepting, let requests in flight finish, close the listener; idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            thread = self._thread
        if thread is not None:
            self._listener.stop()
            thread.join(timeout=10)
        self._listener.release()


def _tls_context(tls: tuple[str, str] | None) -> ssl.SSLContext | None:
    if tls is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls)
    return context
