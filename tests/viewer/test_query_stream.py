"""The search language on the live stream: Subscribe.query filters the backfill and what follows
on the server, and a query the server refuses is answered with a BAD_QUERY notice saying why,
then nothing, until the page subscribes again; clients that send no query are unaffected."""

from __future__ import annotations

import json
from typing import Any

from gateway.model import Entry
from tests.viewer_rig import Rig, bodies, connect, make_entry, open_stream, recv

HTTP_503 = {"http": {"status_code": 503, "route": "/api/pay"}}


def entries(rig: Rig) -> None:
    rig.add(
        make_entry(
            "GET /api/pay upstream timeout",
            severity="ERROR",
            severity_number=17,
            attributes=HTTP_503,
        ),
        make_entry("GET /api/cart ok", attributes={"http": {"status_code": 200}}),
        make_entry("disk almost full", severity="WARN", severity_number=13, service="search"),
        make_entry("health check ok", service="search"),
    )


def live(rig: Rig, entry: Entry, ws: Any) -> dict[str, Any]:
    rig.add(entry)
    rig.feed.poll_once(rig.clock.now)
    return recv(ws)


def test_a_query_filters_the_backfill_and_the_live_entries(rig: Rig) -> None:
    entries(rig)
    server = rig.serve()
    ws, backfill = open_stream(server, query="level:>=warn -service:checkout OR timeout")
    assert bodies(backfill) == ["GET /api/pay upstream timeout", "disk almost full"]
    said = live(rig, make_entry("payment TIMEOUT again", severity="ERROR"), ws)
    assert bodies(said) == ["payment TIMEOUT again"]
    ws.close()

    ws, backfill = open_stream(server, query="http.status_code:>=500 /^GET \\/api\\//")
    assert bodies(backfill) == ["GET /api/pay upstream timeout"]
    ws.close()


def test_the_query_and_the_older_filters_apply_together(rig: Rig) -> None:
    entries(rig)
    ws, backfill = open_stream(rig.serve(), service="search", query="ok OR full")
    assert bodies(backfill) == ["disk almost full", "health check ok"]
    ws.close()
    ws, backfill = open_stream(rig.serve(), text="OK")  # a client without a query
    assert bodies(backfill) == ["GET /api/cart ok", "health check ok"]
    ws.close()


def test_a_bad_query_is_answered_with_why_and_nothing_else(rig: Rig) -> None:
    entries(rig)
    server = rig.serve(heartbeat_seconds=0.1)
    ws = open_refused(server, 'service:"checkout')
    rig.add(make_entry("checkout failed", severity="ERROR"))
    rig.feed.poll_once(rig.clock.now)
    heartbeat = recv(ws)  # the feed has handed the entry over: the next frame is no entry
    assert "heartbeat" in heartbeat and heartbeat["cursor"] == "5"
    ws.close()

    # Subscribing again with a query that parses brings the entries.
    ws, backfill = open_stream(server, query="service:checkout failed")
    assert bodies(backfill) == ["checkout failed"]
    ws.close()


def open_refused(server: Any, query: str) -> Any:
    """Subscribe with a query the server refuses: the BAD_QUERY notice, then an empty backfill
    (so the page is live, showing nothing)."""
    ws = connect(server)
    assert "hello" in recv(ws)
    ws.send(json.dumps({"after": "0", "query": query}))
    notice = recv(ws)["notice"]
    assert notice == {
        "kind": "BAD_QUERY",
        "text": 'missing closing " for the one at character 9',
    }
    backfill = recv(ws)
    assert backfill["entries"].get("backfill") is True and bodies(backfill) == []
    return ws


def test_a_regex_that_would_stall_a_backtracking_engine_streams_at_once(rig: Rig) -> None:
    rig.add(make_entry("a" * 30 + "b"), make_entry("aaa"))
    ws, backfill = open_stream(rig.serve(), query="/(a+)+$/")
    assert bodies(backfill) == ["aaa"]
    ws.close()
