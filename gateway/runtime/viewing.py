"""The live page's parts as the composition root builds them: its own store, its feed, its
server and settings. Only the viewer and the core are imported here (tests/test_layout.py);
the viewer's modules are imported when a part is built, in the process that runs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import SecretStr

from gateway.clock import Clock
from gateway.config.settings import Config
from gateway.http.ports import split_endpoint
from gateway.store import Store, sqlite_file

if TYPE_CHECKING:
    from viewer.app import ViewerSettings
    from viewer.feed import LiveFeed
    from viewer.server import ViewerServer

# The viewer's own database pool, apart from the receivers': the feed's poll and a few pages
# connecting at once; a burst of pages waits this long for a connection, then is told to retry.
VIEWER_POOL_SIZE, VIEWER_POOL_TIMEOUT_S = 4, 3.0


def viewer_store(config: Config, store: Store) -> Store:
    """A Store of the viewer's own (engine, small pool), so that pages never wait for or take
    the receivers' connections; an in-memory SQLite database can only be shared."""
    url = config.storage.url
    if store.dialect == "sqlite" and sqlite_file(url) is None:
        return store
    return Store(
        url,
        pool_size=VIEWER_POOL_SIZE,
        max_overflow=0,
        pool_timeout=VIEWER_POOL_TIMEOUT_S,
        sqlite_synchronous=config.storage.sqlite_synchronous,
        follower=True,  # the gateway's own store reports what happens to the file
        schema=config.storage.db_schema,
    )


def live_feed(
    config: Config,
    store: Store,
    clock: Clock,
    poll_interval: float,
    on_count: Callable[[int], None],  # open pages, for the metric
) -> LiveFeed:
    from viewer.feed import LiveFeed

    return LiveFeed(
        store,
        clock,
        poll_interval=poll_interval,
        max_buffer_bytes=config.viewer.max_buffer_kib * 1024,
        max_entry_chars=config.viewer.max_entry_kib * 1024,
        keep_newest=config.viewer.backfill,
        on_count=on_count,
    )


def viewer_server(
    config: Config, store: Store, clock: Clock, feed: LiveFeed, settings: ViewerSettings
) -> ViewerServer:
    from viewer.app import create_app
    from viewer.server import ViewerServer

    app = create_app(store, clock, feed, settings)
    host, port = split_endpoint(config.viewer.endpoint)  # "[::]:8080" -> "::", 8080
    return ViewerServer(app, host, port, max_pages=config.viewer.max_connections)


def viewer_settings(config: Config, sampling_summary: str, exporting: bool) -> ViewerSettings:
    """`exporting`: whether any exporter runs (the page says where kept entries go)."""
    from viewer.app import ViewerSettings

    return ViewerSettings(
        ttl_seconds=int(config.recent.ttl),
        sampling_summary=sampling_summary,
        backfill=config.viewer.backfill,
        max_connections=config.viewer.max_connections,
        exporter_enabled=exporting,
        export_label=config.exporters.label(),
        auth_token=_secret(config.viewer.auth_token),
        trace_url=config.viewer.trace_url or "",
        send_url=_send_url(config),
    )


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _send_url(config: Config) -> str:
    """The OTLP/HTTP receiver's address as the live page's first-run lines give it ("" when
    it is off); a wildcard host stays one, the page puts its own host there."""
    http = config.receivers.otlp.http
    if not http.enabled:
        return ""
    host, port = split_endpoint(http.endpoint)
    host = f"[{host}]" if ":" in host else host
    return f"{'https' if http.tls else 'http'}://{host}:{port}"
