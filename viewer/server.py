"""ViewerServer: the viewer app on werkzeug's threaded server, in a daemon thread.

Each page holds one thread for its websocket; the feed, not the pages, reads the store.
Open sockets end when the LiveFeed shuts down (it closes their subscriptions).
"""

from __future__ import annotations

from flask import Flask

from gateway.wsgi_server import WsgiServer


class ViewerServer(WsgiServer):
    def __init__(self, app: Flask, host: str, port: int) -> None:
        super().__init__(app, host, port, name="viewer-http")
