"""An exporter's budget as pure functions of their input and `now`.

    bucket:  tokens refill at the rate in use, up to the burst; every event sent takes one
             (ERROR and above go at once and may leave the bucket in debt)
    rate:    the configured ceiling, lowered by the backend's answers (a 429 halves it; an
             allowance header caps it under the backend's limit) and recovering gradually
    release: held entries move to the outbox when their wait runs out; earlier only when
             deadlines falling together need it (soonest deadline first) or with tokens a
             full bucket would lose (longest held first); only when the due ones alone cannot
             fit are the lowest bands sampled per key (each key's first events of a window
             always go)

The store keeps the bucket and the held entries, so every gateway sharing a database spends
one budget (gateway/store/_held.py); the export stage applies these decisions.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from gateway import severity
from gateway.clock import NS_PER_SECOND
from gateway.export.outcome import Allowance, ExportOutcome
from gateway.model import Bucket, Held, Release

NS = NS_PER_SECOND
START_RATE = 10.0  # events/s before the backend has said anything, with no ceiling set
MIN_RATE = 0.1
BACKOFF_FACTOR = 0.5  # on a 429
RECOVERY_PER_S = 0.02  # of the ceiling (or of the rate, with none) regained per second
UNDER_LIMIT = 0.9  # the share of the backend's announced limit we use
TICK_S = 1.0  # the export stage's runs, a second apart (gateway/runtime/app.py)
REQUEST_HEADROOM = 1.1  # x the rate in one request: under 1 / UNDER_LIMIT
NEARLY_SPENT = 0.1  # a remaining allowance under this share of the limit: slow down
# A due entry waits up to this much longer for tokens before the budget samples: ERRORs sent
# at once leave the bucket in debt for a few seconds after each batch, and sampling then
# would drop counts that a few seconds' tokens carry whole.
LATE_S = 10.0
SLOWER = 0.8  # ... by this factor, before the backend has to say 429


def fresh_bucket(now: int, ceiling: float) -> Bucket:
    rate = ceiling or START_RATE
    return Bucket(tokens=rate, updated_ns=now, rate=rate)


def refill(bucket: Bucket, now: int, burst: int, ceiling: float) -> Bucket:
    """Tokens earned since the last update, up to `burst`; the rate recovers meanwhile."""
    elapsed = max(0, now - bucket.updated_ns) / NS
    tokens = min(float(burst), bucket.tokens + bucket.rate * elapsed)
    top = _top(ceiling, bucket.limit)
    step = RECOVERY_PER_S * (top if math.isfinite(top) else bucket.rate) * elapsed
    return Bucket(tokens, max(now, bucket.updated_ns), min(top, bucket.rate + step), bucket.limit)


def charge(bucket: Bucket, events: int) -> Bucket:
    """`events` sent: the bucket may go into debt (errors never wait)."""
    return Bucket(bucket.tokens - events, bucket.updated_ns, bucket.rate, bucket.limit)


def answered(bucket: Bucket, outcome: ExportOutcome, ceiling: float) -> Bucket:
    """The backend's answer adjusts the rate: a 429 halves it and empties the bucket; an
    announced limit caps it just under that limit (the first one heard also lifts a rate
    still finding its way up to there: the backend said what it takes), and an allowance
    nearly spent slows it (whatever period the backend counts over, we are close to it)."""
    limit = _announced(outcome.allowance) or bucket.limit
    rate = min(bucket.rate, _top(ceiling, limit))
    if limit and not bucket.limit and not _nearly_spent(outcome.allowance):
        rate = _top(ceiling, limit)
    tokens = bucket.tokens
    if outcome.status == 429:
        rate, tokens = rate * BACKOFF_FACTOR, min(tokens, 0.0)
    elif _nearly_spent(outcome.allowance):
        rate *= SLOWER
    return Bucket(tokens, bucket.updated_ns, max(MIN_RATE, rate), limit)


def _nearly_spent(allowance: Allowance | None) -> bool:
    return allowance is not None and allowance.remaining < NEARLY_SPENT * allowance.limit


def _announced(allowance: Allowance | None) -> float:
    return float(allowance.limit) if allowance is not None and allowance.limit > 0 else 0.0


def _top(ceiling: float, limit: float) -> float:
    """The highest rate allowed: the ceiling, and under the backend's limit when known."""
    tops = [value for value in (ceiling, limit * UNDER_LIMIT) if value > 0]
    return min(tops) if tops else math.inf


@dataclass(frozen=True, slots=True)
class Early:
    """How many held entries go before their wait runs out, and how they are chosen."""

    needed: int = 0  # for every later deadline to be met: the earliest deadlines go
    spare: int = 0  # tokens a full bucket would lose otherwise: the longest held go


def plan_release(
    held: Sequence[Held],
    room: int,
    now: int,
    always_first: int,
    early: Early | None = None,
    late_room: int | None = None,
) -> Release:
    """Which held entries go now: every due one if they fit, then up to `early` more before
    their wait runs out (default: the whole room, oldest deadline first). Due ones past the
    room but within `late_room` (what the next LATE_S of the rate brings) wait for tokens,
    most overdue first; past that, each key's first events of the window go and the rest
    are sampled per band to fit `late_room`, higher bands first."""
    ordered = sorted(held, key=lambda h: (h.deadline_ns, h.id))
    due = [h for h in ordered if h.deadline_ns <= now]
    if len(due) > room:
        if late_room is not None and len(due) <= late_room:
            return Release(send=tuple(h.id for h in due[: max(0, room)]))
        return _sampled(due, max(room, late_room or 0), always_first)
    waiting, left = ordered[len(due) :], room - len(due)
    later = waiting[:left] if early is None else _early(waiting, left, early)
    return Release(send=tuple(h.id for h in due + later))


def _early(waiting: list[Held], room: int, early: Early) -> list[Held]:
    """The entries needed now by deadline, then spare tokens on the entries held longest:
    by deadline alone, a short-wait band sent early is held again at once with the earliest
    deadline and takes every spare token, while a long-wait band's entries all come due
    together, more than the room."""
    needed = waiting[: min(room, early.needed)]
    rest = sorted(waiting[len(needed) :], key=lambda h: (h.held_since_ns, h.deadline_ns, h.id))
    return needed + rest[: max(0, min(room - len(needed), early.spare))]


def early_room(bucket: Bucket, burst: int, held: Sequence[Held], now: int) -> Early:
    """How many entries go before their wait runs out. An entry sent early stops merging,
    and its key's next entries cost another event, so only: the fewest that must go now so
    that, a run's worth at a time from the next run on, every held entry still goes by its
    deadline (entries whose deadlines fall together must not all come due at once, more than
    the bucket holds), and the tokens the bucket would lose by the next run (it is full)."""
    lost = math.floor(bucket.tokens + bucket.rate * TICK_S - burst)
    needed = max(0, _needed_now(held, now, bucket.rate))
    return Early(needed=needed, spare=max(0, lost - needed))


def _needed_now(held: Sequence[Held], now: int, rate: float) -> int:
    """The latest schedule that meets every deadline: at most `rate` a run from the next
    run on, so the k-th deadline needs k - (what those runs send by then) sent now."""
    waiting = sorted(h.deadline_ns for h in held if h.deadline_ns > now)
    needed = 0
    for k, deadline in enumerate(waiting, 1):
        runs = (deadline - now) // int(TICK_S * NS)
        needed = max(needed, k - math.floor(rate * TICK_S * runs))
    return needed


def _sampled(due: list[Held], room: int, always_first: int) -> Release:
    first = [h for h in due if h.sent_in_window < always_first]
    rest = [h for h in due if h.sent_in_window >= always_first]
    send, rates, dropped = [h.id for h in first], {}, []
    left = room - len(first)
    for rank in sorted({_rank(h) for h in rest}, reverse=True):
        band = [h for h in rest if _rank(h) == rank]
        share = min(1.0, max(0, left) / len(band))
        for h in band:
            if share >= 1.0 or (share > 0 and _draw(h) < share):
                send.append(h.id)
                if share < 1.0:
                    rates[h.id] = 1.0 / share
            else:
                dropped.append(h.id)
        left -= len(band)
    return Release(tuple(send), rates, tuple(dropped))


def _rank(held: Held) -> int:
    return severity.RANK[severity.band(held.severity_number, "")]


def _draw(held: Held) -> float:
    """A uniform draw fixed by the entry (its key and deadline): the same plan every time."""
    seed = f"{held.key}\x00{held.deadline_ns}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(seed, digest_size=8).digest(), "big") / 2**64


def _late_room(bucket: Bucket, backlog: int) -> int:
    """Held entries the next LATE_S can still carry: what the bucket earns by then (the
    outbox's events were charged already), and what the outbox, sending at the rate, has
    time for after its backlog."""
    earned = math.floor(bucket.tokens + bucket.rate * LATE_S)
    return max(0, min(earned, math.floor(bucket.rate * LATE_S) - backlog))


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    """One exporter's budget settings, and its decisions as the store's release asks them."""

    ceiling: float = 0.0  # events/s at most; 0: only what the backend's answers teach
    burst: int = 0  # the bucket's size; 0: one second's worth of the rate in use
    window_ns: int = 3600 * NS  # a key's first `always_first` events in it always go
    always_first: int = 1

    def decide(
        self, bucket: Bucket | None, held: Sequence[Held], now: int, backlog: int = 0
    ) -> tuple[Release, Bucket]:
        """Refill, then release what the room left after the outbox's `backlog` allows (its
        events were charged when they went in: they are still to be sent): the due entries,
        and early ones only with tokens that would otherwise be lost; due ones that the next
        LATE_S of the rate can carry wait for it rather than be sampled."""
        start = bucket if bucket is not None else fresh_bucket(now, self.ceiling)
        burst = self.burst or max(1, round(start.rate))
        current = refill(start, now, burst, self.ceiling)
        room = max(0, math.floor(current.tokens) - backlog)
        late_room = _late_room(current, backlog)
        early = early_room(current, burst, held, now)
        release = plan_release(held, room, now, self.always_first, early, late_room)
        return release, charge(current, len(release.send))

    def request_events(self, rate: float, most: int) -> int:
        """Events in one request: a second's worth of the rate in use and a little more (runs
        come a little over a second apart), so the outbox drains at the rate rather than in
        one burst after a refusal or an outage, and a request stays under the backend's
        limit (the rate is at most UNDER_LIMIT of it)."""
        return max(1, min(most, math.floor(rate * REQUEST_HEADROOM) or 1))

    def answered(self, bucket: Bucket, outcome: ExportOutcome) -> Bucket:
        return answered(bucket, outcome, self.ceiling)
