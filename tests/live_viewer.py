"""For viewer tests: a real viewer on a free port over a SQLite store, and headless Chromium."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from gateway.clock import Clock
from gateway.store import Store
from viewer.app import create_app
from viewer.feed import LiveFeed
from viewer.server import ViewerServer

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class FixedClock:
    """A clock that stands still unless a test moves `now`."""

    def __init__(self, now: int) -> None:
        self.now = now

    def now_ns(self) -> int:
        return self.now


@contextmanager
def running_viewer(
    folder: Path, clock: Clock, *, poll_interval: float = 0.1, **options: Any
) -> Iterator[tuple[ViewerServer, Store]]:
    """A started ViewerServer with its LiveFeed over a fresh SQLite store; stopped after."""
    store = Store(f"sqlite:///{folder / 'viewer.db'}")
    store.create_schema()
    feed = LiveFeed(store, clock, poll_interval=poll_interval)
    options.setdefault("sampling_summary", "DEBUG: keep 1 in 10")
    app = create_app(store, clock, feed, ttl_seconds=3600, **options)
    server = ViewerServer(app, "127.0.0.1", 0)
    feed.start()
    server.start()
    try:
        yield server, store
    finally:
        feed.shutdown()
        server.shutdown()
        store.dispose()


def stream_url(server: ViewerServer) -> str:
    return server.url.replace("http://", "ws://", 1) + "/logs/stream"


def unavailable(reason: str) -> None:
    """Skip on a workstation; in CI (CI=true) a missing browser is a failure, not a pass."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser test must run)")
    pytest.skip(reason)


@contextmanager
def chromium(**page_options: Any) -> Iterator[Any]:
    """A new page in Debian's headless Chromium, driven by Playwright."""
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        unavailable("chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(**page_options)
        finally:
            browser.close()
