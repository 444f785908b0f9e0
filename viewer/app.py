"""The viewer's Flask app: the /logs page and its /logs/stream websocket (viewer.session),
an entry whole (/logs/entries/<id>), the window's top patterns (/logs/patterns) and the
entries of an entry's services around it (/logs/context, viewer.context).

Around them: a strict Content-Security-Policy, the Origin check on the websocket handshake,
and, when viewer.auth_token is set, the token for both (viewer.auth).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask import (
    Flask,
    Response,
    abort,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_sock import Sock
from werkzeug.wrappers import Response as BaseResponse

from gateway import severity
from gateway.clock import Clock
from gateway.errors import StorageError
from gateway.store import Store
from gateway.text import human_duration
from viewer import auth, client_script, stream
from viewer.auth import ViewerAuth, same_origin
from viewer.context import add_context_route
from viewer.feed import LiveFeed
from viewer.session import MAX_CURSOR, StreamSession, StreamSettings
from viewer.top_patterns import TopPatterns

log = logging.getLogger(__name__)

STREAM_PATH = "/logs/stream"
PATTERNS_PATH = "/logs/patterns"
RETRY_AFTER_SECONDS = 5  # the store failed a page's read: the page may ask again
CLIENT_SCRIPT = "/static/logsieve-client.js"
MAX_INBOUND_BYTES = 4096  # a Subscribe is a few bytes; anything bigger is not a client of ours
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True, slots=True)
class ViewerSettings:
    """What the viewer is told, apart from its dependencies (store, clock, feed)."""

    ttl_seconds: int  # how long entries stay on the page, said in its header
    sampling_summary: str  # the sampling rules, in words, for the header
    backfill: int = 300  # entries a new page starts with
    heartbeat_seconds: float = 15.0
    subscribe_wait_seconds: float = 0.5  # how long a silent client delays its backfill
    max_connections: int = 200  # open live pages, at most
    exporter_enabled: bool = False  # the header shows the exporters' state only when one is on
    # What the header calls the export (`Logflare`, `OTLP`, or `Export` for several), and what
    # keeps the full history, in the page's words.
    export_label: str = "Logflare"
    auth_token: str | None = field(default=None, repr=False)
    trace_url: str = ""  # a tracing UI's link with {trace_id}; "" when not set
    # The OTLP/HTTP receiver, for the page's first-run lines that send a log.
    send_url: str = "http://127.0.0.1:4318"


def create_app(store: Store, clock: Clock, feed: LiveFeed, settings: ViewerSettings) -> Flask:
    """The viewer app over `store`, its live `feed`, told `settings`."""
    app = Flask(__name__)
    # simple-websocket closes the socket (1009) on a frame bigger than this.
    app.config["SOCK_SERVER_OPTIONS"] = {"max_message_size": MAX_INBOUND_BYTES}
    stream_settings = StreamSettings(
        store,
        clock,
        feed,
        settings.ttl_seconds,
        settings.sampling_summary,
        settings.backfill,
        settings.heartbeat_seconds,
        settings.subscribe_wait_seconds,
        settings.max_connections,
        settings.exporter_enabled,
    )
    app.before_request(_reject_cross_origin_stream)
    auth.install(app, ViewerAuth(settings.auth_token, clock))
    app.after_request(_security_headers)
    _add_page_routes(app, stream_settings, settings)
    _add_patterns_route(app, TopPatterns(store, clock))
    add_context_route(app, store, clock, feed.max_entry_chars, _json_response, _store_unavailable)
    _add_client_script_route(app)

    def logs_stream(ws: Any) -> None:
        StreamSession(ws, stream_settings).run()

    Sock(app).route(STREAM_PATH)(logs_stream)  # flask-sock is untyped: no decorator syntax
    return app


def _add_page_routes(app: Flask, settings: StreamSettings, page: ViewerSettings) -> None:
    @app.get("/")
    def index() -> BaseResponse:
        return redirect(url_for("logs"))

    @app.get("/logs")
    def logs() -> str:
        return render_template(
            "logs.html",
            ttl_text=human_duration(settings.ttl_seconds),
            sampling=settings.sampling,
            bands=severity.BANDS,
            trace_url=page.trace_url,
            send_url=page.send_url,
            export_label=page.export_label,
        )

    @app.get("/logs/entries/<int:entry_id>")
    def entry(entry_id: int) -> Response:
        """One entry whole, as proto3 JSON: the stream may have shortened it (viewer.stream),
        the page asks for the rest when a row is expanded."""
        try:
            found = whole_entry(settings, entry_id)
        except StorageError as exc:
            log.warning("could not read entry %d for a page: %s", entry_id, exc)
            return _store_unavailable()
        if found is None:
            abort(404)
        return _json_response(found)


def _add_patterns_route(app: Flask, top: TopPatterns) -> None:
    @app.get(PATTERNS_PATH)
    def patterns() -> Response:
        """The window's top patterns, for the page's Patterns view (viewer.top_patterns)."""
        try:
            return _json_response(top.json())
        except StorageError as exc:
            log.warning("could not read the window's patterns for a page: %s", exc)
            return _store_unavailable()


def _add_client_script_route(app: Flask) -> None:
    # Flask's own /static/<path:filename> looks in viewer/static/; werkzeug tries a rule
    # without variables first, so this one answers for the script.
    @app.get(CLIENT_SCRIPT)
    def client_script_file() -> Response:
        """The browser logging script: the client package's own file (viewer.client_script),
        at the address pages have always loaded it from."""
        try:
            path = client_script.script_path()
        except FileNotFoundError as exc:  # a broken install: say so, the page still works
            log.error("cannot serve the browser logging script: %s", exc)
            abort(404)
        return send_file(path, mimetype="text/javascript", conditional=True)


def _json_response(text: str) -> Response:
    response = Response(text, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _store_unavailable() -> Response:
    unavailable = Response("store unavailable, retry later\n", 503, mimetype="text/plain")
    unavailable.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return unavailable


def whole_entry(settings: StreamSettings, entry_id: int) -> str | None:
    """The entry's JSON, or None when it expired or never was (or the id is not one of ours)."""
    if entry_id > MAX_CURSOR:
        return None
    found = settings.store.recent_entry(entry_id, settings.clock.now_ns())
    return stream.entry_json(found) if found is not None else None


def _security_headers(response: Response) -> Response:
    if request.path == CLIENT_SCRIPT:
        # The browser logging script is public code for other sites' pages: let them load it
        # as a module, with integrity checks, or under Cross-Origin-Embedder-Policy.
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _reject_cross_origin_stream() -> None:
    # Browsers let any page open a websocket anywhere and send cookies along, so the
    # handshake must check Origin itself (CSWSH). Runs before flask-sock upgrades.
    if request.path != STREAM_PATH:
        return
    origin = request.headers.get("Origin")
    if origin is not None and not same_origin(origin, request.host):
        log.warning("refused a live stream from origin %r (host %r)", origin, request.host)
        abort(403)
