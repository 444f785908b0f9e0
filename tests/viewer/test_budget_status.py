"""What the viewer sends of the budgets: in each Status frame, every budgeted exporter's rate,
announced limit, held entries and when the oldest began to wait (the page works out how long
on its own clock); entries still reach the page as each batch is processed."""

from __future__ import annotations

import json

from gateway.model import BudgetState, ViewerStatus
from tests.budget_kit import hold, set_bucket
from tests.viewer_rig import NS, T0, TTL_NS, Rig, bodies, make_entry, open_stream, recv
from viewer import stream


def test_the_status_frame_carries_each_budget_by_exporter() -> None:
    budgets = {
        "otlp": BudgetState(rate=10.0, limit=0.0, held=0, oldest_held_ns=0),
        "logflare": BudgetState(rate=45.0, limit=50.0, held=1234, oldest_held_ns=T0),
    }
    state = ViewerStatus(3, (), {}, 0, budgets)
    sent = json.loads(stream.frame(stream.status(7, state, exporter_enabled=True)))
    assert sent["status"]["budgets"] == [
        {
            "exporter": "logflare",
            "rate": 45.0,
            "limit": 50.0,
            "heldEntries": "1234",
            "oldestHeld": "2023-11-14T22:13:20Z",
        },
        {"exporter": "otlp", "rate": 10.0},  # proto3 JSON leaves out what is 0: nothing held
    ]


def test_no_budget_no_budgets_in_the_frame() -> None:
    sent = json.loads(stream.frame(stream.status(7, ViewerStatus(0, (), {}, 0), False)))
    assert "budgets" not in sent["status"]


def test_a_batch_that_holds_entries_shows_them_at_once_and_the_status_says_what_waits(
    rig: Rig,
) -> None:
    """The batch's transaction writes its live entries and its held ones together: the page
    gets the entries now, whatever the budget holds back from the exporter."""
    live = [(make_entry("user 7 logged in"), rig.clock.now + TTL_NS)]
    hold(rig.store, ["user <NUM> logged in", "disk slow"], T0 - 90 * NS, recent=live)
    set_bucket(rig.store, T0 - 80 * NS, rate=45.0, limit=50.0)
    ws, first = open_stream(rig.serve(exporter_enabled=True))
    assert bodies(first) == ["user 7 logged in"]
    status = recv(ws, skip=())["status"]
    assert status["budgets"] == [
        {
            "exporter": "logflare",
            "rate": 45.0,
            "limit": 50.0,
            "heldEntries": "2",
            "oldestHeld": "2023-11-14T22:11:50Z",  # T0 - 90 s
        }
    ]
    hold(rig.store, ["queue full"], T0)  # one more held: the next status says so
    rig.feed.poll_status(rig.clock.now)
    assert recv(ws, skip=())["status"]["budgets"][0]["heldEntries"] == "3"
    ws.close()
