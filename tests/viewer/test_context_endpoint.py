"""GET /logs/context: an entry with the entries of its services around it, as JSON, behind
the viewer's token like every /logs route."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.errors import StorageError
from gateway.model import Entry
from gateway.store import Store
from tests.viewer_rig import NS, T0, Rig, make_entry
from viewer.context import MAX_AROUND

TOKEN = "s3cret-token"


def seen(body: str, service: str, second: int, **fields: Any) -> Entry:
    return make_entry(body, service=service, first_seen=T0 + second * NS, **fields)


@pytest.fixture
def context_rig(rig: Rig) -> dict[str, int]:
    rig.add(
        seen("p-1", "payments", 1),
        seen("cart", "cart", 2),
        seen("target", "payments", 3, services={"payments": 2, "checkout": 1}, count=3),
        seen("c-1", "checkout", 4),
        seen("p-2", "payments", 5),
        seen("p-3", "payments", 6),
    )
    return {recent.entry.body: recent.id for recent in rig.store.recent_after(0, T0, 100)}


def get(rig: Rig, query: str, **headers: str) -> httpx.Response:
    server = rig.servers[0] if rig.servers else rig.serve()
    return httpx.get(f"{server.url}/logs/context?{query}", headers=headers, timeout=5)


def test_the_entries_of_its_services_around_an_entry(rig: Rig, context_rig: dict[str, int]) -> None:
    response = get(rig, f"id={context_rig['target']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    found = response.json()
    assert found["entry"]["body"] == "target" and found["entry"]["id"] == str(context_rig["target"])
    assert found["services"] == ["payments", "checkout"]
    assert [e["body"] for e in found["before"]] == ["p-1"]  # oldest first
    assert [e["body"] for e in found["after"]] == ["c-1", "p-2", "p-3"]
    assert (found["moreBefore"], found["moreAfter"]) == (False, False)
    assert found["after"][0]["services"] == [{"name": "checkout", "count": "1"}]


def test_before_and_after_bound_each_side(rig: Rig, context_rig: dict[str, int]) -> None:
    found = get(rig, f"id={context_rig['target']}&before=0&after=2").json()
    assert found["before"] == [] and found["moreBefore"] is True
    assert [e["body"] for e in found["after"]] == ["c-1", "p-2"] and found["moreAfter"] is True


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 400),
        ("id=abc", 400),
        ("id=-1", 400),
        ("id=1&before=x", 400),
        (f"id=1&after={MAX_AROUND + 1}", 400),
        ("id=1&before=" + "9" * 30, 400),
        ("id=999", 404),
        (f"id={2**63}", 404),
    ],
)
def test_bad_arguments_and_unknown_entries(
    rig: Rig, context_rig: dict[str, int], query: str, status: int
) -> None:
    assert get(rig, query).status_code == status


def test_an_expired_entry_has_no_context(rig: Rig) -> None:
    rig.add(seen("gone", "payments", 1), ttl=-1)
    assert get(rig, "id=1").status_code == 404


def test_the_token_is_needed(rig: Rig, context_rig: dict[str, int]) -> None:
    rig.serve(auth_token=TOKEN)
    target = context_rig["target"]
    refused = get(rig, f"id={target}")
    assert refused.status_code == 401  # a script reads it: no sign-in form, no entries
    assert '"entry"' not in refused.text
    allowed = get(rig, f"id={target}", Authorization=f"Bearer {TOKEN}")
    assert allowed.status_code == 200 and allowed.json()["entry"]["body"] == "target"


def test_a_store_failure_is_a_503_to_retry(
    rig: Rig, context_rig: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise StorageError("disk gone")

    monkeypatch.setattr(Store, "recent_context", broken)
    response = get(rig, f"id={context_rig['target']}")
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
