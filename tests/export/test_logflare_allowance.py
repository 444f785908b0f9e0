"""The source's rate allowance Logflare reports on its answers, read into the outcome."""

from __future__ import annotations

import httpx
import pytest

from gateway.export.logflare import (
    SOURCE_LIMIT_HEADER,
    SOURCE_REMAINING_HEADER,
    classify,
    source_allowance,
)
from gateway.export.outcome import Allowance, OutcomeKind
from testkit.clock import FakeClock
from testkit.logflare import FakeLogflare, Fault
from tests.export.test_logflare import event, exporter_for


def headers(limit: str | None, remaining: str | None) -> dict[str, str]:
    """A plain mapping: httpx.Headers refuses non-ASCII str values when built, yet decodes
    a real answer's raw bytes as UTF-8 when they are, so `٣` can arrive."""
    given = {SOURCE_LIMIT_HEADER: limit, SOURCE_REMAINING_HEADER: remaining}
    return {name: value for name, value in given.items() if value is not None}


def test_the_source_headers_become_an_allowance() -> None:
    assert source_allowance(headers("1500", "1337")) == Allowance(limit=1500, remaining=1337)
    assert source_allowance(headers(" 50 ", "0")) == Allowance(limit=50, remaining=0)
    shouted = httpx.Headers(
        {"X-Rate-Limit-Source_Limit": "50", "X-RATE-LIMIT-SOURCE_REMAINING": "7"}
    )
    assert source_allowance(shouted) == Allowance(limit=50, remaining=7)  # names are any case


@pytest.mark.parametrize(
    ("limit", "remaining"),
    [
        (None, "10"),  # one missing: half an allowance is none
        ("50", None),
        (None, None),
        ("50", "-1"),  # negative
        ("-50", "10"),
        ("50", "+3"),  # a sign is not a count
        ("50.0", "10"),  # fraction
        ("50", "1e3"),
        ("fifty", "10"),
        ("50", ""),
        ("50", "²"),  # a digit to str.isdigit, not to int()
        ("50", "٣"),  # Arabic-Indic three: int() would take it, a header should not carry it
        ("9" * 5000, "10"),  # int() refuses strings this long: must not raise
        ("50", "10, 10"),  # the header twice (httpx joins them)
    ],
)
def test_odd_values_give_no_allowance_and_never_raise(
    limit: str | None, remaining: str | None
) -> None:
    assert source_allowance(headers(limit, remaining)) is None


def test_classify_carries_the_allowance_whatever_the_status() -> None:
    allowance = Allowance(limit=50, remaining=0)
    for status in (200, 429, 503, 406, 401, 302):
        assert classify(status, None, "", allowance=allowance).allowance == allowance
    assert classify(200, None, "").allowance is None  # existing callers: unchanged
    quota = classify(429, None, "over quota", allowance=allowance)
    assert (quota.kind, quota.retry_after, quota.detail) == (
        OutcomeKind.RETRY,
        None,
        "HTTP 429: over quota",
    )


def test_an_accepted_batch_reports_what_is_left(logflare: FakeLogflare) -> None:
    outcome = exporter_for(logflare).export([event(), event()])
    assert outcome.ok and outcome.allowance == Allowance(limit=1500, remaining=1498)


def test_a_quota_429_is_retried_with_nothing_left(logflare: FakeLogflare) -> None:
    logflare.fail_next(Fault.quota())
    outcome = exporter_for(logflare).export([event()])
    assert (outcome.kind, outcome.status, outcome.retry_after) == (OutcomeKind.RETRY, 429, None)
    assert outcome.allowance == Allowance(limit=1500, remaining=0)


def test_answers_without_the_headers_carry_no_allowance(logflare: FakeLogflare) -> None:
    logflare.fail_next(Fault.buffer_full(), Fault.server_error(503), Fault(0, reset=True))
    outcomes = [exporter_for(logflare).export([event()]) for _ in range(3)]
    assert [o.status for o in outcomes] == [429, 503, None]
    assert outcomes[0].retry_after == 3.0
    assert [o.allowance for o in outcomes] == [None, None, None]


def test_an_enforced_rate_is_seen_in_the_allowance() -> None:
    with FakeLogflare(api_key="k", clock=FakeClock(), source_rate=3) as fake:
        exporter = exporter_for(fake)
        first = exporter.export([event(), event()])
        refused = exporter.export([event(), event()])  # 4 > 3 in this second
        last = exporter.export([event()])
    assert first.ok and first.allowance == Allowance(limit=3, remaining=1)
    assert refused.kind is OutcomeKind.RETRY and refused.retry_after is None
    assert refused.allowance == Allowance(limit=3, remaining=1)  # a smaller batch would fit
    assert last.ok and last.allowance == Allowance(limit=3, remaining=0)
    assert fake.quota_refusals == 1 and len(fake.events) == 3
