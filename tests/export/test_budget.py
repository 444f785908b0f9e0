"""The budget's arithmetic as pure functions of (held entries, bucket, answers, now)."""

from __future__ import annotations

import math

import pytest

from gateway.export.budget import (
    START_RATE,
    BudgetPolicy,
    answered,
    charge,
    fresh_bucket,
    plan_release,
    refill,
)
from gateway.export.outcome import Allowance, ExportOutcome, OutcomeKind
from gateway.model import Bucket, Held

NS = 1_000_000_000
T0 = 1_700_000_000 * NS
INFO, WARN, DEBUG = 9, 13, 5
OK = ExportOutcome(OutcomeKind.OK, 200)
QUOTA = ExportOutcome(OutcomeKind.RETRY, 429, allowance=Allowance(limit=50, remaining=0))


def held(hid: int, deadline_s: float, number: int = INFO, sent: int = 0) -> Held:
    return Held(hid, f"key-{hid}", number, T0 + int(deadline_s * NS), sent)


def test_a_fresh_bucket_starts_at_the_ceiling_or_a_modest_guess() -> None:
    assert fresh_bucket(T0, 50.0) == Bucket(50.0, T0, 50.0)
    assert fresh_bucket(T0, 0.0).rate == START_RATE


def test_tokens_refill_at_the_rate_up_to_the_burst() -> None:
    empty = Bucket(0.0, T0, 50.0)
    assert refill(empty, T0 + NS // 10, burst=100, ceiling=50.0).tokens == pytest.approx(5.0)
    assert refill(empty, T0 + 60 * NS, burst=100, ceiling=50.0).tokens == 100.0
    assert refill(empty, T0 - NS, burst=100, ceiling=50.0).tokens == 0.0  # a clock step back


def test_errors_may_leave_the_bucket_in_debt_which_later_refills_pay() -> None:
    debt = charge(Bucket(10.0, T0, 50.0), 60)
    assert debt.tokens == -50.0
    assert refill(debt, T0 + NS, burst=100, ceiling=50.0).tokens == pytest.approx(0.0)


def test_a_429_halves_the_rate_and_empties_the_bucket() -> None:
    after = answered(Bucket(30.0, T0, 40.0), ExportOutcome(OutcomeKind.RETRY, 429), ceiling=0.0)
    assert (after.rate, after.tokens) == (20.0, 0.0)


def test_an_announced_limit_caps_the_rate_just_under_it() -> None:
    bucket = Bucket(10.0, T0, 200.0)
    after = answered(bucket, ExportOutcome(OutcomeKind.OK, 200, allowance=Allowance(50, 40)), 0.0)
    assert after.rate == pytest.approx(45.0) and after.limit == 50.0
    assert answered(bucket, OK, 0.0).rate == 200.0  # nothing announced: nothing learned
    assert answered(bucket, OK, 30.0).rate == 30.0  # the configured ceiling holds too


def test_an_allowance_nearly_spent_slows_the_rate_before_a_429_comes() -> None:
    bucket = Bucket(10.0, T0, 40.0, limit=3000.0)  # the limit heard before
    nearly = ExportOutcome(OutcomeKind.OK, 200, allowance=Allowance(limit=3000, remaining=200))
    assert answered(bucket, nearly, 0.0).rate == pytest.approx(32.0)
    plenty = ExportOutcome(OutcomeKind.OK, 200, allowance=Allowance(limit=3000, remaining=2000))
    assert answered(bucket, plenty, 0.0).rate == 40.0


def test_the_rate_recovers_gradually_up_to_what_is_allowed() -> None:
    low = answered(Bucket(0.0, T0, 45.0, limit=50.0), QUOTA, ceiling=0.0)
    assert low.rate == pytest.approx(22.5)
    later = refill(low, T0 + 10 * NS, burst=1000, ceiling=0.0)
    assert low.rate < later.rate < 45.0  # 2 % of the top a second
    assert refill(low, T0 + 3600 * NS, burst=1000, ceiling=0.0).rate == pytest.approx(45.0)


def test_with_no_ceiling_and_no_limit_the_rate_grows_until_the_backend_objects() -> None:
    free = refill(Bucket(0.0, T0, 10.0), T0 + 10 * NS, burst=1000, ceiling=0.0)
    assert free.rate > 10.0 and math.isfinite(free.rate)


def test_due_entries_go_first_then_the_next_deadlines_while_there_is_room() -> None:
    entries = [held(1, 30), held(2, -5), held(3, 10), held(4, -1)]
    assert plan_release(entries, room=3, now=T0, always_first=1).send == (2, 4, 3)
    assert plan_release(entries, room=0, now=T0 + 11 * NS, always_first=1).dropped == ()


def test_nothing_goes_without_room_unless_its_wait_ran_out() -> None:
    assert plan_release([held(1, 30), held(2, 60)], room=0, now=T0, always_first=1).send == ()


def test_due_entries_past_the_room_are_sampled_lowest_band_first() -> None:
    warn = [held(i, -1, WARN, sent=1) for i in range(10)]
    debug = [held(i, -1, DEBUG, sent=1) for i in range(10, 110)]
    release = plan_release(warn + debug, room=30, now=T0, always_first=1)
    assert set(range(10)) <= set(release.send)  # WARN fits whole: not sampled
    sampled = [hid for hid in release.send if hid >= 10]
    assert 8 <= len(sampled) <= 35  # DEBUG at about 20 of 100
    assert all(release.rates[hid] == pytest.approx(5.0) for hid in sampled)
    assert set(release.dropped) == set(range(10, 110)) - set(sampled)


def test_each_keys_first_events_of_its_window_always_go() -> None:
    fresh = [held(i, -1, DEBUG, sent=0) for i in range(50)]
    release = plan_release(fresh, room=10, now=T0, always_first=1)
    assert sorted(release.send) == list(range(50)) and not release.rates


def test_the_plan_is_the_same_every_time() -> None:
    due = [held(i, -1, DEBUG, sent=3) for i in range(200)]
    first = plan_release(due, room=50, now=T0, always_first=1)
    assert plan_release(list(reversed(due)), room=50, now=T0, always_first=1) == first


def test_the_policy_refills_plans_and_charges_what_it_sends() -> None:
    policy = BudgetPolicy(ceiling=50.0, burst=100)
    full = Bucket(100.0, T0, 50.0)
    release, after = policy.decide(full, [held(1, 100), held(2, 200)], T0)
    assert release.send == (1, 2) and after.tokens == pytest.approx(98.0)  # it would lose them
    release, after = policy.decide(None, [held(i, -1, sent=1) for i in range(80)], T0)
    assert len(release.send) == 50 and after.tokens == 0.0  # a fresh bucket: 1 s of rate


def test_entries_wait_their_whole_wait_while_the_bucket_is_not_full() -> None:
    policy = BudgetPolicy(ceiling=50.0, burst=100)
    release, _ = policy.decide(Bucket(20.0, T0, 50.0), [held(1, 100), held(2, 200)], T0)
    assert release.send == ()  # sending early would cost their keys another event


def test_deadlines_that_fall_together_are_spread_before_they_come() -> None:
    """200 entries due at once in 2 s, at 50 a run: 100 must go now (and 50 each of the next
    two runs), not 200 at the deadline, more than the bucket holds."""
    policy = BudgetPolicy(ceiling=50.0, burst=100)
    together = [held(i, 2) for i in range(200)]
    release, _ = policy.decide(Bucket(100.0, T0, 50.0), together, T0)
    assert len(release.send) == 100 and not release.dropped


def test_spare_tokens_go_to_the_entries_held_longest() -> None:
    """A full bucket's spare tokens: not to the short-wait band's entry held a second ago
    (it would be sent again at once), but to those that have merged longest."""
    policy = BudgetPolicy(ceiling=2.0, burst=2)
    just_held = Held(1, "warn", WARN, T0 + 9 * NS, 1, held_since_ns=T0 - NS)
    long_held = [Held(i, f"info-{i}", INFO, T0 + 10 * NS, 1, T0 - 10 * NS) for i in (2, 3)]
    release, _ = policy.decide(Bucket(2.0, T0, 2.0), [just_held, *long_held], T0)
    assert release.send == (2, 3)


def test_what_deadlines_need_now_goes_by_deadline_before_the_spare_by_age() -> None:
    """Three due in 1 s at 1 a run: two must go now, the soonest deadlines, whatever their age;
    the bucket would lose none, so nothing else goes."""
    policy = BudgetPolicy(ceiling=1.0, burst=3)
    soon = [Held(i, f"k{i}", INFO, T0 + NS, 1, T0 - i * NS) for i in (1, 2, 3)]
    older = Held(9, "old", INFO, T0 + 60 * NS, 1, T0 - 100 * NS)
    release, _ = policy.decide(Bucket(2.0, T0, 1.0), [*soon, older], T0)
    assert len(release.send) == 2 and 9 not in release.send


def test_due_entries_wait_for_tokens_a_few_seconds_rather_than_be_sampled() -> None:
    """ERRORs sent at once left the bucket 100 in debt: 200 due entries fit in the next 10 s
    of 50/s, so they go as tokens come, most overdue first, and none is sampled out; 600 do
    not, so those are sampled to what 10 s of the rate carries."""
    policy = BudgetPolicy(ceiling=50.0, burst=50)
    due = [held(i, -1 - i / 1000, sent=1) for i in range(200)]
    release, _ = policy.decide(Bucket(-100.0, T0, 50.0), due, T0)
    assert release.send == () and release.dropped == ()
    release, _ = policy.decide(Bucket(30.0, T0, 50.0), due, T0)
    assert release.send == tuple(range(199, 169, -1)) and release.dropped == ()
    flood = [held(i, -1, sent=1) for i in range(600)]
    release, _ = policy.decide(Bucket(-100.0, T0, 50.0), flood, T0)
    assert 300 <= len(release.send) <= 500 and len(release.send) + len(release.dropped) == 600


def test_the_outbox_backlog_already_charged_is_not_counted_twice_against_the_wait() -> None:
    """A batch's 275 ERRORs went straight to the outbox: the bucket is 230 in debt and the
    outbox holds them. In the next 10 s at 45/s the outbox sends them and 175 more, so 150
    due entries wait for that rather than be sampled out."""
    policy = BudgetPolicy(ceiling=45.0, burst=45)
    due = [held(i, -1, sent=1) for i in range(150)]
    release, _ = policy.decide(Bucket(-230.0, T0, 45.0), due, T0, backlog=275)
    assert release.send == () and release.dropped == ()


def test_the_first_announced_limit_lifts_a_rate_still_finding_its_way() -> None:
    learning = fresh_bucket(T0, 0.0)  # START_RATE: nothing heard yet
    told = ExportOutcome(OutcomeKind.OK, 200, allowance=Allowance(limit=50, remaining=40))
    assert answered(learning, told, 0.0).rate == pytest.approx(45.0)
    assert answered(learning, told, 20.0).rate == pytest.approx(20.0)  # a ceiling still holds
    slowed = Bucket(10.0, T0, 12.0, limit=50.0)  # heard before, then a 429: it recovers slowly
    assert answered(slowed, told, 0.0).rate == pytest.approx(12.0)
