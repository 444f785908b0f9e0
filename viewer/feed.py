"""LiveFeed: one poller per viewer process fans new recent entries out to every open page.

Pages never query the table on their own while live: however many are open, the
database sees one `recent_after` every poll interval and one `viewer_status` (the header's
figures) every status interval. A page only reads the store once, on connect, for its
backfill or resume (see viewer.app).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from gateway.clock import Clock
from gateway.errors import StorageError
from gateway.model import RecentEntry, ViewerStatus
from gateway.store import FailureLog, Store
from viewer import stream
from viewer.stream import FramedEntry

log = logging.getLogger(__name__)

DEFAULT_QUEUE_CAPACITY = 10_000
DEFAULT_BUFFER_BYTES = 1024 * 1024  # viewer.max_buffer_kib
DEFAULT_ENTRY_CHARS = 16 * 1024  # viewer.max_entry_kib
MAX_SERVICES = 100  # the page's service list; more than this is not a list anyone reads
MAX_EARLY_DROPS = 10_000  # dropped ids remembered until the page's first frame is sent


class Subscription:
    """One page's inbox: a queue the feed fills and the page's socket drains, bounded twice.

    In entries (`capacity`): past it the oldest are dropped and counted as `missed`, so a
    page that is briefly slow loses old entries rather than making the feed wait. In bytes
    (`max_bytes`, entries as framed): past it the page has fallen behind for good; the queue
    is emptied, nothing more is taken, and the session drops the page, which resumes from
    its cursor when it reconnects. One entry alone is always taken, whatever its size.
    """

    def __init__(
        self, capacity: int = DEFAULT_QUEUE_CAPACITY, max_bytes: int = DEFAULT_BUFFER_BYTES
    ) -> None:
        self._queue: deque[FramedEntry] = deque()
        self._capacity = capacity
        self._max_bytes = max_bytes
        self._bytes = 0  # what the queue holds, as framed
        self._fell_behind = False
        self._ready = threading.Condition()
        self._closed = False
        self._status: ViewerStatus | None = None  # newest status not yet taken
        self.missed = 0
        # Until the page's first frame is sent, drops are also remembered by id: those its
        # backfill held after all were not missed (delivered_through takes them back).
        self._connecting = True
        self._early_drops: list[int] = []
        self.newest: list[FramedEntry] | None = None  # see LiveFeed.subscribe

    @property
    def fell_behind(self) -> bool:
        """The byte bound was passed: the page is to be dropped."""
        return self._fell_behind

    @property
    def buffered_bytes(self) -> int:
        return self._bytes

    @property
    def closed(self) -> bool:
        return self._closed

    def offer(self, entries: Sequence[RecentEntry]) -> None:
        """Queue entries (called by the feed; rendered unless they already are), counting
        those pushed out as `missed`, or falling behind past the byte bound."""
        with self._ready:
            if self._closed or self._fell_behind or not entries:
                return
            items = [stream.framed(recent) for recent in entries]
            size = sum(item.size for item in items)
            if self._bytes + size > self._max_bytes and len(self._queue) + len(items) > 1:
                self._fell_behind, self._bytes = True, 0
                self._queue.clear()  # let go of it now: the page resumes from the store
                self._ready.notify_all()
                return
            overflow = len(self._queue) + len(items) - self._capacity
            if overflow > 0:
                self._count_drops(overflow, items)
            self._queue.extend(items)
            self._bytes += size
            while len(self._queue) > self._capacity:
                self._bytes -= self._queue.popleft().size
            self._ready.notify_all()

    def _count_drops(self, overflow: int, entries: Sequence[RecentEntry]) -> None:
        """Count the `overflow` oldest of queue + entries, which the deque is about to drop."""
        self.missed += overflow
        if self._connecting and len(self._early_drops) + overflow <= MAX_EARLY_DROPS:
            oldest = itertools.islice(itertools.chain(self._queue, entries), overflow)
            self._early_drops += [recent.id for recent in oldest]

    def delivered_through(self, last_id: int) -> None:
        """The page got every entry through `last_id` on connect: drops of those were no loss."""
        with self._ready:
            self.missed -= sum(1 for i in self._early_drops if i <= last_id)
            self._connecting, self._early_drops = False, []

    def offer_status(self, status: ViewerStatus) -> None:
        """Hand over a new status (called by the feed); only the newest one matters."""
        with self._ready:
            self._status = status
            self._ready.notify_all()

    def get(self, timeout: float | None = None) -> list[FramedEntry]:
        """Everything queued, oldest first; [] after `timeout` seconds or once closed."""
        return self.wait(timeout, for_status=False)[0]

    def wait(
        self, timeout: float | None = None, *, for_status: bool = True
    ) -> tuple[list[FramedEntry], ViewerStatus | None]:
        """Queued entries and the newest status not yet taken, as soon as either is there
        (or after `timeout` seconds, or once closed or fallen behind)."""
        with self._ready:
            self._ready.wait_for(
                lambda: (
                    self._queue
                    or self._closed
                    or self._fell_behind
                    or (for_status and self._status)
                ),
                timeout,
            )
            entries = list(self._queue)
            self._queue.clear()
            self._bytes = 0
            status = None
            if for_status:
                status, self._status = self._status, None
            return entries, status

    def take_status(self) -> ViewerStatus | None:
        with self._ready:
            status, self._status = self._status, None
            return status

    def take_missed(self) -> int:
        """How many entries were pushed out since the last call."""
        with self._ready:
            missed, self.missed = self.missed, 0
            return missed

    def close(self) -> None:
        """Wake the reader for good: the feed is shutting down or the page left."""
        with self._ready:
            self._closed = True
            self._queue.clear()
            self._bytes = 0
            self._ready.notify_all()


class LiveFeed:
    """Polls `recent_after(cursor)` on one thread and hands the new entries to subscribers."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        poll_interval: float = 0.25,
        status_interval: float = 5.0,
        news_status_interval: float = 1.0,
        batch_limit: int = 1000,
        queue_capacity: int = DEFAULT_QUEUE_CAPACITY,
        max_buffer_bytes: int = DEFAULT_BUFFER_BYTES,
        max_entry_chars: int = DEFAULT_ENTRY_CHARS,
        keep_newest: int = 0,
        on_count: Callable[[int], None] = lambda count: None,
    ) -> None:
        self._store = store
        self._on_count = on_count  # told the number of pages whenever it changes (a gauge)
        self._failures = FailureLog("live feed poll", clock, log)
        self.max_buffer_bytes = max_buffer_bytes
        # Entries reach pages shortened to this (see Store.recent_after): pages and sessions
        # read with the same limit.
        self.max_entry_chars = max_entry_chars
        self._clock = clock
        self._poll_interval = poll_interval
        self._status_interval = status_interval
        # After a poll that found entries, the header's figures are read again this soon
        # (not after status_interval): a page must not say "0 in the window" beside new rows.
        self._news_status_interval = news_status_interval
        self._batch_limit = batch_limit
        # The newest entries up to the cursor, rendered: backfills (viewer.backfill) come
        # from here. Bounded: keep_newest x an entry's shortened size.
        self._kept_newest = keep_newest
        self._newest: deque[FramedEntry] = deque(maxlen=keep_newest)
        self._queue_capacity = queue_capacity
        # None until the first poll or subscribe: the feed may be built before the
        # schema exists, so the first read of the table is deferred until it is needed.
        self._cursor: int | None = None
        self._poll_lock = threading.Lock()
        self._subscribers: set[Subscription] = set()
        self._subscribers_lock = threading.Lock()
        self._status: ViewerStatus | None = None
        self._services: dict[str, int] = {}  # service.name -> when its newest entry expires
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def cursor(self) -> int | None:
        """Id of the last entry fanned out (None before the first poll)."""
        return self._cursor

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None or self._stop.is_set():
            return
        self._thread = threading.Thread(target=self._run, name="viewer-feed", daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        """Stop polling and close every subscription, so open sockets end; idempotent."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        with self._subscribers_lock:
            subscribers, self._subscribers = self._subscribers, set()
            self._on_count(0)
        for sub in subscribers:
            sub.close()

    # -- subscribers -----------------------------------------------------------------------

    def subscribe(self, newest: int = 0) -> Subscription:
        """A new follower; with `newest`, its `newest` holds the newest unexpired entries up
        to the cursor (None when the feed keeps fewer than asked): an unfiltered backfill
        that costs no read and no rendering, however many pages connect at once."""
        sub = Subscription(self._queue_capacity, self.max_buffer_bytes)
        if self._stop.is_set():
            sub.close()
            return sub
        # Fix the cursor before the page reads its backfill, so nothing falls between them;
        # joined under the poll lock, so that a poll sees the cursor and its follower together.
        with self._poll_lock:
            now = self._clock.now_ns()
            if self._cursor is None:
                self._first_look(now)
            if 0 < newest <= self._kept_newest:
                sub.newest = [e for e in self._newest if e.expires_at > now][-newest:]
            with self._subscribers_lock:
                self._subscribers.add(sub)
                self._on_count(len(self._subscribers))
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._subscribers_lock:
            self._subscribers.discard(sub)
            self._on_count(len(self._subscribers))
        sub.close()

    def subscriber_count(self) -> int:
        with self._subscribers_lock:
            return len(self._subscribers)

    # -- polling ---------------------------------------------------------------------------

    def poll_once(self, now_ns: int) -> int:
        """One poll: fan out the entries newer than the cursor; returns how many."""
        with self._poll_lock:
            if not self.subscriber_count():
                # Nobody follows: read nothing (at a flood that is tens of thousands of rows
                # a second, taken from the receivers' share of the process); the next page
                # to connect starts from the newest entry, as the first one did.
                self._cursor = None
                self._newest.clear()
                return 0
            if self._cursor is None:
                self._first_look(now_ns)
                return 0
            read = self._store.recent_after(
                self._cursor, now_ns, self._batch_limit, self.max_entry_chars
            )
            if not read:
                return 0
            self._cursor = read[-1].id
            self._note_services(read)
            entries = [stream.framed(recent) for recent in read]  # once for every page
            self._newest.extend(entries)
        self._fan_out(entries)
        return len(entries)

    def _first_look(self, now_ns: int) -> None:
        # Only what arrives from now on is news; the services already in the window seed the
        # page's service list, which new entries keep up to date from here on.
        limit = max(1, self._kept_newest)
        newest = self._store.recent_newest(now_ns, limit, max_chars=self.max_entry_chars)
        self._newest.extend(stream.framed(recent) for recent in newest)
        self._cursor = newest[-1].id if newest else 0
        expires = newest[-1].expires_at if newest else now_ns
        for service in self._store.recent_services(now_ns, MAX_SERVICES):
            self._services[service] = expires

    def _note_services(self, entries: Sequence[RecentEntry]) -> None:
        """Every service the entries name, an aggregate's others too: the page's service
        filter finds an entry by any of them."""
        for recent in entries:
            self._services[recent.entry.service] = recent.expires_at
            for name in recent.entry.services:
                self._services[name] = recent.expires_at

    def _live_services(self, now_ns: int) -> tuple[str, ...]:
        live = {name: until for name, until in self._services.items() if until > now_ns}
        if len(live) > MAX_SERVICES:  # keep the ones seen last
            live = dict(sorted(live.items(), key=lambda item: item[1])[-MAX_SERVICES:])
        self._services = live
        return tuple(sorted(name for name in live if name))

    # -- status ----------------------------------------------------------------------------

    def latest_status(self) -> ViewerStatus | None:
        """The header's figures as last read (read now if never), for a page that connects:
        it sends them itself, so a first read here goes to no other page."""
        if self._status is None:
            try:
                self._read_status(self._clock.now_ns())
            except StorageError as exc:
                self._failures.failed(exc)
        return self._status

    def poll_status(self, now_ns: int) -> ViewerStatus:
        """Read the header's figures and hand them to every page if they changed."""
        status, changed = self._read_status(now_ns)
        if changed:
            with self._subscribers_lock:
                subscribers = list(self._subscribers)
            for sub in subscribers:
                sub.offer_status(status)
        return status

    def _read_status(self, now_ns: int) -> tuple[ViewerStatus, bool]:
        status = self._store.viewer_status(now_ns)
        with self._poll_lock:
            status = dataclasses.replace(status, services=self._live_services(now_ns))
            changed, self._status = status != self._status, status
        return status, changed

    def _fan_out(self, entries: Sequence[RecentEntry]) -> None:
        with self._subscribers_lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            sub.offer(entries)

    def _run(self) -> None:
        last_status, fetched = -math.inf, 0
        while not self._stop.is_set():
            try:
                due = self._news_status_interval if fetched else self._status_interval
                if time.monotonic() - last_status >= due:
                    last_status = time.monotonic()
                    self.poll_status(self._clock.now_ns())
                fetched = self.poll_once(self._clock.now_ns())
                self._failures.succeeded()
            except StorageError as exc:
                self._failures.failed(exc)  # a line a minute, not one a poll
                fetched = 0
            except Exception:
                # The one poller must outlive any surprise, or every page freezes silently.
                log.exception("live feed poll crashed, retrying")
                fetched = 0
            # A full batch means more is waiting: read on at once instead of lagging behind.
            if fetched < self._batch_limit:
                self._stop.wait(self._poll_interval)
