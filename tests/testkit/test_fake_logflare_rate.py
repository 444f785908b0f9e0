"""The fake Logflare's enforced source rate: fixed windows on its clock, the quota 429."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from testkit.clock import FakeClock
from testkit.logflare import QUOTA_ERROR, FakeLogflare
from tests.logflare_fixtures import KEY, NOW_NS, event, post

RATE = 5  # events/s; with the default 1 s window, 5 per window


@pytest.fixture
def rated(clock: FakeClock) -> Iterator[FakeLogflare]:
    with FakeLogflare(api_key=KEY, clock=clock, source_rate=RATE) as server:
        yield server


@pytest.fixture
def rated_client(rated: FakeLogflare) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=rated.url, timeout=5.0) as c:
        yield c


def send(client: httpx.Client, fake: FakeLogflare, n: int) -> httpx.Response:
    return post(client, fake, {"batch": [event(message=f"e{i}") for i in range(n)]})


def source(response: httpx.Response) -> tuple[str, str]:
    """(limit, remaining) as the answer reports them for the source."""
    h = response.headers
    return h["x-rate-limit-source_limit"], h["x-rate-limit-source_remaining"]


def test_the_limit_holds_exactly_within_a_window(
    rated: FakeLogflare, rated_client: httpx.Client
) -> None:
    answers = [send(rated_client, rated, n) for n in (3, 2)]
    assert [(a.status_code, source(a)) for a in answers] == [(200, ("5", "2")), (200, ("5", "0"))]
    refused = send(rated_client, rated, 1)  # the 6th event of the window
    assert refused.status_code == 429
    assert refused.json() == {"error": QUOTA_ERROR}
    assert "retry-after" not in refused.headers  # the rate 429 has none, unlike Buffer Full
    assert source(refused) == ("5", "0")
    assert len(rated.events) == 5 and rated.quota_refusals == 1


def test_a_refused_request_stores_nothing_and_uses_nothing(
    rated: FakeLogflare, rated_client: httpx.Client
) -> None:
    assert send(rated_client, rated, 3).status_code == 200
    refused = send(rated_client, rated, 3)  # 6 > 5: refused whole, not cut to fit
    assert refused.status_code == 429 and source(refused) == ("5", "2")
    assert (rated.requests[-1].status, rated.requests[-1].event_count) == (429, 0)
    assert [e["event_message"] for e in rated.events] == ["e0", "e1", "e2"]
    fits = send(rated_client, rated, 2)  # the refused three took none of the window
    assert fits.status_code == 200 and source(fits) == ("5", "0")
    assert rated.quota_refusals == 1


def test_the_next_window_starts_afresh(
    rated: FakeLogflare, rated_client: httpx.Client, clock: FakeClock
) -> None:
    assert send(rated_client, rated, 5).status_code == 200
    clock.advance(0.999)  # windows are fixed on the clock, and NOW_NS starts one
    assert send(rated_client, rated, 1).status_code == 429
    clock.advance(0.001)
    fresh = send(rated_client, rated, 5)
    assert fresh.status_code == 200 and source(fresh) == ("5", "0")
    assert len(rated.events) == 10 and rated.quota_refusals == 1


def test_a_batch_larger_than_the_limit_never_fits(
    rated: FakeLogflare, rated_client: httpx.Client
) -> None:
    assert send(rated_client, rated, RATE + 1).status_code == 429
    assert rated.events == [] and rated.quota_refusals == 1


def test_the_window_and_rate_set_the_limit(clock: FakeClock) -> None:
    with (
        FakeLogflare(api_key=KEY, clock=clock, source_rate=50, rate_window_s=0.1) as fake,
        httpx.Client(base_url=fake.url, timeout=5.0) as client,
    ):
        assert source(send(client, fake, 4)) == ("5", "1")  # round(50 x 0.1) per 100 ms
        assert send(client, fake, 2).status_code == 429
        clock.advance(0.1)
        assert send(client, fake, 2).status_code == 200


def test_requests_record_the_clock_time_they_were_handled(
    rated: FakeLogflare, rated_client: httpx.Client, clock: FakeClock
) -> None:
    send(rated_client, rated, 5)
    clock.advance(0.25)
    send(rated_client, rated, 1)  # refused
    clock.advance(1.0)
    post(rated_client, rated, [event()], headers={"x-api-key": "wrong"})  # 401, before ingest
    assert [(r.status, r.at_ns) for r in rated.requests] == [
        (200, NOW_NS),
        (429, NOW_NS + 250_000_000),
        (401, NOW_NS + 1_250_000_000),
    ]


def test_rejected_requests_take_none_of_the_window(
    rated: FakeLogflare, rated_client: httpx.Client
) -> None:
    assert post(rated_client, rated, [event()] * 5, headers={"x-api-key": "no"}).status_code == 401
    assert post(rated_client, rated, raw=b"{not json").status_code == 400
    assert send(rated_client, rated, 5).status_code == 200
    assert rated.quota_refusals == 0


def test_concurrent_requests_never_pass_the_limit_together(
    rated: FakeLogflare, rated_client: httpx.Client
) -> None:
    def one(_: int) -> int:  # one client, thread-safe, its pool opens a connection per thread
        return send(rated_client, rated, 1).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(one, range(12)))
    assert sorted(statuses) == [200] * RATE + [429] * (12 - RATE)
    assert len(rated.events) == RATE and rated.quota_refusals == 12 - RATE


def test_the_user_headers_still_count_the_minute(
    rated: FakeLogflare, rated_client: httpx.Client
) -> None:
    send(rated_client, rated, 3)
    refused = send(rated_client, rated, 3)
    assert refused.headers["x-rate-limit-user_limit"] == "9000"
    assert refused.headers["x-rate-limit-user_remaining"] == "8997"  # accepted events only


def test_without_a_rate_nothing_is_enforced(fake: FakeLogflare, client: httpx.Client) -> None:
    response = send(client, fake, 1600)  # past the reported per-minute 1500
    assert response.status_code == 200 and source(response) == ("1500", "0")
    assert len(fake.events) == 1600 and fake.quota_refusals == 0
    assert fake.requests[0].at_ns == NOW_NS


@pytest.mark.parametrize(("rate", "window"), [(-1, 1.0), (5, 0.0), (5, -1.0)])
def test_a_meaningless_rate_is_refused(rate: int, window: float) -> None:
    with pytest.raises(ValueError, match=r"source_rate|rate_window_s"):
        FakeLogflare(source_rate=rate, rate_window_s=window)
