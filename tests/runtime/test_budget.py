"""A budget against a fake Logflare that enforces 50 events/s with 429s and reports its
remaining allowance: ten simulated minutes of a wide flood, the gateway's own stages driven
on a fake clock shared with the fake. Nothing sleeps; every figure is exact."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gateway.runtime.app import Gateway
from testkit.clock import FakeClock
from testkit.logflare import FakeLogflare
from testkit.logflare_rate import max_in_window
from tests.builders import Rec, request
from tests.harness import in_process_gateway

NS = 1_000_000_000
LIMIT = 50  # events/s the fake takes from one source
MINUTES = 3
INTERVAL = 10  # seconds between batches, as the shipped config
ERROR = 17
BODIES = 3000  # distinct INFO bodies in the flood: more than the budget can send one by one


@pytest.fixture
def budgeted(tmp_path: Path) -> Iterator[tuple[Gateway, FakeLogflare, FakeClock]]:
    clock = FakeClock()
    with FakeLogflare(clock=clock, source_rate=LIMIT) as logflare:
        keys = {"source": logflare.source_id, "api_key": logflare.api_key}
        budget = {"enabled": True}  # no number: the fake's answers teach it
        exporters = {"logflare": {"endpoint": logflare.url, **keys, "budget": budget}}
        gateway = in_process_gateway(tmp_path, exporters, clock)
        gateway.start()
        yield gateway, logflare, clock
        gateway.shutdown()


def flood(rng: random.Random, second: int) -> list[Rec]:
    """100 records a second over BODIES distinct INFO lines, and one ERROR every 10 s."""
    records = [Rec(f"cache miss for key {rng.randrange(BODIES)}") for _ in range(100)]
    if second % 10 == 5:
        records.append(Rec(f"payment {second} failed", severity_number=ERROR))
    return records


def run(gateway: Gateway, logflare: FakeLogflare, clock: FakeClock, seconds: int) -> Run:
    """Send the flood for `seconds`, batches every INTERVAL, export runs every second; then
    let every held entry's wait run out."""
    rng, done = random.Random(7), Run()
    export = gateway.export_stages["logflare"]
    queued: list[str] = []  # ERRORs sent, waiting for the next batch
    for second in range(seconds):
        records = flood(rng, second)
        done.sent.update(record.body for record in records)
        queued += [str(r.body) for r in records if r.severity_number == ERROR]
        batch = request(records)
        gateway.ingest.commit_many([(batch, batch.ByteSize())])
        if second % INTERVAL == INTERVAL - 1:
            gateway.batch.run_batches(clock.now_ns())
            done.batched |= dict.fromkeys(queued, clock.now_ns())
            queued.clear()
        export.run_once(clock.now_ns())
        done.arrived(logflare, clock.now_ns())
        clock.advance(1)
    for _ in range(320):  # past the longest wait (5 min): everything held must have gone
        export.run_once(clock.now_ns())
        clock.advance(1)
    return done


@dataclass
class Run:
    sent: Counter[str] = field(default_factory=Counter)  # records per body
    batched: dict[str, int] = field(default_factory=dict)  # ERROR body -> its batch's time
    errors_at: dict[str, int] = field(default_factory=dict)  # ERROR body -> at Logflare
    seen: int = 0  # Logflare's events read so far

    def arrived(self, logflare: FakeLogflare, now: int) -> None:
        for event in logflare.events[self.seen :]:
            if int(event.get("severity_number") or event["metadata"]["severity_number"]) >= ERROR:
                self.errors_at.setdefault(event["event_message"], now)
        self.seen = len(logflare.events)


@pytest.mark.slow
def test_a_wide_flood_is_held_to_the_backends_limit_with_every_count_exact(
    budgeted: tuple[Gateway, FakeLogflare, FakeClock], report: Callable[[str], None]
) -> None:
    gateway, logflare, clock = budgeted
    began = clock.now_ns()
    done = run(gateway, logflare, clock, MINUTES * 60)
    sent, events = done.sent, logflare.events
    counted: Counter[str] = Counter()
    for event in events:
        counted[event["event_message"]] += round(count_of(event) * rate_of(event))
    assert counted == sent  # merged, never sampled here: exact
    accepted = [(r.at_ns, r.event_count) for r in logflare.requests if r.status == 200]
    assert max_in_window(accepted, 10 * NS) <= LIMIT * 10 + LIMIT  # budget x 10 + burst
    late_429s = [r for r in logflare.requests if r.status == 429 and r.at_ns > began + 60 * NS]
    assert late_429s == []
    # ERRORs are never held: each reaches Logflare in the export run right after its batch.
    assert done.errors_at == done.batched and len(done.batched) == MINUTES * 6
    # More entries than the budget could send one by one: they waited and merged. Each entry
    # held anew went as one event, each merged into a held one cost none.
    counters = gateway.store.counter_values()
    merged, held = (
        counters["budget_merged_entries/logflare"],
        counters["budget_held_entries/logflare"],
    )
    assert merged > 0 and len(events) == held + len(done.batched)
    state = gateway.store.budget_states()["logflare"]
    assert state.held == 0 and 0 < state.rate <= LIMIT * 0.9
    refused = sum(1 for r in logflare.requests if r.status == 429)
    report(
        f"\n[budget] {sum(sent.values()):,} records over {MINUTES} min -> {len(events):,} "
        f"events, {merged:,} merges; most in 10 s {max_in_window(accepted, 10 * NS)} "
        f"(budget {LIMIT * 11}); 429s {refused} (after the first minute {len(late_429s)})"
    )


def count_of(event: dict[str, Any]) -> int:
    return int(event.get("count") or event["metadata"]["count"])


def rate_of(event: dict[str, Any]) -> float:
    return float(event.get("sample_rate") or event["metadata"].get("sample_rate", 1.0))
