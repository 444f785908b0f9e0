"""The live view under many pages: insert-to-socket latency, and database queries per second.

N real websocket clients follow the real viewer (LiveFeed + ViewerServer) on a SQLite store
while entries are inserted at a steady rate. Each client notes when each entry arrives; the
store counts the viewer's queries. One poller serves every page, so queries must not grow
with pages.
"""

from __future__ import annotations

import json
import logging
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import websocket

from gateway.clock import SystemClock
from gateway.model import Entry
from gateway.store import Store
from viewer.app import create_app
from viewer.feed import LiveFeed
from viewer.server import ViewerServer

HOUR_NS = 3600 * 10**9


@dataclass(frozen=True, slots=True)
class ViewerResult:
    pages: int
    entries: int
    p50_ms: float
    p99_ms: float
    queries_per_s: float


class _Page(threading.Thread):
    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.socket = websocket.create_connection(url, timeout=30)
        self.socket.send(json.dumps({"after": "0"}))
        self.arrived: dict[str, float] = {}

    def run(self) -> None:
        try:
            while True:
                frame = json.loads(self.socket.recv())
                now = time.monotonic()
                for entry in frame.get("entries", {}).get("entries", []):
                    self.arrived.setdefault(entry["body"], now)
        except Exception:  # closed at the end of the run
            return


def _count_queries(store: Store) -> list[int]:
    counter = [0]
    for name in ("recent_after", "recent_newest"):
        original = getattr(store, name)

        def counted(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            counter[0] += 1
            return _original(*args, **kwargs)

        setattr(store, name, counted)
    return counter


def run_viewer(pages: int, seconds: float = 8.0, per_second: int = 50) -> ViewerResult:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per page
    folder = Path(tempfile.mkdtemp(prefix="logsieve-viewer-bench-"))
    store = Store(f"sqlite:///{folder / 'viewer.db'}")
    store.create_schema()
    clock = SystemClock()
    feed = LiveFeed(store, clock)
    server = ViewerServer(
        create_app(store, clock, feed, ttl_seconds=3600, sampling_summary=""), "127.0.0.1", 0
    )
    server.start()
    feed.start()
    url = server.url.replace("http://", "ws://", 1) + "/logs/stream"
    clients = [_Page(url) for _ in range(pages)]
    for client in clients:
        client.start()
    time.sleep(1.0)  # connected and backfilled
    queries = _count_queries(store)
    inserted: dict[str, float] = {}
    began = time.monotonic()
    for i in range(int(seconds * per_second)):
        body = f"entry {i}"
        now_ns = clock.now_ns()
        store.add_recent([(Entry(body, 17, "ERROR", "bench", 1, now_ns, now_ns), now_ns + HOUR_NS)])
        inserted[body] = time.monotonic()
        time.sleep(max(0.0, began + (i + 1) / per_second - time.monotonic()))
    time.sleep(1.5)  # the last entries arrive
    window, polls = time.monotonic() - began, queries[0]
    latencies = [
        (client.arrived[body] - at) * 1000
        for client in clients
        for body, at in inserted.items()
        if body in client.arrived
    ]
    for client in clients:
        client.socket.close()
    feed.shutdown()
    server.shutdown()
    store.dispose()
    cuts = statistics.quantiles(latencies, n=100)
    return ViewerResult(pages, len(inserted), cuts[49], cuts[98], polls / window)
