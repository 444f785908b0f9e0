"""The export stage: drains one exporter's outbox rows into its backend, with backoff.

Every configured exporter has a stage of its own, on its own thread, with its own rows in
export_outbox, backoff, dead letters and health: one slow or failing backend never holds up
another. Events wait durably until the backend takes them. Transient failures back off
exponentially with jitter (honouring Retry-After); a 401 or a redirect (a configuration
error) keeps the data and retries slowly; a request refused for good is halved until each
refused event is alone, and that event moves to dead_letter with the reason. Every reason is
masked (gateway/redact.py) before it is stored or logged: a backend's answer may echo a secret.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import secrets
from collections.abc import Sequence
from typing import Protocol

from gateway import redact
from gateway.clock import NS_PER_SECOND
from gateway.export.budget import BudgetPolicy
from gateway.export.outcome import ExportOutcome, OutcomeKind
from gateway.model import Bucket, Entry, Held, Release
from gateway.store import Store
from gateway.telemetry.metrics import Metrics

log = logging.getLogger("logsieve.export")
NS = NS_PER_SECOND
# Wrong credentials or a wrong endpoint will not fix themselves quickly.
MISCONFIGURED = frozenset({OutcomeKind.UNAUTHORIZED, OutcomeKind.REDIRECTED})


class Exporter(Protocol):
    """One backend's client; it alone knows the backend's wire format. The batch stage calls
    `encode` once per kept entry and the outbox stores the text; `export` sends stored texts
    as they are."""

    def encode(self, entry: Entry, now_ns: int) -> str: ...

    def export(self, events: Sequence[str]) -> ExportOutcome: ...

    def shutdown(self) -> None:
        """Close connections; idempotent."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class Backoff:
    initial: float = 1.0
    maximum: float = 60.0
    misconfigured: float = 60.0  # after a 401 or a redirect: retried slowly

    def delay(self, failures: int, outcome: ExportOutcome, rng: random.Random) -> float:
        if outcome.kind in MISCONFIGURED:
            return self.misconfigured
        exponential = min(self.maximum, self.initial * 2.0 ** max(0, failures - 1))
        jittered = exponential * (0.5 + rng.random() / 2)  # "equal jitter"
        return max(jittered, outcome.retry_after or 0.0)


@dataclasses.dataclass(slots=True)
class ExportReport:
    sent: int = 0
    dead_lettered: int = 0
    requests: int = 0
    last: ExportOutcome | None = None
    waiting: bool = False  # backing off: nothing was attempted
    released: int = 0  # held entries the budget let go into the outbox
    budget_dropped: int = 0  # held entries the budget sampled out


class ExportStage:
    def __init__(
        self,
        store: Store,
        exporter: Exporter,
        *,
        name: str = "logflare",  # the exporter's key under `exporters:`; its outbox rows
        batch_events: int = 500,
        max_requests_per_run: int = 50,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        lease_s: float = 120.0,
        metrics: Metrics | None = None,
        budget: BudgetPolicy | None = None,  # None: whatever the batch stage keeps goes
    ) -> None:
        self._store = store
        self.name = name
        self._metrics = metrics
        self._exporter = exporter
        # Long enough for one request with its timeout; a crashed gateway's claim then expires.
        self._lease_ns = int(lease_s * NS)
        self._batch_events = batch_events
        self._max_requests = max_requests_per_run
        self._backoff = backoff or Backoff()
        self._rng = rng or random.Random()
        self._budget = budget
        self._request_events = batch_events  # a budget lowers it to a second of its rate
        self._failures = 0
        self._next_attempt_ns = 0
        self.last_success_ns = 0
        self.last_error = ""

    def run_once(self, now: int) -> ExportReport:
        """Send outbox events until it is empty, a request fails, or the run's cap is hit."""
        report = ExportReport()
        if now < self._next_attempt_ns:
            report.waiting = True
            return report
        self._release_held(now, report)
        # With a budget, one request a run: a second's worth of its rate (runs are a second apart).
        most = 1 if self._budget is not None else self._max_requests
        while report.requests < most:
            token = secrets.randbits(62)
            pending = self._store.outbox_claim(
                self.name, token, self._lease_ns, self._request_events
            )
            if not pending:
                break
            if not self._send(token, pending, now, report):
                self._store.outbox_release(token, [event_id for event_id, _ in pending])
                if self._metrics is not None:
                    self._metrics.export_failed(self.name, len(pending))
                break
        if self._metrics is not None:
            self._metrics.export_done(self.name, report.sent, report.dead_lettered)
        return report

    def _send(
        self, token: int, pending: list[tuple[int, str]], now: int, report: ExportReport
    ) -> bool:
        ids = [event_id for event_id, _ in pending]
        outcome = _masked(self._exporter.export([event for _, event in pending]))
        report.requests += 1
        report.last = outcome
        self._heed(outcome)
        if outcome.kind is OutcomeKind.OK:
            self._accepted(token, ids, outcome, now, report)
            return True
        self.last_error = outcome.detail
        self._store.record_export_result(self.name, now, outcome.detail)
        if outcome.kind is OutcomeKind.REFUSED:
            return self._refused(token, pending, outcome, now, report)
        self._failures += 1
        delay = self._backoff.delay(self._failures, outcome, self._rng)
        self._next_attempt_ns = now + int(delay * NS)
        self._log_failure(outcome, len(ids), delay)
        return False

    def _release_held(self, now: int, report: ExportReport) -> None:
        """Move what the budget lets go now from the held entries into the outbox."""
        budget = self._budget
        if budget is None:
            return
        release = self._store.release_held(
            self.name,
            now,
            budget.window_ns,
            lambda bucket, held, backlog: self._decided(budget, bucket, held, now, backlog),
            lambda entry: self._exporter.encode(entry, now),
        )
        report.released += len(release.send)
        report.budget_dropped += len(release.dropped)
        if self._metrics is not None:
            self._metrics.released(self.name, len(release.send), len(release.rates))

    def _decided(
        self, budget: BudgetPolicy, bucket: Bucket | None, held: list[Held], now: int, backlog: int
    ) -> tuple[Release, Bucket]:
        release, after = budget.decide(bucket, held, now, backlog)
        self._request_events = budget.request_events(after.rate, self._batch_events)
        return release, after

    def _heed(self, outcome: ExportOutcome) -> None:
        """What the backend said of its limit adjusts the budget's rate (store-wide)."""
        budget = self._budget
        if budget is not None and (outcome.allowance is not None or outcome.status == 429):
            self._store.budget_answered(self.name, lambda bucket: budget.answered(bucket, outcome))

    def _accepted(
        self, token: int, ids: list[int], outcome: ExportOutcome, now: int, report: ExportReport
    ) -> None:
        """The backend took the request. With a partial success (OTLP) it stored all but
        `rejected` of its records and does not say which: sending any again would store it
        twice, so the request's events move to dead_letter together, with a reason that says
        so, where an operator can look for the rejected ones (losing them is not an option)."""
        self._failures, self.last_success_ns = 0, now
        self._store.record_export_result(self.name, now, None)
        if not outcome.rejected:
            self._store.outbox_ack(token, ids)
            report.sent += len(ids)
            return
        reason = (
            f"{outcome.detail} (the backend stored the other {len(ids) - outcome.rejected} of "
            "these: retrying them would send those again)"
        )
        self._store.outbox_dead_letter(token, ids, reason, now)
        report.sent += len(ids) - outcome.rejected
        report.dead_lettered += len(ids)
        if self._metrics is not None:
            self._metrics.rejected(self.name, outcome.rejected)

    def _refused(
        self,
        token: int,
        pending: list[tuple[int, str]],
        outcome: ExportOutcome,
        now: int,
        report: ExportReport,
    ) -> bool:
        """Find the events the backend will never take: halve the request until each is alone.

        A refusal that says the backend stored the others (Logflare's 406) is different: it
        does not say which failed, so re-sending any of them would duplicate it. Its events go
        to dead_letter together, with a reason that says so.
        """
        if len(pending) > 1 and not outcome.stored_others:
            middle = len(pending) // 2
            first, rest = pending[:middle], pending[middle:]
            return self._send(token, first, now, report) and self._send(token, rest, now, report)
        reason = outcome.detail
        if outcome.stored_others:
            reason = f"{reason} ({self._backend} ingested the valid events of this request)"
        self._store.outbox_dead_letter(token, [event_id for event_id, _ in pending], reason, now)
        report.dead_lettered += len(pending)
        log.error("%s refused %d events for good: %s", self._backend, len(pending), reason)
        return True

    @property
    def _backend(self) -> str:
        return "Logflare" if self.name == "logflare" else f"exporter {self.name}'s backend"

    def _log_failure(self, outcome: ExportOutcome, count: int, delay: float) -> None:
        if outcome.kind is OutcomeKind.REDIRECTED:
            log.error(
                "exporters.%s.endpoint answers with a redirect (%s): set it to the API's own "
                "address%s; %d events kept, retry in %.0f s",
                self.name,
                outcome.detail,
                " (https://api.logflare.app)" if self.name == "logflare" else "",
                count,
                delay,
            )
        elif outcome.kind is OutcomeKind.UNAUTHORIZED:
            log.error(
                "%s says the credentials are wrong (%s): check exporters.%s; "
                "%d events kept, retry in %.0f s",
                self._backend,
                outcome.detail,
                self.name,
                count,
                delay,
            )
        else:
            log.warning(
                "%s export failed (%s); retry in %.1f s", self._backend, outcome.detail, delay
            )


def _masked(outcome: ExportOutcome) -> ExportOutcome:
    """The outcome with its detail masked: it is stored, shown and logged from here on."""
    return dataclasses.replace(outcome, detail=redact.text(outcome.detail))
