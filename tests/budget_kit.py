"""A budget's state put in a real store as the stages leave it: entries held by a batch's own
transaction (beside its live entries), and a bucket saved by a release that sent nothing."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.model import Bucket, Budgeted, Entry, Held, HoldItem, Release
from gateway.otlp import rows_from_request
from gateway.pipeline.holding import merged
from gateway.store import Store
from tests.builders import Rec, request

NS = 1_000_000_000
WINDOW_NS = 3600 * NS


def held_entry(body: str, at: int, count: int = 1) -> Entry:
    return Entry(body, 9, "INFO", "checkout", count, at, at, services={"checkout": count})


def hold(
    store: Store,
    bodies: Sequence[str],
    at: int,
    exporter: str = "logflare",
    recent: Sequence[tuple[Entry, int]] = (),
) -> None:
    """Finish a one-record batch that holds an INFO entry per body for `exporter` (waiting
    five minutes at most) and puts `recent` in the live view, as the batch stage does."""
    store.enqueue(rows_from_request(request([Rec("x")]), at, store.origin_ids).rows)
    claim = store.claim_batch(1, 60 * NS, limit=1)
    items = [HoldItem(exporter, body, held_entry(body, at), at + 300 * NS) for body in bodies]
    assert store.finish_batch(claim, recent, [], at, held=Budgeted(items, merged, {}))


def set_bucket(
    store: Store, now: int, rate: float, limit: float, exporter: str = "logflare"
) -> None:
    """A release that sends nothing and leaves the bucket at `rate` under the backend's
    announced `limit` (0: none), as the export stage's release and answers do."""

    def nothing(bucket: Bucket | None, held: list[Held], backlog: int) -> tuple[Release, Bucket]:
        return Release(), Bucket(0.0, now, rate, limit)

    store.release_held(exporter, now, WINDOW_NS, nothing, lambda entry: "")
