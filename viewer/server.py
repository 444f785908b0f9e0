"""ViewerServer: the viewer app in a daemon thread, on the hardened threaded server.

The live page's websocket (flask-sock) needs the connection's raw socket, so the viewer runs
on werkzeug's threaded server as hardened in gateway.http.threaded_server (why not another server
is said there): each connection holds a thread, so their number is capped, a connection is
closed when idle, and a request's head must arrive within a deadline. A live page's socket
may stay quiet for ever (the page sends nothing after its Subscribe, the server a heartbeat
every 15 s), but each send must finish within SEND_TIMEOUT, so a page that never reads gives
its thread back. The feed, not the pages, reads the store. Open sockets end when the LiveFeed
shuts down (it closes their subscriptions).
"""

from __future__ import annotations

from flask import Flask

from gateway.http.limits import VIEWER_SHARE, ServerLimits, connection_cap
from gateway.http.wsgi_server import WsgiServer

# Connections beyond the live pages' (viewer.max_connections): page loads, scripts, entries.
PAGE_LOAD_HEADROOM = 32
IDLE_TIMEOUT = 30.0  # a kept-alive connection with no request (a browser's, between loads)
READ_TIMEOUT = 10.0  # a request's head, and each read of a body
SEND_TIMEOUT = 30.0  # one websocket send to a page that does not read


class ViewerServer(WsgiServer):
    def __init__(self, app: Flask, host: str, port: int, max_pages: int = 200) -> None:
        """`max_pages`: viewer.max_connections, the live pages open at once."""
        super().__init__(
            app,
            host,
            port,
            name="viewer-http",
            limits=viewer_limits(max_pages),
            setting="viewer.endpoint",
            websockets=True,
        )


def viewer_limits(max_pages: int) -> ServerLimits:
    setting = f"the viewer's connection cap (viewer.max_connections + {PAGE_LOAD_HEADROOM})"
    cap = connection_cap(max_pages + PAGE_LOAD_HEADROOM, VIEWER_SHARE, setting)
    return ServerLimits(
        max_connections=cap,
        idle_timeout=IDLE_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        send_timeout=SEND_TIMEOUT,
        cap_setting=setting,
    )
