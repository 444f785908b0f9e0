"""Budgets with real `logsieve run` processes: held entries survive kill -9 with every count
exact, and two gateways on one PostgreSQL database spend one budget together.

The senders cycle over a few hundred bodies, so entries wait in held_entry and merge; each
record's time (T0 + its sequence number in µs) makes every entry's first_seen its own, so an
event Logflare got twice (a request re-sent after a kill) is told apart from a later entry of
the same body with the same count.

The last test, in this process on a fake clock: bands with different waits are not sampled
while merging up to their waits fits the budget (spare tokens go to the entries held longest,
not to the short-wait band's, which would otherwise be held again and sent again at once).
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from gateway.runtime.app import Gateway
from gateway.store import Store
from testkit.clock import FakeClock
from testkit.logflare import FakeLogflare
from testkit.logflare_rate import max_in_window
from tests.builders import Rec, request
from tests.conftest import BASE_PG_URL, WORKER, ensure_database, require, worker_url
from tests.harness import (
    GatewayProcess,
    SeqSender,
    alive,
    gateway_config,
    in_process_gateway,
    wait_until,
)

NS = 1_000_000_000
PER_REQUEST = 50  # records a send; fewer than the bodies, so one request's are all distinct
RATE = 20  # events/s of the crash test's budget; one export request carries at most this
KILLS = 1  # one kill mid-release proves the point; each costs a restart and a drain
INFO, WARN = 9, 13
SAMPLED = "budget_sampled_records/logflare"
# 200 keys merged up to a 20 s wait need 10 events/s of the 20. The burst of 20 s: what the
# bucket earns while a killed gateway is down covers the entries whose waits run out meanwhile,
# so the budget never has to sample and every count is exact.
CRASH_BUDGET = (
    f"{{enabled: true, events_per_second: {RATE}, burst: {20 * RATE},"
    " max_wait: {INFO: 20s, WARN: 20s}}"
)
SHARED_RATE, SHARED_BURST = 30, 30
SHARED_BUDGET = (
    f"{{enabled: true, events_per_second: {SHARED_RATE}, burst: {SHARED_BURST},"
    " max_wait: {INFO: 20s}}"
)
# This file's own database (one per xdist worker): it drops every table it made.
BUDGET_PG_URL = worker_url(
    make_url(BASE_PG_URL).set(database="test_budget2").render_as_string(hide_password=False),
    WORKER,
)


def budgeted_config(tmp_path: Path, url: str, logflare: FakeLogflare, budget: str) -> Path:
    """The harness's config with a budget on Logflare, and a queue capped so that a sender
    faster than the batch stage is refused rather than leaving minutes of backlog; no viewer,
    whose process would only slow each start."""
    config = gateway_config(
        tmp_path,
        url,
        logflare,
        retry_max="1s",
        queue="{max_records: 20000}",
        components="[ingest, batch]",
    )
    text = config.read_text()
    assert "retry_max: 1s}" in text
    config.write_text(text.replace("retry_max: 1s}", f"retry_max: 1s, budget: {budget}}}"))
    return config


def _fresh_budget_database() -> str:
    """BUDGET_PG_URL, made when missing, with logsieve's tables made anew."""
    unreachable = ensure_database(BUDGET_PG_URL)
    require(unreachable is None, f"PostgreSQL not reachable at {BASE_PG_URL}: {unreachable}")
    store = Store(BUDGET_PG_URL, pool_size=1)
    store.drop_all()
    store.create_schema()
    store.dispose()
    return BUDGET_PG_URL


def _drop_budget_tables() -> None:
    store = Store(BUDGET_PG_URL, pool_size=1)
    store.drop_all()
    store.dispose()


@pytest.fixture
def budget_pg() -> Iterator[str]:
    yield _fresh_budget_database()
    _drop_budget_tables()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'queue.db'}"
        return
    yield _fresh_budget_database()
    _drop_budget_tables()


Key = tuple[int, str]  # (severity_number, body)


@dataclass
class Arrivals:
    """What Logflare got: records per key, each distinct event once, and the repeats."""

    records: Counter[Key]
    duplicate_events: int
    duplicate_records: int


def arrivals(logflare: FakeLogflare) -> Arrivals:
    seen: Counter[tuple[int, str, int, int, int, float]] = Counter()
    for event in list(logflare.events):
        meta = event["metadata"]
        seen[
            (int(meta["severity_number"]), str(event["event_message"]), int(meta["first_seen"]),
             int(meta["last_seen"]), int(meta["count"]), float(meta["sample_rate"]))
        ] += 1  # fmt: skip
    records: Counter[Key] = Counter()
    duplicate_events = duplicate_records = 0
    for (number, body, _, _, count, rate), times in seen.items():
        records[(number, body)] += round(count * rate)
        duplicate_events += times - 1
        duplicate_records += (times - 1) * count
    return Arrivals(records, duplicate_events, duplicate_records)


def acknowledged(senders: list[SeqSender]) -> Counter[Key]:
    """Records acknowledged per key, over every sender (they may share bodies)."""
    return Counter(
        (sender.severity_number, str(sender.record(seq).body))
        for sender in senders
        for seq in sender.acknowledged
    )


def extra_records(senders: list[SeqSender], got: Counter[Key], kills: int) -> int:
    """Records that arrived without having been acknowledged. None acknowledged may be
    missing; more may arrive only from requests whose answer was lost (each sender's one in
    flight at a kill, or one timed out), each wholly: its records commit together."""
    want = acknowledged(senders)
    missing = {key: want[key] - got[key] for key in want if got[key] < want[key]}
    assert missing == {}, f"acknowledged records lost: {missing}"
    extra = sum(got.values()) - sum(want.values())
    in_doubt = sum(kills + sender.codes["DEADLINE_EXCEEDED"] for sender in senders)
    assert extra % PER_REQUEST == 0 and extra <= in_doubt * PER_REQUEST, (extra, in_doubt)
    return extra


def kill_with_children(gateway: GatewayProcess) -> None:
    """kill -9 of the gateway and its batch child at once, and wait until both are gone."""
    children = gateway.children()
    gateway.kill9()
    for pid in children:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not any(alive(pid) for pid in children), 30, "the children gone")


def held_now(store: Store) -> int:
    state = store.budget_states().get("logflare")
    return 0 if state is None else state.held


def not_yet_drained(store: Store, logflare: FakeLogflare, want: Counter[Key]) -> str:
    """What is still on its way to Logflare ("" once everything acknowledged is there)."""
    got = arrivals(logflare).records
    short = {key: (got[key], count) for key, count in want.items() if got[key] < count}
    state = store.budget_states().get("logflare")
    held = "no bucket yet" if state is None else state.held
    waiting = (store.queue_depth(), store.outbox_depth(), held)
    if not short and waiting == (0, 0, 0):
        return ""
    shown = dict(sorted(short.items())[:5])
    sampled = store.counter_values().get(SAMPLED, 0)
    return (
        f"{len(short)} keys short (got, acknowledged): {shown}; queue, outbox, held: "
        f"{waiting}; records sampled out by the budget: {sampled}"
    )


def wait_drained(store: Store, logflare: FakeLogflare, want: Counter[Key]) -> None:
    try:
        wait_until(lambda: not not_yet_drained(store, logflare, want), 90, "every entry sent")
    except AssertionError as timed_out:
        raise AssertionError(f"{timed_out}: {not_yet_drained(store, logflare, want)}") from None


def run_until_held(store: Store, logflare: FakeLogflare, senders: list[SeqSender]) -> int:
    """Let the flood go on until entries have been released and merged and some are held."""
    events = len(logflare.events)
    for sender in senders:
        sender.wait_for(len(sender.acknowledged) + 3000)
    wait_until(lambda: len(logflare.events) >= events + 2 * RATE, 30, "two seconds' releases")
    wait_until(lambda: held_now(store) > 0, 30, "held entries")
    return held_now(store)


@pytest.mark.slow
@pytest.mark.timeout(180)  # about 25 s: two starts, and held entries' waits run out at the end
def test_kill_9_with_held_entries_loses_no_count_and_resends_at_most_a_request(
    tmp_path: Path, storage_url: str, report: Callable[[str], None]
) -> None:
    senders = [
        SeqSender(per_request=PER_REQUEST, severity_number=INFO, bodies=150),
        SeqSender(per_request=PER_REQUEST, severity_number=WARN, bodies=50, offset=10_000_000),
    ]
    held_at_kills: list[int] = []
    with FakeLogflare() as logflare:
        config = budgeted_config(tmp_path, storage_url, logflare, CRASH_BUDGET)
        gateway = GatewayProcess(config)
        store = Store(storage_url)
        for sender in senders:
            sender.start(gateway.address)
        try:
            for _ in range(KILLS):
                held_at_kills.append(run_until_held(store, logflare, senders))
                kill_with_children(gateway)  # entries wait in held_entry, some mid-release
                gateway = GatewayProcess(config)
                for sender in senders:
                    sender.retarget(gateway.address)
            run_until_held(store, logflare, senders)
        finally:
            for sender in senders:
                sender.stop()
        want = acknowledged(senders)
        wait_drained(store, logflare, want)
        counters = store.counter_values()
        store.dispose()
        assert gateway.terminate() == 0
    got = arrivals(logflare)
    extra = extra_records(senders, got.records, KILLS)
    report(
        f"\n[budget, kill -9, {storage_url.split(':')[0]}] {KILLS} kills with "
        f"{held_at_kills} entries held: {sum(len(s.acknowledged) for s in senders)} records "
        f"acknowledged, none lost; {len(logflare.events)} events, "
        f"{counters.get('budget_merged_entries/logflare', 0)} merges; duplicates: "
        f"{got.duplicate_events} events ({got.duplicate_records} records); "
        f"{extra} records of requests in flight at a kill arrived unacknowledged"
    )
    assert counters.get(SAMPLED, 0) == 0
    assert counters.get("budget_merged_entries/logflare", 0) > 0
    # The outbox's lease: only the request in flight at a kill (a second's worth) goes again.
    assert got.duplicate_events <= KILLS * RATE
    assert logflare.violations == []


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(180)  # about 40 s: two starts, a 15 s flood, the held entries drained
def test_two_gateways_on_postgresql_spend_one_budget_together(
    tmp_path: Path, budget_pg: str, report: Callable[[str], None]
) -> None:
    senders = [
        SeqSender(per_request=PER_REQUEST, bodies=200, offset=i * 10_000_000) for i in range(2)
    ]
    with FakeLogflare() as logflare:
        config = budgeted_config(tmp_path, budget_pg, logflare, SHARED_BUDGET)
        gateways = [GatewayProcess(config) for _ in range(2)]
        for sender, gateway in zip(senders, gateways, strict=True):
            sender.start(gateway.address)
        store = Store(budget_pg)
        try:
            for sender in senders:  # both gateways take part
                sender.wait_for(3000)
            # 15 s of the budget's worth: more than one 10 s window of pacing
            wait_until(lambda: len(logflare.events) >= 15 * SHARED_RATE, 60, "the flood paced")
        finally:
            for sender in senders:
                sender.stop()
        # Both senders' bodies are the same: either gateway's entries merge into one held row.
        want = acknowledged(senders)
        wait_drained(store, logflare, want)
        counters = store.counter_values()
        store.dispose()
        assert all(gateway.terminate() == 0 for gateway in gateways)
    accepted = [(r.at_ns, r.event_count) for r in logflare.requests if r.status == 200]
    most = max_in_window(accepted, 10 * NS)
    got = arrivals(logflare)
    extra = extra_records(senders, got.records, kills=0)
    report(
        f"\n[budget shared by 2 gateways] {sum(len(s.acknowledged) for s in senders)} records "
        f"acknowledged, each counted once; {len(logflare.events)} events, at most {most} in "
        f"a 10 s window (budget {SHARED_RATE * 10 + SHARED_BURST}); {got.duplicate_events} "
        f"duplicates, {extra} unacknowledged records of timed-out sends"
    )
    # The shared bucket meters releases into the outbox: those stay within budget x 10 + burst
    # in any 10 s. An event is sent up to one export run (1 s) after its release, by either
    # gateway, so the backend's windows may see up to one second's more; two buckets would
    # let through twice the rate.
    assert most <= SHARED_RATE * 11 + SHARED_BURST
    assert got.duplicate_events == 0
    assert counters.get(SAMPLED, 0) == 0
    assert logflare.violations == []


def test_bands_with_different_waits_are_not_sampled_while_merging_fits_the_budget(
    tmp_path: Path,
) -> None:
    """The same two bands as a real gateway would see them, on a fake clock: 200 INFO and 50
    WARN bodies every second, one batch and one export run a second."""
    clock = FakeClock()
    with FakeLogflare(clock=clock) as logflare:
        waits = {"INFO": "20s", "WARN": "10s"}
        budget = {"enabled": True, "events_per_second": RATE, "max_wait": waits}
        gateway = in_process(tmp_path, logflare, clock, budget)
        gateway.start()
        try:
            export = gateway.export_stages["logflare"]
            for _ in range(30):
                records = [Rec(f"info {i}") for i in range(200)]
                records += [Rec(f"warn {i}", WARN) for i in range(50)]
                batch = request(records)
                gateway.ingest.commit_many([(batch, batch.ByteSize())])
                gateway.batch.run_batches(clock.now_ns())
                export.run_once(clock.now_ns())
                clock.advance(1)
            sampled = gateway.store.counter_values().get(SAMPLED, 0)
        finally:
            gateway.shutdown()
    assert sampled == 0


def in_process(
    tmp_path: Path, logflare: FakeLogflare, clock: FakeClock, budget: dict[str, object]
) -> Gateway:
    """A gateway in this process with a budget on Logflare, its stages driven by the test."""
    keys = {"endpoint": logflare.url, "source": logflare.source_id, "api_key": logflare.api_key}
    return in_process_gateway(tmp_path, {"logflare": {**keys, "budget": budget}}, clock)
