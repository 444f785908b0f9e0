"""A real viewer on loopback for the tests and the bench: its feed and server started
together and stopped together."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask

from viewer.feed import LiveFeed
from viewer.server import ViewerServer


@contextmanager
def feed_and_server(feed: LiveFeed, app: Flask, port: int = 0) -> Iterator[ViewerServer]:
    """`app` served on 127.0.0.1:`port` (0: a free one) while `feed` polls; both stopped after."""
    server = ViewerServer(app, "127.0.0.1", port)
    feed.start()
    server.start()
    try:
        yield server
    finally:
        feed.shutdown()
        server.shutdown()
