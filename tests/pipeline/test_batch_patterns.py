"""The batch stage grouping by pattern, against a real store: exact counts and totals, ids
that survive a restart and agree between gateways, and bad bodies that never stop a batch."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.config.settings import parse_config
from gateway.export.logflare import event_json
from gateway.otlp import rows_from_request
from gateway.pipeline.batch import BatchSettings, BatchStage, Outbound
from gateway.pipeline.grouping import Grouping
from gateway.pipeline.learning import miner_for
from gateway.pipeline.patterns.miner import pattern_id
from gateway.pipeline.sampling import SamplingPolicy
from gateway.store import Store
from tests.builders import T0, Rec, request

BY_PATTERN = {"dedupe": {"keys": ["pattern", "severity"]}}


def stage(store: Store, batch: dict[str, object] | None = None) -> BatchStage:
    config = parse_config({"batch": batch or BY_PATTERN}, env={}).batch
    settings = BatchSettings(grouping=Grouping.from_config(config.dedupe))
    return BatchStage(
        store,
        SamplingPolicy(),
        settings,
        outbound=[Outbound("logflare", event_json)],
        miner=miner_for(config),
    )


def enqueue(store: Store, bodies: list[str], number: int = 9) -> None:
    records = [Rec(body, number, time=T0 + i) for i, body in enumerate(bodies)]
    store.enqueue(rows_from_request(request(records), T0, store.origin_ids).rows)


def flood(users: list[str]) -> list[str]:
    return [f"Invalid user {user} from 10.0.{i % 7}.{i % 250}" for i, user in enumerate(users)]


USERS = ["admin", "oracle", "webmaster", "test", "guest", "postgres"] * 5


def test_a_flood_collapses_into_one_pattern_entry_with_its_values(store: Store) -> None:
    enqueue(store, flood(USERS) + ["Server started"] * 3)
    report = stage(store).run_once(T0)
    assert (report.claimed, report.entries) == (33, 2)
    (started, invalid) = sorted(
        (r.entry for r in store.recent_newest(T0, 10)), key=lambda entry: entry.count
    )
    assert invalid.count == 30 and invalid.body == "Invalid user admin from 10.0.0.0"
    assert invalid.pattern is not None and started.pattern is not None
    assert "<*>" in invalid.pattern.template and "<IP>" in invalid.pattern.template
    user = invalid.pattern.variables[0]
    assert user.distinct == 6 and sum(n for _, n in user.top) + user.other == 30
    assert invalid.pattern.id == pattern_id(invalid.pattern.template)
    totals = {p.id: p.count for p in store.top_patterns(0, 10)}
    assert totals == {invalid.pattern.id: 30, started.pattern.id: 3}


def test_ids_and_totals_survive_a_restart(store: Store) -> None:
    enqueue(store, flood(USERS))
    stage(store).run_once(T0)
    (before,) = store.top_patterns(0, 10)
    enqueue(store, flood(["admin", "nobody"]))  # a new stage: a restarted gateway
    stage(store).run_once(T0)
    (after,) = store.top_patterns(0, 10)
    assert (after.id, after.count) == (before.id, 32)


def test_two_gateways_learning_the_same_templates_agree_on_ids_and_totals(
    store: Store,
) -> None:
    first, second = stage(store), stage(store)  # two miners, one database
    for gateway in (first, second, first, second):
        enqueue(store, [*flood(USERS[:12]), "cache warmed in 31 ms", "cache warmed in 7 ms"])
        assert gateway.run_once(T0).claimed == 14
    totals = sorted(p.count for p in store.top_patterns(0, 10))
    assert totals == [8, 48]


def test_errors_by_exact_body_while_chatter_goes_by_pattern(store: Store) -> None:
    rules = {"keys": ["pattern", "severity"], "rules": [
        {"match": {"severity_at_least": "ERROR"}, "keys": ["body", "severity"]}
    ]}  # fmt: skip
    enqueue(store, ["disk 1 failed", "disk 2 failed"], number=17)
    enqueue(store, ["GET /a 200", "GET /b 200", "GET /c 200"], number=9)
    stage(store, {"dedupe": rules}).run_once(T0)
    rows = [
        (r.entry.body, r.entry.count, r.entry.pattern is None) for r in store.recent_newest(T0, 9)
    ]
    assert sorted(rows) == [
        ("GET /a 200", 3, False),  # three paths: a variable (two could be constant words)
        ("disk 1 failed", 1, True),
        ("disk 2 failed", 1, True),
    ]


BAD_BODIES = [
    "",
    "x" * 1_000_000,
    " ".join(f"t{i}" for i in range(10_000)),
    "\x00\x01\x1b[31m\ufffd binary \x7f \U0001f600",
    "12345 678 90",
    "   ",
]


def test_bad_bodies_each_get_a_pattern_and_the_batch_goes_on(store: Store) -> None:
    enqueue(store, [*BAD_BODIES, *BAD_BODIES])
    report = stage(store).run_once(T0)
    assert report.claimed == 2 * len(BAD_BODIES) and store.queue_depth() == 0
    entries = [r.entry for r in store.recent_newest(T0, 50)]
    assert sum(entry.count for entry in entries) == 2 * len(BAD_BODIES)
    assert all(entry.pattern is not None for entry in entries)


WORDS = st.sampled_from(["alpha", "beta", "gamma", "10.1.2.3", "42", "0x1f", "ms", "user"])
BODIES = st.lists(st.lists(WORDS, max_size=6).map(" ".join), min_size=1, max_size=40)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(BODIES, min_size=1, max_size=3))
def test_entries_always_sum_to_the_records_and_totals_to_all_batches(
    sqlite_url: str, batches: list[list[str]]
) -> None:
    store = Store(sqlite_url)
    store.drop_all()
    store.create_schema()
    batch = stage(store)
    for bodies in batches:
        enqueue(store, bodies)
        assert batch.run_once(T0).claimed == len(bodies)
    entries = [r.entry for r in store.recent_newest(T0, 10_000)]
    assert sum(entry.count for entry in entries) == sum(map(len, batches))
    assert sum(p.count for p in store.top_patterns(0, 10_000)) == sum(map(len, batches))
    store.dispose()
