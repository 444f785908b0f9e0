"""For viewer tests: a real viewer on a free port over a SQLite store, and headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gateway.clock import Clock
from gateway.store import Store
from testkit import chromium as browser
from testkit.viewer import feed_and_server
from viewer.app import ViewerSettings, create_app
from viewer.feed import LiveFeed
from viewer.server import ViewerServer

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
# What the tests' viewers are told unless a test says otherwise (its **options).
TEST_VIEWER = ViewerSettings(ttl_seconds=3600, sampling_summary="DEBUG: keep 1 in 10")


class FixedClock:
    """A clock that stands still unless a test moves `now`."""

    def __init__(self, now: int) -> None:
        self.now = now

    def now_ns(self) -> int:
        return self.now


@contextmanager
def running_viewer(
    folder: Path, clock: Clock, **options: Any
) -> Iterator[tuple[ViewerServer, Store]]:
    """A started ViewerServer with its LiveFeed over a fresh SQLite store; stopped after."""
    store = Store(f"sqlite:///{folder / 'viewer.db'}")
    store.create_schema()
    try:
        with serving(store, clock, **options) as server:
            yield server, store
    finally:
        store.dispose()


@contextmanager
def serving(
    store: Store,
    clock: Clock,
    port: int = 0,
    *,
    poll_interval: float = 0.1,
    status_interval: float = 0.2,
    queue_capacity: int = 10_000,
    max_entry_chars: int = 16 * 1024,
    **options: Any,
) -> Iterator[ViewerServer]:
    """A ViewerServer and its LiveFeed over `store` on `port` (0: a free one); stopped after."""
    feed = LiveFeed(
        store,
        clock,
        poll_interval=poll_interval,
        status_interval=status_interval,
        queue_capacity=queue_capacity,
        max_entry_chars=max_entry_chars,
    )
    app = create_app(store, clock, feed, replace(TEST_VIEWER, **options))
    with feed_and_server(feed, app, port) as server:
        yield server


def save_screenshot(page: Any, name: str) -> Path:
    """A full-page PNG in the test artefacts folder (test-artifacts/, or $LOGSIEVE_ARTIFACTS),
    so a CI run leaves pictures of what the page looked like."""
    folder = Path(os.environ.get("LOGSIEVE_ARTIFACTS", ARTIFACTS))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def stream_url(server: ViewerServer) -> str:
    return server.url.replace("http://", "ws://", 1) + "/logs/stream"


def unavailable(reason: str) -> None:
    """Skip on a workstation; in CI (CI=true) a missing browser is a failure, not a pass."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser test must run)")
    pytest.skip(reason)


@contextmanager
def watched_page(**page_options: Any) -> Iterator[Any]:
    """A Chromium page that must end with no script error and no dialog (alert, confirm)."""
    with chromium(**page_options) as page:
        errors: list[str] = []
        dialogs: list[str] = []

        def on_dialog(dialog: Any) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("dialog", on_dialog)
        yield page
        assert errors == []
        assert dialogs == []


@contextmanager
def chromium(**page_options: Any) -> Iterator[Any]:
    """A new page in Debian's headless Chromium, driven by Playwright."""
    try:
        with browser.chromium() as opened:
            yield opened.new_page(**page_options)
    except browser.ChromiumMissing as exc:
        unavailable(str(exc))
