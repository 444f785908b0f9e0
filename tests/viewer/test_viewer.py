"""The live viewer against a real SQLite store: the feed, the page and the websocket stream."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.model import PatternRef, RecentEntry, VariableValues
from gateway.store import Store
from tests.live_viewer import FixedClock as FakeClock
from tests.viewer_rig import NS, RECV_SECONDS, T0, TTL_NS, add, make_entry
from viewer.app import CONTENT_SECURITY_POLICY, ViewerSettings, create_app, same_origin
from viewer.feed import LiveFeed, Subscription
from viewer.stream import entries, frame, to_proto

REPO = Path(__file__).resolve().parents[2]
CLIENT_PACKAGE_SCRIPT = REPO / "client" / "logsieve_client" / "browser" / "logsieve-client.js"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store("sqlite:///" + str(tmp_path / "viewer.db"))
    store.create_schema()
    yield store
    store.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def feed(store: Store, clock: FakeClock) -> Iterator[LiveFeed]:
    feed = LiveFeed(store, clock, poll_interval=0.05)
    yield feed
    feed.shutdown()


# -- the page --------------------------------------------------------------------------------


def test_root_redirects_to_the_page(store: Store, clock: FakeClock, feed: LiveFeed) -> None:
    app = create_app(store, clock, feed, ViewerSettings(ttl_seconds=3600, sampling_summary=""))
    response = app.test_client().get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/logs")


def test_page_has_disclaimer_and_strict_headers(
    store: Store, clock: FakeClock, feed: LiveFeed
) -> None:
    app = create_app(
        store, clock, feed, ViewerSettings(ttl_seconds=3600, sampling_summary="ERROR: keep all")
    )
    response = app.test_client().get("/logs")
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Live log stream" in html
    assert 'entries expire after\n      <span id="ttl">60 minutes</span>' in html
    assert "Logflare keeps the full history." in html
    assert "ERROR: keep all" in html
    # The CSP allows no inline code, so the page must not rely on any.
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))
    assert "<style" not in html
    assert not re.search(r"\sstyle=|\son[a-z]+=", html)


def test_the_header_names_the_export_as_the_config_does(
    store: Store, clock: FakeClock, feed: LiveFeed
) -> None:
    settings = ViewerSettings(ttl_seconds=60, sampling_summary="", export_label="Export")
    html = create_app(store, clock, feed, settings).test_client().get("/logs").get_data(True)
    assert 'data-label="Export">Export: …</span>' in html
    assert "Your log store keeps the full history" in html and "use Logflare" not in html


def test_page_escapes_the_sampling_summary(store: Store, clock: FakeClock, feed: LiveFeed) -> None:
    app = create_app(
        store, clock, feed, ViewerSettings(ttl_seconds=60, sampling_summary="<b>x</b>")
    )
    html = app.test_client().get("/logs").get_data(as_text=True)
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "60 seconds<" in html


@pytest.mark.parametrize(
    ("path", "kind"), [("/static/logs.js", "javascript"), ("/static/logs.css", "text/css")]
)
def test_static_files_are_served_with_headers(
    store: Store, clock: FakeClock, feed: LiveFeed, path: str, kind: str
) -> None:
    app = create_app(store, clock, feed, ViewerSettings(ttl_seconds=3600, sampling_summary=""))
    response = app.test_client().get(path)
    assert response.status_code == 200
    assert kind in response.headers["Content-Type"]
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    response.close()


def test_page_script_never_uses_inner_html() -> None:
    static = Path(__file__).parents[2] / "viewer" / "static"
    scripts = [*sorted(static.rglob("*.js")), CLIENT_PACKAGE_SCRIPT]
    script = "\n".join(path.read_text() for path in scripts)
    assert "innerHTML" not in script
    assert "insertAdjacentHTML" not in script
    assert "textContent" in script


# -- the wire format -------------------------------------------------------------------------


def test_frame_is_proto3_json_with_camel_case_and_string_uint64() -> None:
    entry = make_entry("boom", count=100, attributes={"http": {"method": "GET"}}, trace_id="ab")
    recent = RecentEntry(id=7, entry=entry, expires_at=T0 + TTL_NS)
    message = json.loads(frame(entries(7, [recent], backfill=True)))

    assert message["cursor"] == "7"
    sent = message["entries"]["entries"][0]
    assert sent["id"] == "7"
    assert sent["count"] == "100"
    assert sent["firstSeenUnixNano"] == str(T0 - NS)
    assert sent["expiresAtUnixNano"] == str(T0 + TTL_NS)
    assert sent["severityNumber"] == 9
    assert sent["traceId"] == "ab"
    assert sent["attributes"] == {"http": {"method": "GET"}}
    assert to_proto(recent).attributes["http"]["method"] == "GET"
    assert "pattern" not in sent  # an entry grouped by body: the field is absent


def test_a_pattern_entry_carries_its_template_and_values_on_the_wire() -> None:
    entry = make_entry("took 5 ms", count=3)
    took = VariableValues(top=(("5", 2),), other=1, distinct=2)
    entry.pattern = PatternRef(0x7ABC_0000_0000_0001, "took <NUM> ms", (took,))
    recent = RecentEntry(id=8, entry=entry, expires_at=T0 + TTL_NS)
    sent = json.loads(frame(entries(8, [recent], backfill=True)))["entries"]["entries"][0]
    assert sent["body"] == "took 5 ms"
    assert sent["pattern"] == {
        "id": "7abc000000000001",
        "template": "took <NUM> ms",
        "variables": [{"top": [{"value": "5", "count": "2"}], "other": "1", "distinct": "2"}],
    }


@pytest.mark.parametrize(
    ("origin", "host", "same"),
    [
        ("http://127.0.0.1:8080", "127.0.0.1:8080", True),
        ("http://logs.example", "logs.example", True),
        ("https://logs.example", "logs.example:443", True),
        ("http://evil.example", "logs.example", False),
        ("http://127.0.0.1:9999", "127.0.0.1:8080", False),
        ("null", "127.0.0.1:8080", False),
        ("http://127.0.0.1:bad", "127.0.0.1:8080", False),
    ],
)
def test_same_origin(origin: str, host: str, same: bool) -> None:
    assert same_origin(origin, host) is same


# -- the feed --------------------------------------------------------------------------------


def _count_reads(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The cursor of every recent_after the feed runs from here on."""
    calls: list[int] = []
    real = store.recent_after

    def counting(
        cursor: int, now: int, limit: int, max_chars: int | None = None
    ) -> list[RecentEntry]:
        calls.append(cursor)
        return real(cursor, now, limit, max_chars)

    monkeypatch.setattr(store, "recent_after", counting)
    return calls


def test_feed_reads_once_per_poll_however_many_subscribers(
    store: Store, clock: FakeClock, feed: LiveFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    subs = [feed.subscribe() for _ in range(20)]
    calls = _count_reads(store, monkeypatch)
    add(store, clock, make_entry("a"), make_entry("b"))

    assert feed.poll_once(clock.now) == 2
    assert len(calls) == 1
    for sub in subs:
        assert [r.entry.body for r in sub.get(timeout=0)] == ["a", "b"]


def test_feed_only_fans_out_what_arrives_after_it_starts(
    store: Store, clock: FakeClock, feed: LiveFeed
) -> None:
    add(store, clock, make_entry("old"))
    sub = feed.subscribe()
    add(store, clock, make_entry("new"))
    feed.poll_once(clock.now)
    assert [r.entry.body for r in sub.get(timeout=0)] == ["new"]
    assert feed.poll_once(clock.now) == 0


def test_feed_reads_nothing_while_no_page_follows(
    store: Store, clock: FakeClock, feed: LiveFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _count_reads(store, monkeypatch)
    first = feed.subscribe()
    feed.unsubscribe(first)
    add(store, clock, make_entry("nobody watching"))
    assert feed.poll_once(clock.now) == 0
    assert calls == []  # a flood with no page open costs the viewer no reads
    sub = feed.subscribe()  # starts from the newest entry, as the first page did
    add(store, clock, make_entry("watched"))
    assert feed.poll_once(clock.now) == 1
    assert [r.entry.body for r in sub.get(timeout=0)] == ["watched"]


def test_feed_never_fans_out_expired_entries(
    store: Store, clock: FakeClock, feed: LiveFeed
) -> None:
    sub = feed.subscribe()
    add(store, clock, make_entry("gone"), ttl=-1)
    add(store, clock, make_entry("live"))
    feed.poll_once(clock.now)
    assert [r.entry.body for r in sub.get(timeout=0)] == ["live"]


def test_a_failing_store_is_said_once_a_minute_not_once_a_poll(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = Store("postgresql+psycopg://postgres@127.0.0.1:1/nothing_listens_here")
    clock = FakeClock(T0)
    feed = LiveFeed(store, clock)
    try:
        for _ in range(5):
            assert feed.latest_status() is None  # the header waits; the page keeps going
        said = [r.getMessage() for r in caplog.records if "live feed poll" in r.getMessage()]
        assert len(said) == 1, said
        clock.now += 61 * NS
        feed.latest_status()
        said = [r.getMessage() for r in caplog.records if "live feed poll" in r.getMessage()]
        assert len(said) == 2 and "failed 5 times in the last minute" in said[1], said
    finally:
        store.dispose()


def test_subscription_overflow_drops_oldest_and_counts() -> None:
    sub = Subscription(capacity=3)
    recent = [RecentEntry(i, make_entry(str(i)), T0 + TTL_NS) for i in range(1, 6)]
    sub.offer(recent[:2])
    sub.offer(recent[2:])
    assert [r.id for r in sub.get(timeout=0)] == [3, 4, 5]
    assert sub.missed == 2


def test_feed_follows_new_entries_after_the_purge_empties_the_table(
    store: Store, clock: FakeClock, feed: LiveFeed
) -> None:
    sub = feed.subscribe()
    add(store, clock, make_entry("first"), make_entry("second"))
    feed.poll_once(clock.now)
    assert feed.cursor == 2
    clock.now += TTL_NS  # both expire; the purge empties the table
    feed.poll_once(clock.now)
    store.purge_expired(clock.now, 100)
    add(store, clock, make_entry("after the purge"))  # ids are never reused

    feed.poll_once(clock.now)
    got = sub.get(timeout=0)
    assert [r.entry.body for r in got][-1] == "after the purge"
    assert got[-1].id == 3


def test_feed_thread_delivers_and_shuts_down_promptly(store: Store, clock: FakeClock) -> None:
    feed = LiveFeed(store, clock, poll_interval=0.05)
    feed.start()
    try:
        sub = feed.subscribe()
        add(store, clock, make_entry("threaded"))
        got = sub.get(timeout=RECV_SECONDS)
        assert [r.entry.body for r in got] == ["threaded"]
    finally:
        feed.shutdown()
        feed.shutdown()  # idempotent
    assert sub.closed
    assert not any(t.name == "viewer-feed" and t.is_alive() for t in threading.enumerate())


def test_the_browser_logging_script_may_be_loaded_by_other_sites(
    store: Store, clock: FakeClock, feed: LiveFeed
) -> None:
    app = create_app(store, clock, feed, ViewerSettings(ttl_seconds=3600, sampling_summary=""))
    response = app.test_client().get("/static/logsieve-client.js")
    assert response.status_code == 200
    assert response.data == CLIENT_PACKAGE_SCRIPT.read_bytes()  # the one copy there is
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    response.close()
    page = app.test_client().get("/logs")
    assert "Access-Control-Allow-Origin" not in page.headers  # only that one public file


def test_entries_dropped_before_the_backfill_went_out_are_missed_only_if_it_lacked_them() -> None:
    sub = Subscription(capacity=2)
    recent = [RecentEntry(i, make_entry(str(i)), T0 + TTL_NS) for i in range(1, 8)]
    sub.offer(recent[:5])  # while the page connects: 1, 2 and 3 are pushed out
    sub.delivered_through(2)  # its backfill held 1 and 2: only 3 is missing
    assert sub.missed == 1
    sub.offer(recent[5:])  # 4 and 5 pushed out now: both missed
    assert sub.missed == 3
    assert [r.id for r in sub.get(timeout=0)] == [6, 7]
