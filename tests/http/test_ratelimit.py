"""The token bucket per address: sending, counting failures only, and bounded memory."""

from __future__ import annotations

from gateway.http.ratelimit import RateLimiter
from testkit.clock import FakeClock


def test_a_sender_gets_its_burst_then_the_rate() -> None:
    clock = FakeClock(0)
    limiter = RateLimiter(clock, per_second=2.0, burst=3)
    assert [limiter.wait_s("a") for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]
    clock.advance(0.5)
    assert limiter.wait_s("a") == 0.0
    assert limiter.wait_s("b") == 0.0  # every address has its own bucket


def test_asking_takes_nothing_and_remembers_nothing() -> None:
    limiter = RateLimiter(FakeClock(0), per_second=1.0, burst=1)
    assert [limiter.blocked_s("a") for _ in range(5)] == [0.0] * 5
    assert limiter.tracked() == 0


def test_spent_failures_block_until_a_token_is_back() -> None:
    clock = FakeClock(0)
    limiter = RateLimiter(clock, per_second=0.25, burst=2)
    assert limiter.spend("a") == 0.0
    assert limiter.spend("a") == 4.0
    assert limiter.blocked_s("a") == 4.0
    clock.advance(1)
    assert limiter.blocked_s("a") == 3.0
    clock.advance(3)
    assert limiter.blocked_s("a") == 0.0


def test_memory_is_bounded_by_forgetting_the_least_recently_seen() -> None:
    limiter = RateLimiter(FakeClock(0), per_second=0.1, burst=1, max_tracked=3)
    for address in ("a", "b", "c"):
        limiter.spend(address)
    limiter.spend("a")  # seen again: now the most recent
    limiter.spend("d")  # one too many: "b", the least recently seen, is forgotten
    assert limiter.tracked() == 3
    assert limiter.blocked_s("b") == 0.0
    assert all(limiter.blocked_s(address) > 0 for address in ("a", "c", "d"))


def test_a_long_silence_refills_no_more_than_the_burst() -> None:
    clock = FakeClock(0)
    limiter = RateLimiter(clock, per_second=10.0, burst=2)
    limiter.wait_s("a")
    clock.advance(3600)  # an hour at 10/s would be 36,000 tokens: capped at 2
    assert [limiter.wait_s("a") for _ in range(3)] == [0.0, 0.0, 0.1]
