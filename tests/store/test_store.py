"""The store on SQLite and PostgreSQL: enqueue, claims with fencing, finish, purge, outbox."""

from __future__ import annotations

import dataclasses
import threading

from gateway.model import Entry, OutboxEvent
from gateway.otlp import rows_from_request
from gateway.store import Store
from tests.builders import T0, Rec, request

S = 1_000_000_000


def fill(store: Store, n: int, body: str = "x") -> None:
    store.enqueue(rows_from_request(request([Rec(body)] * n), T0, store.origin_ids).rows)


def info(*events: str, exporter: str = "logflare") -> list[OutboxEvent]:
    """Outbox events of severity INFO."""
    return [OutboxEvent(exporter, event, 9) for event in events]


def entry(body: str = "e", count: int = 1) -> Entry:
    return Entry(body, 9, "INFO", "svc", count, T0, T0, {"k": {"v": 1}}, "ab", "cd", "scope")


def test_enqueue_claim_finish_moves_rows_to_results_atomically(store: Store) -> None:
    fill(store, 10)
    claim = store.claim_batch(1, 60 * S, limit=4)
    assert [row[0] for row in claim.rows] == [1, 2, 3, 4]
    assert store.finish_batch(claim, [(entry(count=4), T0 + 3600 * S)], info('{"e":1}'), T0)
    assert store.queue_depth() == 6
    (recent,) = store.recent_after(0, T0, 100)
    assert recent.entry == entry(count=4) and recent.expires_at == T0 + 3600 * S
    assert store.outbox_peek("logflare", 10) == [(1, '{"e":1}')]


def test_claims_never_overlap(store: Store) -> None:
    fill(store, 10)
    first = store.claim_batch(1, 60 * S, limit=6)
    second = store.claim_batch(2, 60 * S, limit=6)
    assert [r[0] for r in first.rows] == [1, 2, 3, 4, 5, 6]
    if store.dialect == "postgresql":  # row claims: the next stage takes the next rows
        assert [r[0] for r in second.rows] == [7, 8, 9, 10]
    else:  # one lease on the head of the queue: the next stage waits for it
        assert second.rows == []
        assert store.finish_batch(first, [], [], T0)
        assert [r[0] for r in store.claim_batch(2, 60 * S, limit=6).rows] == [7, 8, 9, 10]


def test_a_stage_that_lost_its_lease_cannot_finish(store: Store) -> None:
    fill(store, 3)
    stalled = store.claim_batch(1, -S, limit=3)  # a lease that has already run out
    # Another stage re-claims the rows.
    taker = store.claim_batch(2, 10 * S, limit=3)
    assert [r[0] for r in taker.rows] == [1, 2, 3]
    assert not store.finish_batch(stalled, [(entry(), T0 + S)], info("{}"), T0)
    assert store.recent_count(T0) == 0 and store.outbox_depth() == 0 and store.queue_depth() == 3
    assert store.finish_batch(taker, [(entry(), T0 + S)], info("{}"), T0)
    assert store.queue_depth() == 0 and store.recent_count(T0) == 1


def test_release_returns_rows_to_the_queue(store: Store) -> None:
    fill(store, 3)
    store.release(store.claim_batch(1, 60 * S, limit=3))
    assert len(store.claim_batch(2, 60 * S, limit=3).rows) == 3


def test_expired_entries_are_never_read_even_before_purge(store: Store) -> None:
    store.add_recent([(entry("old"), T0 + 10), (entry("new"), T0 + 100)])
    assert [r.entry.body for r in store.recent_after(0, T0 + 50, 10)] == ["new"]
    assert [r.entry.body for r in store.recent_newest(T0 + 50, 10)] == ["new"]
    assert store.recent_count(T0 + 50) == 1


def test_purge_deletes_expired_in_bounded_chunks(store: Store) -> None:
    store.add_recent([(entry(f"e{i}"), T0 + i) for i in range(25)])
    assert store.purge_expired(T0 + 20, chunk=8) == 8
    assert store.purge_expired(T0 + 20, chunk=8) == 8
    assert store.purge_expired(T0 + 20, chunk=8) == 5  # e0..e20 expired at T0+20
    assert store.purge_expired(T0 + 20, chunk=8) == 0
    assert [r.entry.body for r in store.recent_newest(T0, 10)] == [f"e{i}" for i in range(21, 25)]


def test_recent_after_pages_by_cursor_in_id_order(store: Store) -> None:
    store.add_recent([(entry(f"e{i}"), T0 + 100) for i in range(5)])
    page = store.recent_after(2, T0, 2)
    assert [(r.id, r.entry.body) for r in page] == [(3, "e2"), (4, "e3")]
    assert [r.entry.body for r in store.recent_newest(T0, 2)] == ["e3", "e4"]
    assert [r.entry.body for r in store.recent_newest(T0, 2, before=4)] == ["e1", "e2"]


def test_the_live_pages_header_figures(store: Store) -> None:
    named = [dataclasses.replace(entry(f"e{i}"), service=name) for i, name in enumerate("bcab")]
    store.add_recent([(e, T0 + 100) for e in named])
    store.add_recent([(dataclasses.replace(entry("gone"), service="z"), T0 - 1)])
    assert store.recent_services(T0, 10) == ["a", "b", "c"]
    assert store.recent_services(T0, 2) == ["a", "b"]
    status = store.viewer_status(T0)
    assert (status.window_entries, status.outbox_depth, status.exports) == (4, 0, {})
    store.record_export_result("logflare", T0, "HTTP 500: " + "x" * 1000)
    store.record_export_result("logflare", T0 + 1, None)
    health = store.viewer_status(T0).exports["logflare"]
    assert (health.last_success, health.last_error) == (T0 + 1, T0)
    assert len(health.last_error_text) == 500  # a line for the header, not the whole answer


def test_outbox_claims_ack_release_and_dead_letter(store: Store) -> None:
    fill(store, 1)
    claim = store.claim_batch(1, S, 1)
    store.finish_batch(claim, [], info('{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}'), T0)
    first = store.outbox_claim("logflare", 7, 60 * S, limit=3)
    assert [event for _, event in first] == ['{"n":1}', '{"n":2}', '{"n":3}']
    # Another export request (another gateway) only sees what nobody holds.
    assert [event for _, event in store.outbox_claim("logflare", 8, 60 * S, limit=10)] == [
        '{"n":4}'
    ]
    ids = [event_id for event_id, _ in first]
    store.outbox_ack(8, ids)  # not its claim: nothing happens
    assert store.outbox_depth() == 4
    store.outbox_ack(7, ids[:1])
    store.outbox_dead_letter(7, ids[1:2], "HTTP 400: bad", T0)
    store.outbox_release(7, ids[2:])
    assert [event for _, event in store.outbox_claim("logflare", 9, 60 * S, limit=10)] == [
        '{"n":3}'
    ]
    assert store.dead_letters() == [('{"n":2}', "HTTP 400: bad")]


def test_dead_letters_keep_their_severity_through_dead_letter_and_retry(store: Store) -> None:
    fill(store, 1)
    texts = [("error text", 17), ("info text", 9), ("fatal text", 21)]  # texts say nothing
    events = [OutboxEvent("logflare", text, number) for text, number in texts]
    store.finish_batch(store.claim_batch(1, S, 1), [], events, T0)
    store.outbox_dead_letter(
        7, [i for i, _ in store.outbox_claim("logflare", 7, S, 10)], "HTTP 400", T0
    )
    assert store.outbox_depth() == 0 and store.dead_letter_count() == 3
    ids = [letter.id for letter in store.dead_letter_page(0, 10)]
    assert store.retry_dead_letters(ids, T0 + S) == 3
    assert [event for _, event in store.outbox_peek("logflare", 10)] == [e for e, _ in texts]
    assert store.drop_outbox_lowest_severity("logflare", 10, 17) == {
        9: 1
    }  # the ERROR and FATAL stay
    assert [event for _, event in store.outbox_peek("logflare", 10)] == ["error text", "fatal text"]


def test_an_expired_outbox_claim_is_taken_over(store: Store) -> None:
    fill(store, 1)
    store.finish_batch(store.claim_batch(1, S, 1), [], info('{"n":1}'), T0)
    assert store.outbox_claim(
        "logflare", 1, -S, limit=10
    )  # a claim whose lease has already run out
    assert [event for _, event in store.outbox_claim("logflare", 2, 60 * S, limit=10)] == [
        '{"n":1}'
    ]


def test_log_text_is_stored_as_data_not_sql(store: Store) -> None:
    nasty = "'); DROP TABLE log_queue; -- \x1b[31m<script>"
    store.add_recent([(entry(nasty), T0 + 100)])
    assert store.recent_newest(T0, 1)[0].entry.body == nasty
    assert store.queue_depth() == 0  # the table still exists


def test_concurrent_stages_process_every_row_exactly_once(store: Store) -> None:
    fill(store, 400)
    seen: list[int] = []
    lock = threading.Lock()

    def worker(token: int) -> None:
        for _ in range(1000):
            claim = store.claim_batch(token, 60 * S, limit=7)
            if claim.rows:
                with lock:
                    seen.extend(row[0] for row in claim.rows)
                assert store.finish_batch(claim, [], [], T0)
            elif store.queue_depth() == 0:
                return

    threads = [threading.Thread(target=worker, args=(t,)) for t in (1, 2, 3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(1, 401))


def test_a_restarted_sqlite_gateway_takes_back_what_a_crashed_run_held(store: Store) -> None:
    if store.dialect != "sqlite":
        return  # PostgreSQL is shared: claims come back when their leases run out
    fill(store, 3)
    store.finish_batch(store.claim_batch(1, S, 1), [], info('{"n":1}'), T0)
    assert store.claim_batch(2, 3600 * S, 10).rows  # the crashed run's batch...
    assert store.outbox_claim("logflare", 3, 3600 * S, 10)  # ...and export request
    assert store.release_all_claims() == 2
    assert len(store.claim_batch(4, S, 10).rows) == 2
    assert store.outbox_claim("logflare", 5, S, 10) == [(1, '{"n":1}')]


def test_each_exporter_claims_drops_and_dead_letters_only_its_own_rows(store: Store) -> None:
    fill(store, 1)
    events = info("l1", "l2") + info("o1", "o2", "o3", exporter="otlp")
    store.finish_batch(store.claim_batch(1, S, 1), [], events, T0)
    assert store.outbox_depths() == {"logflare": 2, "otlp": 3}
    assert [e for _, e in store.outbox_claim("otlp", 7, 60 * S, limit=10)] == ["o1", "o2", "o3"]
    assert [e for _, e in store.outbox_claim("logflare", 8, 60 * S, limit=10)] == ["l1", "l2"]
    store.outbox_release(8, [i for i, _ in store.outbox_peek("logflare", 10)])
    assert store.drop_outbox_lowest_severity("logflare", 10, 17) == {9: 2}  # otlp's are claimed
    assert store.outbox_depths() == {"otlp": 3}
    assert store.counter("dropped_events/logflare") == 2 and not store.counter("dropped_events")
    store.outbox_dead_letter(7, [i for i, _ in store.outbox_peek("otlp", 1)], "refused", T0)
    assert store.dead_letter_counts() == {"otlp": 1}
    assert admin_retry(store) == 1  # back to the exporter that it came from
    assert [e for _, e in store.outbox_peek("otlp", 10)] == ["o2", "o3", "o1"]
    assert store.outbox_exporter_depth("otlp") == 3 and store.outbox_exporter_depth("logflare") == 0


def admin_retry(store: Store) -> int:
    return store.retry_dead_letters([letter.id for letter in store.dead_letter_page(0, 10)], T0)
