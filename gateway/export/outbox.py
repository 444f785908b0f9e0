"""The export stage: drains the outbox into Logflare, with backoff; stalls nothing else.

Events wait durably in export_outbox until Logflare takes them. Transient failures back off
exponentially with jitter (honouring Retry-After); a 401 or a redirect (a configuration
error) keeps the data and retries slowly; a request refused for good moves its events to
dead_letter with the reason. Every reason is masked (gateway/redact.py) before it is stored
or logged: Logflare's answer may echo a secret.
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
from gateway.export.outcome import ExportOutcome, OutcomeKind
from gateway.model import Entry
from gateway.store import Store
from gateway.telemetry.metrics import Metrics

log = logging.getLogger("logsieve.export")
NS = NS_PER_SECOND
PARTIALLY_INGESTED = 406  # Logflare took the valid events and refused the others
# Wrong credentials or a wrong endpoint will not fix themselves quickly.
MISCONFIGURED = frozenset({OutcomeKind.UNAUTHORIZED, OutcomeKind.REDIRECTED})


class Exporter(Protocol):
    """One log store's client; it alone knows the store's wire format. The batch stage calls
    `encode` once per kept entry and the outbox stores the text; `export` sends stored texts
    as they are."""

    def encode(self, entry: Entry, now_ns: int) -> str: ...

    def export(self, events: Sequence[str]) -> ExportOutcome: ...


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


class ExportStage:
    def __init__(
        self,
        store: Store,
        exporter: Exporter,
        *,
        batch_events: int = 500,
        max_requests_per_run: int = 50,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        lease_s: float = 120.0,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._exporter = exporter
        # Long enough for one request with its timeout; a crashed gateway's claim then expires.
        self._lease_ns = int(lease_s * NS)
        self._batch_events = batch_events
        self._max_requests = max_requests_per_run
        self._backoff = backoff or Backoff()
        self._rng = rng or random.Random()
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
        while report.requests < self._max_requests:
            token = secrets.randbits(62)
            pending = self._store.outbox_claim(token, self._lease_ns, self._batch_events)
            if not pending:
                break
            if not self._send(token, pending, now, report):
                self._store.outbox_release(token, [event_id for event_id, _ in pending])
                if self._metrics is not None:
                    self._metrics.export_failures.inc()
                    self._metrics.retried.inc(len(pending))
                break
        if self._metrics is not None:
            self._metrics.exported.inc(report.sent)
            self._metrics.dead_lettered.inc(report.dead_lettered)
        return report

    def _send(
        self, token: int, pending: list[tuple[int, str]], now: int, report: ExportReport
    ) -> bool:
        ids = [event_id for event_id, _ in pending]
        outcome = _masked(self._exporter.export([event for _, event in pending]))
        report.requests += 1
        report.last = outcome
        if outcome.kind is OutcomeKind.OK:
            self._store.outbox_ack(token, ids)
            report.sent += len(ids)
            self._failures, self.last_success_ns = 0, now
            self._store.record_export_result(now, None)
            return True
        self.last_error = outcome.detail
        self._store.record_export_result(now, outcome.detail)
        if outcome.kind is OutcomeKind.REFUSED:
            return self._refused(token, pending, outcome, now, report)
        self._failures += 1
        delay = self._backoff.delay(self._failures, outcome, self._rng)
        self._next_attempt_ns = now + int(delay * NS)
        self._log_failure(outcome, len(ids), delay)
        return False

    def _refused(
        self,
        token: int,
        pending: list[tuple[int, str]],
        outcome: ExportOutcome,
        now: int,
        report: ExportReport,
    ) -> bool:
        """Find the events Logflare will never take: halve the request until each is alone.

        A 406 is different: Logflare has already ingested the valid events of that request
        and does not say which failed, so re-sending any of them would duplicate it. Its
        events go to dead_letter together, with a reason that says so.
        """
        if len(pending) > 1 and outcome.status != PARTIALLY_INGESTED:
            middle = len(pending) // 2
            first, rest = pending[:middle], pending[middle:]
            return self._send(token, first, now, report) and self._send(token, rest, now, report)
        reason = outcome.detail
        if outcome.status == PARTIALLY_INGESTED:
            reason = f"{reason} (Logflare ingested the valid events of this request)"
        self._store.outbox_dead_letter(token, [event_id for event_id, _ in pending], reason, now)
        report.dead_lettered += len(pending)
        log.error("Logflare refused %d events for good: %s", len(pending), reason)
        return True

    def _log_failure(self, outcome: ExportOutcome, count: int, delay: float) -> None:
        if outcome.kind is OutcomeKind.REDIRECTED:
            log.error(
                "exporters.logflare.endpoint answers with a redirect (%s): set it to Logflare's "
                "API address (https://api.logflare.app); %d events kept, retry in %.0f s",
                outcome.detail,
                count,
                delay,
            )
        elif outcome.kind is OutcomeKind.UNAUTHORIZED:
            log.error(
                "Logflare says the API key or source is wrong (%s); "
                "%d events kept, retry in %.0f s",
                outcome.detail,
                count,
                delay,
            )
        else:
            log.warning("Logflare export failed (%s); retry in %.1f s", outcome.detail, delay)


def _masked(outcome: ExportOutcome) -> ExportOutcome:
    """The outcome with its detail masked: it is stored, shown and logged from here on."""
    return dataclasses.replace(outcome, detail=redact.text(outcome.detail))
