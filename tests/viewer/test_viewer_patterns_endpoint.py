"""GET /logs/patterns: the Patterns view's JSON (ids in hex, counts as strings, a count per
minute), read once per FRESH_NS however many pages ask, behind the viewer's token, and a 503
the page can retry when the store fails."""

from __future__ import annotations

from typing import Any

import httpx
from flask.testing import FlaskClient

from gateway.model import Entry, LearnedPattern, PatternRef
from tests.viewer_rig import NS, T0, Rig, open_stream
from viewer.app import ViewerSettings, create_app
from viewer.top_patterns import FRESH_NS, MAX_PATTERNS, MINUTES

TOKEN = "correct horse battery staple"
CONNECT = PatternRef(0x1A2B3C4D5E6F7081, "Failed to connect to <IP> after <NUM> ms")
HOSTILE = PatternRef(0x7FFF_FFFF_FFFF_FFFF, "<script>alert(1)</script> user <*>")
MINUTE = 60 * NS


def entry(pattern: PatternRef | None, count: int, seen: int = T0, **fields: Any) -> Entry:
    values: dict[str, Any] = {
        "body": "a body",
        "severity_number": 9,
        "severity": "INFO",
        "service": "checkout",
    }
    values.update(fields)
    return Entry(count=count, first_seen=seen, last_seen=seen, pattern=pattern, **values)


def get_json(url: str, **headers: str) -> Any:
    response = httpx.get(url + "/logs/patterns", headers=headers, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    return response.json()


def test_the_window_s_top_patterns_as_json(rig: Rig) -> None:
    rig.add(
        entry(CONNECT, 1500, seen=T0),
        entry(CONNECT, 500, seen=T0 - 5 * MINUTE, severity="ERROR", service="search"),
        entry(HOSTILE, 2),
        entry(None, 10_000),  # grouped by body: not a pattern
    )
    server = rig.serve()

    answer = get_json(server.url)

    assert answer["minutes"] == MINUTES
    minute_ms = 60_000
    assert answer["firstMinuteUnixMs"] == (T0 // MINUTE - MINUTES + 1) * minute_ms
    connect, hostile = answer["patterns"]
    assert connect == {
        "id": "1a2b3c4d5e6f7081",
        "template": CONNECT.template,
        "count": "2000",
        "severities": ["INFO", "ERROR"],
        "services": ["checkout", "search"],
        "serviceCount": 2,
        "perMinute": [0] * (MINUTES - 6) + [500, 0, 0, 0, 0, 1500],
    }
    assert hostile["id"] == "7fffffffffffffff" and hostile["template"] == HOSTILE.template
    assert hostile["count"] == "2"


def test_merged_patterns_are_one_row_of_the_last_survivor_whose_id_filters_them_all(
    rig: Rig,
) -> None:
    narrow = PatternRef(0x11, "Invalid user admin from <IP>")
    wide = PatternRef(0x22, "Invalid user <*> from <IP>")
    wider = PatternRef(0x33, "Invalid <*> <*> from <IP>")
    rig.add(entry(narrow, 4, body="Invalid user admin from 10.0.0.1"))  # before the merges
    learned = [LearnedPattern(p.id, p.template, T0, T0, 1, "x") for p in (narrow, wide, wider)]
    rig.store.add_patterns(learned[:2], {narrow.id: wide.id})
    rig.add(entry(wide, 5, severity="WARN", body="Invalid user root from 10.0.0.2"))
    rig.store.add_patterns(learned[2:], {wide.id: wider.id})
    rig.add(entry(wider, 6, service="search", body="Invalid login root from 10.0.0.3"))
    server = rig.serve()

    (row,) = get_json(server.url)["patterns"]

    assert row["id"] == wider.hex_id and row["template"] == wider.template
    assert (row["count"], row["severities"], row["services"]) == (
        "15",
        ["INFO", "WARN"],
        ["checkout", "search"],
    )
    assert row["perMinute"][-1] == 15
    socket, backfill = open_stream(server, pattern=row["id"])  # choosing the row
    assert [shown["count"] for shown in backfill["entries"]["entries"]] == ["4", "5", "6"]
    socket.close()


def test_the_answer_is_read_once_per_fresh_period(rig: Rig) -> None:
    rig.add(entry(CONNECT, 3))
    server = rig.serve()
    assert get_json(server.url)["patterns"][0]["count"] == "3"

    rig.add(entry(CONNECT, 4))
    rig.clock.now += FRESH_NS - 1
    assert get_json(server.url)["patterns"][0]["count"] == "3"  # shared, not read again
    rig.clock.now += 1
    assert get_json(server.url)["patterns"][0]["count"] == "7"


def test_the_list_stops_at_max_patterns(rig: Rig) -> None:
    rig.add(*(entry(PatternRef(i + 1, f"pattern {i} <*>"), i + 1) for i in range(MAX_PATTERNS + 5)))
    server = rig.serve()

    found = get_json(server.url)["patterns"]

    assert len(found) == MAX_PATTERNS
    assert found[0]["count"] == str(MAX_PATTERNS + 5)  # the largest first
    assert found[-1]["count"] == "6"


def test_an_empty_window_is_an_empty_list(rig: Rig) -> None:
    assert get_json(rig.serve().url)["patterns"] == []


def test_a_failing_store_answers_503_with_a_retry_after(rig: Rig) -> None:
    server = rig.serve()
    rig.store.drop_all()  # every read of the window fails now

    response = httpx.get(server.url + "/logs/patterns", timeout=5)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"


def token_client(rig: Rig) -> FlaskClient:
    settings = ViewerSettings(ttl_seconds=60, sampling_summary="", auth_token=TOKEN)
    return create_app(rig.store, rig.clock, rig.feed, settings).test_client()


def test_with_a_token_set_the_patterns_need_it_and_are_refused_not_redirected(rig: Rig) -> None:
    rig.add(entry(CONNECT, 3))
    client = token_client(rig)

    refused = client.get("/logs/patterns")
    assert refused.status_code == 401  # a script reads it: no sign-in form
    assert b"Failed to connect" not in refused.data
    wrong = client.get("/logs/patterns", headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401

    by_program = client.get("/logs/patterns", headers={"Authorization": f"Bearer {TOKEN}"})
    assert by_program.status_code == 200
    assert by_program.json is not None and by_program.json["patterns"][0]["count"] == "3"
    signed_in = client.post("/login", data={"token": TOKEN, "next": "/logs?view=patterns"})
    assert signed_in.headers["Location"] == "/logs?view=patterns"
    assert client.get("/logs/patterns").status_code == 200  # the page's cookie
