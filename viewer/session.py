"""StreamSession: one live page's websocket, from hello to close.

A socket's life: subscribe to the feed, send Hello, read the client's optional Subscribe,
send the backfill (or the entries after the client's cursor) and the header's status, then
relay what the feed delivers, with a Heartbeat whenever it has been quiet. A page whose
buffer passes its byte bound is dropped (viewer.feed.Subscription) and resumes from its
cursor; one that takes nothing for SEND_TIMEOUT_SECONDS is given up (viewer.sending). Subscribing
before reading the store means no entry can fall between the backfill and the feed; the
overlap is dropped by id. Whatever changes the client's view other than plainly (a cursor
too old, entries missed by a slow client) is said in a Notice, and a close carries its reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format
from logsieve.v1 import stream_pb2

from gateway.clock import Clock
from gateway.errors import StorageError
from gateway.model import RecentEntry
from gateway.store import Store
from viewer import sending, stream
from viewer.feed import LiveFeed, Subscription
from viewer.filters import StreamFilter
from viewer.sending import FAREWELL_SECONDS, SendTimeout, close_with_reason
from viewer.stream import FramedEntry

log = logging.getLogger(__name__)

MAX_ENTRIES_PER_FRAME = 500  # keeps one catch-up after a busy second from becoming a huge frame
MAX_FRAME_BYTES = 256 * 1024  # and so does this, for big entries (one entry may pass it alone)
# A client further behind than this gets a fresh backfill: the page keeps 2,000 rows anyway.
RESUME_LIMIT = 2000
# A filtered backfill looks this far back for matches: bounded work for a rare match.
FILTERED_SCAN_LIMIT = 20_000
MAX_CURSOR = 2**63 - 1  # ids are signed 64-bit in SQL; a larger `after` is not one of ours
WAKE_SECONDS = 1.0  # how often an idle socket checks that its client is still there
CLOSE_GOING_AWAY = 1001  # websocket close code: the server stops; the client resumes later
CLOSE_TRY_AGAIN = 1013  # websocket close code: the server is full; retry later
CLOSE_POLICY = 1008  # websocket close code: the client sent something that is not a Subscribe
CLOSE_INTERNAL = 1011  # websocket close code: the store failed; the client retries with backoff
Notice = stream_pb2.Notice


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
    exporter_enabled: bool


class StreamSession:
    """One websocket: hello, backfill or resume, status, then entries, notices, heartbeats."""

    def __init__(self, ws: Any, settings: StreamSettings) -> None:
        self._ws = ws
        self._s = settings
        self._cursor = 0  # id of the last entry sent: what the client resumes from
        self._skip_through = 0  # feed entries up to this id were already sent on connect
        self._filter = StreamFilter()  # what the client asked to see
        self._chars = settings.feed.max_entry_chars  # entries are read shortened to this

    def run(self) -> None:
        if self._s.feed.subscriber_count() >= self._s.max_connections:
            # Each socket holds a thread: past the cap, say why rather than degrade everyone.
            close_with_reason(self._ws, CLOSE_TRY_AGAIN, "too many live pages open; retry later")
            return
        try:
            sub = self._s.feed.subscribe(newest=self._s.backfill)
        except StorageError as exc:
            self._fail(exc)
            return
        try:
            self._stream(sub)
        except StorageError as exc:
            self._fail(exc)
        except SendTimeout as exc:
            log.info("gave up a live page that reads nothing: %s", exc)
            sending.abort(self._ws)
        except OSError:
            sending.abort(self._ws)  # the client vanished mid-send: nothing left to tell it
        finally:
            self._s.feed.unsubscribe(sub)

    def _stream(self, sub: Subscription) -> None:
        self._send(stream.hello(0, self._s.ttl_seconds, self._s.sampling, self._s.backfill))
        after = self._read_subscribe()
        if after is not None:
            if self._filter.refused:  # said once; the stream goes on, keeping nothing
                self._send(stream.notice(0, Notice.BAD_QUERY, self._filter.refused))
            self._send_initial(after, sub)
            self._send_status(sub)
            self._relay(sub)

    def _fail(self, exc: StorageError) -> None:
        log.warning("live stream closed: the store failed: %s", exc)
        close_with_reason(self._ws, CLOSE_INTERNAL, "store unavailable, retry later")

    def _send(self, message: stream_pb2.StreamMessage) -> None:
        sending.send_text(self._ws, stream.frame(message))

    def _read_subscribe(self) -> int | None:
        """The client's resume cursor (0: wants a backfill); None if it sent garbage."""
        raw = self._ws.receive(timeout=self._s.subscribe_wait_seconds)
        if raw is None:
            return 0  # a client that says nothing gets the backfill
        try:
            if not isinstance(raw, str):
                raise json_format.ParseError("binary frame")
            subscribe = stream.parse_subscribe(raw)
            self._filter = self._with_merged_patterns(StreamFilter.from_subscribe(subscribe))
            after = int(subscribe.after)
            if after > MAX_CURSOR:
                raise json_format.ParseError("cursor out of range")
            return after
        except (json_format.ParseError, ValueError) as exc:
            said = f"expected a Subscribe message: {exc}"[:120]  # close reasons are short
            close_with_reason(self._ws, CLOSE_POLICY, said)
            return None

    def _with_merged_patterns(self, chosen: StreamFilter) -> StreamFilter:
        """A pattern filter that also keeps the entries of the ids merged into that pattern;
        when the store cannot say, the exact id alone (the page still works)."""
        if not chosen.pattern:
            return chosen
        try:
            return chosen.with_family(self._s.store.pattern_family(int(chosen.pattern, 16)))
        except StorageError:
            return chosen

    def _send_initial(self, after: int, sub: Subscription) -> None:
        now = self._s.clock.now_ns()
        catch_up = self._resume(after, now) if after else None
        if catch_up is None:
            if after:
                text = "Resumed too late to fill the gap: showing the newest entries instead."
                self._send(stream.notice(0, Notice.CURSOR_EXPIRED, text))
            self._send_entries(self._backfill(now, sub), backfill=True, initial=True)
        else:
            self._cursor = after
            self._send_entries(catch_up, backfill=False, initial=True)
        self._skip_through = self._cursor
        sub.delivered_through(self._cursor)

    def _backfill(self, now: int, sub: Subscription) -> Sequence[RecentEntry]:
        """The newest `backfill` entries the filter keeps, looking back a bounded way;
        unfiltered, as the feed kept them when this page subscribed (no read at all)."""
        if not self._filter.active and sub.newest is not None:
            return sub.newest
        if self._filter.refused:
            return []  # a refused query keeps nothing: no need to look
        newest = self._s.store.recent_newest(now, self._s.backfill, max_chars=self._chars)
        if not self._filter.active or not newest:
            return newest
        self._cursor = newest[-1].id  # filtered-out entries advance the cursor too
        kept = [r for r in newest if self._filter.keeps(r)]
        scanned, before = len(newest), newest[0].id
        while len(kept) < self._s.backfill and scanned < FILTERED_SCAN_LIMIT:
            older = self._s.store.recent_newest(now, 1000, before=before, max_chars=self._chars)
            if not older:
                break
            kept[:0] = [r for r in older if self._filter.keeps(r)]
            scanned, before = scanned + len(older), older[0].id
        return kept[-self._s.backfill :]

    def _resume(self, after: int, now: int) -> list[RecentEntry] | None:
        """Entries after the client's cursor, or None when a fresh backfill serves it better."""
        recent = self._s.store.recent_after(after, now, RESUME_LIMIT + 1, self._chars)
        if len(recent) > RESUME_LIMIT:
            return None  # away too long: the newest entries beat the oldest missed ones
        if not recent:
            newest = self._s.store.recent_newest(now, 1, max_chars=self._chars)
            if not newest or newest[-1].id < after:
                return None  # the cursor is ahead of the table: a new or reset database
        return recent

    def _send_entries(
        self, recent: Sequence[RecentEntry], *, backfill: bool, initial: bool = False
    ) -> None:
        """Send what the filter keeps in frames of bounded size (entries and bytes). The
        cursor passes filtered entries too; a live frame left empty by the filter is not sent
        (heartbeats carry the cursor), but the first frame on connect always is. Only the
        first frame of a backfill resets the page; the rest append to it."""
        batch: list[FramedEntry] = []
        size = 0
        for recent_entry in recent:
            self._cursor = max(self._cursor, recent_entry.id)
            if not self._filter.keeps(recent_entry):
                continue
            entry = stream.framed(recent_entry)
            batch.append(entry)
            size += entry.size
            if len(batch) >= MAX_ENTRIES_PER_FRAME or size >= MAX_FRAME_BYTES:
                self._send_batch(batch, backfill)
                batch, size, backfill, initial = [], 0, False, False
        if batch or initial:
            self._send_batch(batch, backfill)

    def _send_batch(self, batch: Sequence[FramedEntry], backfill: bool) -> None:
        sending.send_text(self._ws, stream.entries_frame(self._cursor, batch, backfill=backfill))

    def _send_status(self, sub: Subscription) -> None:
        status = sub.take_status() or self._s.feed.latest_status()
        if status is not None:
            self._send(stream.status(self._cursor, status, self._s.exporter_enabled))

    def _relay(self, sub: Subscription) -> None:
        last_sent = time.monotonic()
        while self._ws.connected and not sub.closed:
            until_heartbeat = last_sent + self._s.heartbeat_seconds - time.monotonic()
            wait = min(WAKE_SECONDS, max(0.0, until_heartbeat))
            delivered, status = sub.wait(timeout=wait)
            if sub.fell_behind:
                self._drop_behind()
                return
            fresh = self._unsent(delivered)
            self._drain_inbound()
            self._tell_missed(sub)
            if fresh:
                self._send_entries(fresh, backfill=False)
                last_sent = time.monotonic()
            if status is not None:
                self._send(stream.status(self._cursor, status, self._s.exporter_enabled))
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent >= self._s.heartbeat_seconds:
                self._send(stream.heartbeat(self._cursor, self._s.clock.now_ns()))
                last_sent = time.monotonic()
        if sub.closed and self._ws.connected:
            close_with_reason(self._ws, CLOSE_GOING_AWAY, "the viewer is shutting down")

    def _drop_behind(self) -> None:
        """Past the byte bound: say so if the socket still takes it, and close. The client
        reconnects and resumes from its cursor, so nothing is lost; its backlog is freed."""
        log.info("dropped a live page that fell behind the stream at entry %d", self._cursor)
        text = "This page fell behind the stream: it reconnects and resumes where it was."
        farewell = stream.frame(stream.notice(self._cursor, Notice.FELL_BEHIND, text))
        try:
            sending.send_text(self._ws, farewell, FAREWELL_SECONDS)
        except OSError:
            sending.abort(self._ws)  # not even that fits: end the connection
            return
        close_with_reason(self._ws, CLOSE_TRY_AGAIN, "fell behind the stream; resume later")

    def _tell_missed(self, sub: Subscription) -> None:
        # This client's buffer overflowed while it was slow: the oldest entries were dropped
        # so that the feed and every other page keep going. Say how many, not a silent hole.
        missed = sub.take_missed()
        if missed:
            text = f"{missed} entries were not sent: this page fell behind the stream."
            self._send(stream.notice(self._cursor, Notice.MISSED, text, missed))

    def _unsent(self, delivered: Sequence[RecentEntry]) -> list[RecentEntry]:
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
