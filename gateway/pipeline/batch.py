"""The batch stage: claim -> dedupe -> sample -> recent + outbox, atomically.

`run_once(now)` drives one batch and returns a report. Its results (recent entries and
exporter events in the outbox) are written in the same transaction that deletes the claimed
rows, so a crash at any point either leaves the rows queued or leaves the results stored.

The stage knows no wire format: the composition root hands it each exporter's encoder, which
writes each kept entry as the text the outbox stores (one row per exporter) and the exporter
later sends unchanged.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

from gateway import severity
from gateway.clock import NS_PER_SECOND
from gateway.errors import StorageError
from gateway.model import Budgeted, Claim, ClaimedRow, Entry, HoldItem, OutboxEvent
from gateway.otlp import Origin
from gateway.pipeline.collector import collector_paused
from gateway.pipeline.dedupe import OriginCache, add_details, entries_of, fine_entries
from gateway.pipeline.fine import Fine
from gateway.pipeline.grouping import Grouping
from gateway.pipeline.holding import Holding, merged, split_for_budget
from gateway.pipeline.learning import Learned, Miner, PatternBook
from gateway.pipeline.sampling import SamplingPolicy, sample
from gateway.store import Store
from gateway.telemetry.metrics import Metrics

log = logging.getLogger("logsieve.batch")
_BODY = itemgetter(3)  # of a ClaimedRow: (id, seen_at, severity_number, body, origin_id)
NS = NS_PER_SECOND
# An entry, and the batch's time (for an entry without timestamps), as one outbox event's text.
Encode = Callable[[Entry, int], str]


@dataclass(frozen=True, slots=True)
class Outbound:
    """One exporter as the batch stage sees it: its name (key under `exporters:`), its encoder,
    and how many of its events may wait in the outbox."""

    exporter: str
    encode: Encode
    max_outbox_events: int = 1_000_000
    holding: Holding | None = None  # its budget's waits; None: every kept entry goes now


@dataclass(frozen=True, slots=True)
class BatchSettings:
    max_batch_records: int = 50_000
    max_batch_bodies: int = 25_000  # distinct bodies a batch groups; a claim is cut short there
    grouping: Grouping = field(default_factory=Grouping)  # the dedupe key of each record
    top_values: int = 5  # per variable of a pattern entry
    max_patterns: int = 100_000  # known patterns a starting miner loads from the store
    ttl_ns: int = 3600 * NS
    lease_ns: int = 120 * NS


@dataclass(slots=True)
class BatchReport:
    claimed: int = 0
    entries: int = 0
    kept: int = 0
    sampled_out_records: Counter[str] = field(default_factory=Counter)
    outboxed: int = 0
    held: int = 0  # entries budgets hold back (merged into their keys' held entries)
    fenced: bool = False  # the claim was lost to another stage; nothing was written
    paused: bool = False  # an exporter's outbox is full of ERROR and above: nothing claimed
    cut_short: bool = False  # past max_batch_bodies: the claim's other rows start the next batch

    def add(self, other: BatchReport) -> None:
        self.claimed += other.claimed
        self.entries += other.entries
        self.kept += other.kept
        self.sampled_out_records.update(other.sampled_out_records)
        self.outboxed += other.outboxed
        self.held += other.held
        self.fenced = self.fenced or other.fenced
        self.paused = self.paused or other.paused
        self.cut_short = self.cut_short or other.cut_short


class BatchStage:
    def __init__(
        self,
        store: Store,
        policy: SamplingPolicy,
        settings: BatchSettings,
        *,
        outbound: Sequence[Outbound],  # empty: no exporter runs, nothing goes to the outbox
        miner: Miner | None = None,  # when the grouping uses patterns
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._policy = policy
        self._settings = settings
        self._outbound = tuple(outbound)
        self._origins = OriginCache()
        self._metrics = metrics
        self._book = PatternBook(store, miner, settings.max_patterns) if miner is not None else None

    def run_once(self, now: int) -> BatchReport:
        """Process one claim of at most max_batch_records rows."""
        # The cycle collector waits for the whole batch, not only its regrouping (collector.py
        # says why). What the batch made is let go when _run_once returns, before it is back.
        with collector_paused():
            return self._run_once(now)

    def _run_once(self, now: int) -> BatchReport:
        settings = self._settings
        if not all(self._outbox_has_room(outbound) for outbound in self._outbound):
            return BatchReport(paused=True)
        claim = self._store.claim_batch(
            secrets.randbits(62), settings.lease_ns, settings.max_batch_records
        )
        if not claim.rows:
            return BatchReport()
        began = time.monotonic()
        try:
            origins = self._origins.learn(claim.origins)
            claim, fine, cut_short = self._fine(claim, origins)
            report, recent, (events, held), learned = self._process(fine, origins, claim, now)
            report.fenced = not self._store.finish_batch(
                claim, recent, events, now, patterns=learned.patterns, merges=learned.merges,
                held=held,
            )  # fmt: skip
            report.cut_short = cut_short
        except BaseException:
            self._give_back(claim)
            raise
        if self._book is not None and not report.fenced:
            self._book.committed()
        if report.fenced:
            log.warning("batch of %d rows lost its claim; another stage owns it", report.claimed)
        elif self._metrics is not None:
            _count(self._metrics, report, time.monotonic() - began)
        return report

    def _fine(self, claim: Claim, origins: dict[int, Origin]) -> tuple[Claim, list[Fine], bool]:
        """The claim's rows counted by body and band (dedupe's first pass), then let go (each
        fine entry holds what it needs of them); within max_batch_bodies distinct bodies (a
        batch's memory grows with them), the claim's other rows given back to the queue at
        once. And whether it was cut."""
        grouping, bound = self._settings.grouping, self._settings.max_batch_bodies
        fine = fine_entries(claim.rows, origins, grouping)
        cut_short = False
        # A distinct body has a fine entry at least: the rows are read again only past the bound.
        if len(fine) > bound and (keep := rows_within(claim.rows, bound)) < claim.size:
            claim, cut_short = self._store.cut_claim(claim, keep), True
            fine = fine_entries(claim.rows, origins, grouping)
        claim.rows.clear()
        return claim, fine, cut_short

    def _give_back(self, claim: Claim) -> None:
        """Return a failed batch's rows to the queue. When the database refuses that too (a
        full disk, a file gone), the lease runs out and a later batch takes them: the error
        worth reporting is the one that failed the batch, not this one chained to it."""
        with contextlib.suppress(StorageError):
            self._store.release(claim)

    def _process(
        self, fine: list[Fine], origins: dict[int, Origin], claim: Claim, now: int
    ) -> tuple[
        BatchReport, list[tuple[Entry, int]], tuple[list[OutboxEvent], Budgeted | None], Learned
    ]:
        entries = self._group(fine, origins, claim.first_id)
        learned = self._book.learned(entries) if self._book is not None else Learned()
        sampled = sample(entries, self._policy, claim.first_id)
        grouped = len(entries)
        del entries  # those sampled out (and their top values) go before the records are read
        records = self._store.claimed_records([entry.first_id for entry in sampled.kept])
        for entry in sampled.kept:
            add_details(entry, records[entry.first_id])
        expires_at = now + self._settings.ttl_ns
        recent = [(entry, expires_at) for entry in sampled.kept]
        events, held = self._events(sampled.kept, now)
        report = BatchReport(
            claimed=claim.size,
            entries=grouped,
            kept=len(sampled.kept),
            sampled_out_records=sampled.dropped_records,
            outboxed=len(events),
            held=len(held.items) if held is not None else 0,
        )
        return report, recent, (events, held), learned

    def _group(self, fine: list[Fine], origins: dict[int, Origin], batch_key: int) -> list[Entry]:
        settings, policy = self._settings, self._policy
        miner = self._book.miner() if self._book is not None else None
        # Only the entries sampling keeps are sent or shown: only theirs get top values (the
        # others' are never read; most entries of INFO and below are sampled out).
        keeps = functools.partial(policy.keeps, batch_key=batch_key)
        return entries_of(fine, origins, settings.grouping, miner, settings.top_values, keeps)

    def _events(self, kept: list[Entry], now: int) -> tuple[list[OutboxEvent], Budgeted | None]:
        """The outbox rows for the kept entries, one per exporter: its encoder's text and the
        severity the drop policy reads (it never parses an event). A budgeted exporter gets
        only the entries that never wait; the others are held for its budget."""
        events: list[OutboxEvent] = []
        items: list[HoldItem] = []
        charged: dict[str, int] = {}
        max_held: dict[str, int] = {}
        for outbound in self._outbound:
            going = kept
            if outbound.holding is not None:
                going, held = split_for_budget(
                    outbound.exporter, outbound.holding, self._settings.grouping, kept, now
                )
                items += held
                charged[outbound.exporter] = len(going)
                max_held[outbound.exporter] = outbound.holding.max_held
            events += (
                OutboxEvent(outbound.exporter, outbound.encode(entry, now), entry.severity_number)
                for entry in going
            )
        return events, (Budgeted(items, merged, charged, max_held) if charged else None)

    def _outbox_has_room(self, outbound: Outbound) -> bool:
        """Room for one more batch's events of this exporter, after dropping its oldest below
        ERROR if need be."""
        name, room = (
            outbound.exporter,
            outbound.max_outbox_events - self._settings.max_batch_records,
        )
        low, high = self._store.outbox_extent(name)
        if not high or high - low + 1 <= room:  # its rows lie in that range: no more than that
            return True
        excess = self._store.outbox_exporter_depth(name) - room
        if excess <= 0:
            return True
        dropped = self._store.drop_outbox_lowest_severity(name, excess, severity.ERROR_NUMBER)
        if dropped:
            log.warning(
                "exporters.%s: outbox full, dropped %d oldest events below ERROR",
                name,
                sum(dropped.values()),
            )
        if sum(dropped.values()) >= excess:
            return True
        log.warning(
            "exporters.%s: outbox full of ERROR and above, processing paused until it sends some",
            name,
        )
        return False

    def run_batches(self, now: int, keep_going: Callable[[], bool] = lambda: True) -> BatchReport:
        """Run batches until no claimable row is left or keep_going() says stop (shutdown)."""
        total = BatchReport()
        while True:
            report = self.run_once(now)
            total.add(report)
            full = report.claimed == self._settings.max_batch_records or report.cut_short
            if not full or report.fenced or report.paused or not keep_going():
                return total


def rows_within(rows: Sequence[ClaimedRow], max_bodies: int) -> int:
    """How many rows, from the first, hold at most `max_bodies` distinct bodies."""
    if len(rows) <= max_bodies or len(set(map(_BODY, rows))) <= max_bodies:  # in C: the usual
        return len(rows)
    seen: set[str] = set()
    for taken, (_, _, _, body, _) in enumerate(rows):
        if body not in seen:
            if len(seen) == max_bodies:
                return taken
            seen.add(body)
    return len(rows)


def _count(metrics: Metrics, report: BatchReport, seconds: float) -> None:
    metrics.batch_seconds.observe(seconds)
    metrics.batch_records.inc(report.claimed)
    metrics.batch_entries.inc(report.entries)
    if report.cut_short:
        metrics.batch_cut_short.inc()
    metrics.dedupe_ratio.set(report.claimed / report.entries if report.entries else 0.0)
    for band, records in report.sampled_out_records.items():
        metrics.sampled_out.labels(severity=band).inc(records)
