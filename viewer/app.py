"""The viewer's Flask app: the /logs page and its /logs/stream websocket.

A socket's life: subscribe to the feed, send Hello, read the client's optional
Subscribe, send the backfill (or the entries after the client's cursor), then relay
what the feed delivers, with a Heartbeat whenever it has been quiet. Subscribing
before reading the store means no entry can fall between the backfill and the feed;
the overlap is dropped by id.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, abort, redirect, render_template, request, url_for
from flask_sock import Sock
from google.protobuf import json_format
from logsieve.v1 import stream_pb2
from werkzeug.wrappers import Response as BaseResponse

from gateway.clock import Clock
from gateway.errors import StorageError
from gateway.model import RecentEntry
from gateway.store import Store
from viewer import stream
from viewer.feed import LiveFeed, Subscription
from viewer.filters import StreamFilter

log = logging.getLogger(__name__)

STREAM_PATH = "/logs/stream"
MAX_INBOUND_BYTES = 4096  # a Subscribe is a few bytes; anything bigger is not a client of ours
MAX_ENTRIES_PER_FRAME = 500  # keeps one catch-up after a busy second from becoming a huge frame
# A client further behind than this gets a fresh backfill: the page keeps 2,000 rows anyway.
RESUME_LIMIT = 2000
MAX_CURSOR = 2**63 - 1  # ids are signed 64-bit in SQL; a larger `after` is not one of ours
WAKE_SECONDS = 1.0  # how often an idle socket checks that its client is still there
CLOSE_TRY_AGAIN = 1013  # websocket close code: the client fell behind and should resume
CLOSE_POLICY = 1008  # websocket close code: the client sent something that is not a Subscribe
CLOSE_INTERNAL = 1011  # websocket close code: the store failed; the client retries with backoff

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True, slots=True)
class StreamSettings:
    store: Store
    clock: Clock
    feed: LiveFeed
    ttl_seconds: int
    sampling: str
    backfill: int
    heartbeat_seconds: float
    subscribe_wait_seconds: float
    max_connections: int


def create_app(
    store: Store,
    clock: Clock,
    feed: LiveFeed,
    *,
    ttl_seconds: int,
    sampling_summary: str,
    backfill: int = 300,
    heartbeat_seconds: float = 15.0,
    subscribe_wait_seconds: float = 0.5,
    max_connections: int = 200,
) -> Flask:
    """The viewer app; `subscribe_wait_seconds` is how long a silent client delays backfill."""
    app = Flask(__name__)
    # simple-websocket closes the socket (1009) on a frame bigger than this.
    app.config["SOCK_SERVER_OPTIONS"] = {"max_message_size": MAX_INBOUND_BYTES}
    settings = StreamSettings(
        store,
        clock,
        feed,
        ttl_seconds,
        sampling_summary,
        backfill,
        heartbeat_seconds,
        subscribe_wait_seconds,
        max_connections,
    )
    app.before_request(_reject_cross_origin_stream)
    app.after_request(_security_headers)
    _add_page_routes(app, settings)

    def logs_stream(ws: Any) -> None:
        StreamSession(ws, settings).run()

    Sock(app).route(STREAM_PATH)(logs_stream)  # flask-sock is untyped: no decorator syntax
    return app


def _add_page_routes(app: Flask, settings: StreamSettings) -> None:
    @app.get("/")
    def index() -> BaseResponse:
        return redirect(url_for("logs"))

    @app.get("/logs")
    def logs() -> str:
        return render_template(
            "logs.html",
            ttl_text=human_duration(settings.ttl_seconds),
            sampling=settings.sampling,
        )


def _security_headers(response: Response) -> Response:
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


def same_origin(origin: str, host: str) -> bool:
    """True when an Origin header names the host the request was sent to."""
    try:
        parsed_origin = urlsplit(origin)
        parsed_host = urlsplit("//" + host)
        return parsed_origin.scheme in ("http", "https") and _host_port(
            parsed_origin.hostname, parsed_origin.port, parsed_origin.scheme
        ) == _host_port(parsed_host.hostname, parsed_host.port, parsed_origin.scheme)
    except ValueError:  # a malformed port or bracket: not an origin we can trust
        return False


def _host_port(hostname: str | None, port: int | None, scheme: str) -> tuple[str, int]:
    default = 443 if scheme == "https" else 80
    return (hostname or "", port or default)


def human_duration(seconds: int) -> str:
    """60 -> "1 minute", 3600 -> "60 minutes", 7200 -> "2 hours" (the page's wording)."""

    def plural(n: int, unit: str) -> str:
        return f"{n} {unit}" if n == 1 else f"{n} {unit}s"

    if seconds % 3600 == 0 and seconds > 3600:
        return plural(seconds // 3600, "hour")
    if seconds % 60 == 0 and seconds > 0:
        return plural(seconds // 60, "minute")
    return plural(seconds, "second")


class StreamSession:
    """One websocket: hello, backfill or resume, then the feed's entries and heartbeats."""

    def __init__(self, ws: Any, settings: StreamSettings) -> None:
        self._ws = ws
        self._s = settings
        self._cursor = 0  # id of the last entry sent: what the client resumes from
        self._skip_through = 0  # feed entries up to this id were already sent on connect
        self._filter = StreamFilter()  # what the client asked to see

    def run(self) -> None:
        if self._s.feed.subscriber_count() >= self._s.max_connections:
            # Each socket holds a thread: past the cap, say why rather than degrade everyone.
            self._ws.close(reason=CLOSE_TRY_AGAIN, message="too many live pages open; retry later")
            return
        try:
            sub = self._s.feed.subscribe()
        except StorageError as exc:
            self._fail(exc)
            return
        try:
            self._stream(sub)
        except StorageError as exc:
            self._fail(exc)
        except OSError:
            pass  # the client vanished mid-send: nothing left to tell it
        finally:
            self._s.feed.unsubscribe(sub)

    def _stream(self, sub: Subscription) -> None:
        self._send(stream.hello(0, self._s.ttl_seconds, self._s.sampling))
        after = self._read_subscribe()
        if after is not None:
            self._send_initial(after)
            self._relay(sub)

    def _fail(self, exc: StorageError) -> None:
        log.warning("live stream closed: the store failed: %s", exc)
        self._ws.close(reason=CLOSE_INTERNAL, message="store unavailable, retry later")

    def _send(self, message: stream_pb2.StreamMessage) -> None:
        self._ws.send(stream.frame(message))

    def _read_subscribe(self) -> int | None:
        """The client's resume cursor (0: wants a backfill); None if it sent garbage."""
        raw = self._ws.receive(timeout=self._s.subscribe_wait_seconds)
        if raw is None:
            return 0  # a client that says nothing gets the backfill
        try:
            if not isinstance(raw, str):
                raise json_format.ParseError("binary frame")
            subscribe = stream.parse_subscribe(raw)
            self._filter = StreamFilter.from_subscribe(subscribe)
            after = int(subscribe.after)
            if after > MAX_CURSOR:
                raise json_format.ParseError("cursor out of range")
            return after
        except (json_format.ParseError, ValueError):
            self._ws.close(reason=CLOSE_POLICY, message="expected a Subscribe message")
            return None

    def _send_initial(self, after: int) -> None:
        now = self._s.clock.now_ns()
        catch_up = self._resume(after, now) if after else None
        if catch_up is None:
            recent = self._s.store.recent_newest(now, self._s.backfill)
            self._send_entries(recent, backfill=True, initial=True)
        else:
            self._cursor = after
            self._send_entries(catch_up, backfill=False, initial=True)
        self._skip_through = self._cursor

    def _resume(self, after: int, now: int) -> list[RecentEntry] | None:
        """Entries after the client's cursor, or None when a fresh backfill serves it better."""
        recent = self._s.store.recent_after(after, now, RESUME_LIMIT + 1)
        if len(recent) > RESUME_LIMIT:
            return None  # away too long: the newest entries beat the oldest missed ones
        if not recent:
            newest = self._s.store.recent_newest(now, 1)
            if not newest or newest[-1].id < after:
                return None  # the cursor is ahead of the table: a new or reset database
        return recent

    def _send_entries(
        self, recent: Sequence[RecentEntry], *, backfill: bool, initial: bool = False
    ) -> None:
        """Send what the filter keeps in frames of bounded size. The cursor passes filtered
        entries too; a live frame left empty by the filter is not sent (heartbeats carry the
        cursor), but the first frame on connect always is."""
        step = MAX_ENTRIES_PER_FRAME
        chunks = [recent[i : i + step] for i in range(0, len(recent), step)] or [[]]
        for index, chunk in enumerate(chunks):
            if chunk:
                self._cursor = chunk[-1].id
            shown = [entry for entry in chunk if self._filter.keeps(entry)]
            first_of_backfill = backfill and index == 0
            if shown or (initial and index == 0):
                # Only the first frame of a backfill resets the page; the rest append to it.
                self._send(stream.entries(self._cursor, shown, backfill=first_of_backfill))

    def _relay(self, sub: Subscription) -> None:
        last_sent = time.monotonic()
        while self._ws.connected and not sub.closed:
            until_heartbeat = last_sent + self._s.heartbeat_seconds - time.monotonic()
            wait = min(WAKE_SECONDS, max(0.0, until_heartbeat))
            fresh = self._unsent(sub.get(timeout=wait))
            self._drain_inbound()
            if sub.missed:
                # Entries were dropped for this slow client: let it resume from its cursor,
                # which reads the gap from the store instead of showing a silent hole.
                self._ws.close(reason=CLOSE_TRY_AGAIN, message="fell behind, resume")
                return
            if fresh:
                self._send_entries(fresh, backfill=False)
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent >= self._s.heartbeat_seconds:
                self._send(stream.heartbeat(self._cursor, self._s.clock.now_ns()))
                last_sent = time.monotonic()

    def _unsent(self, delivered: list[RecentEntry]) -> list[RecentEntry]:
        """Drop the connect-time overlap and whatever expired while queued."""
        now = self._s.clock.now_ns()
        fresh = []
        for recent in delivered:
            if self._skip_through:
                if recent.id <= self._skip_through:
                    continue
                self._skip_through = 0  # ids rise from here on: stop comparing
            if recent.expires_at > now:
                fresh.append(recent)
        return fresh

    def _drain_inbound(self) -> None:
        # Nothing after the Subscribe means anything; read it so it cannot pile up.
        while self._ws.receive(timeout=0) is not None:
            pass
