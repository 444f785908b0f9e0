"""The enqueue path both receivers share: admit, convert, commit; the outcome is a value.

A receiver decodes its request (protobuf over gRPC, protobuf or JSON over HTTP), hands it
here, and turns the outcome into its own protocol's answer. Nothing is acknowledged before
`Store.enqueue` has committed.
"""

from __future__ import annotations

import enum
import hmac
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from google.protobuf.duration_pb2 import Duration
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from gateway.clock import Clock
from gateway.errors import StorageError
from gateway.model import IncomingRow
from gateway.otlp import rows_from_request
from gateway.receivers.admission import Admission
from gateway.store import FailureLog, Store
from gateway.telemetry.metrics import Metrics

log = logging.getLogger("logsieve.receiver")
STORE_RETRY_S = 1.0  # what to suggest when the database itself is unavailable


class Verdict(enum.Enum):
    ACCEPTED = "accepted"  # committed (maybe with some records rejected one by one)
    OVERLOADED = "overloaded"  # the queue is full: retry after `retry_after_s`
    UNAVAILABLE = "unavailable"  # the database failed: nothing written, retry


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    verdict: Verdict
    rejected: int = 0  # records left out of an accepted request
    message: str = ""
    retry_after_s: float = 0.0

    def response(self) -> ExportLogsServiceResponse:
        """The OTLP response of an accepted request (partial_success when some were left)."""
        response = ExportLogsServiceResponse()
        if self.rejected:
            response.partial_success.rejected_log_records = self.rejected
            response.partial_success.error_message = self.message
        return response


ACCEPTED = IngestOutcome(Verdict.ACCEPTED)  # the common answer, made once


class Ingest:
    """One per process, shared by both receivers: admission, conversion and the commit.

    A receiver goes through `for_receiver(name)`, which counts under its own name; the
    admission decision and the queue are the same whichever receiver a request came in by.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        admission: Admission | None = None,
        max_record_bytes: int = 1024 * 1024,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._failures = FailureLog("enqueue", clock, log)
        self._admission = admission
        self.max_record_bytes = max_record_bytes
        self.metrics = metrics

    def for_receiver(self, name: str) -> ReceiverIngest:
        """The path as receiver `name` ("grpc", "http") uses it: counted under its name."""
        return ReceiverIngest(self, name)

    def commit_many(
        self, requests: Sequence[tuple[ExportLogsServiceRequest, int]]
    ) -> list[tuple[int, IngestOutcome]]:
        """Admit and convert each request, then commit all their rows in one transaction;
        per request, its record count and its outcome.

        Each outcome is its own request's: one may be refused (queue full) while the others
        are committed. A failed commit fails every request whose rows it held.
        """
        admitted = [self._admit(request, size) for request, size in requests]
        rows = [row for one in admitted if one.outcome is None for row in one.rows]
        failure = self._enqueue(rows)
        return [(one.records, self._outcome(one, failure)) for one in admitted]

    def _admit(self, request: ExportLogsServiceRequest, payload_bytes: int) -> _Admitted:
        """Admission and conversion: rows to commit, or the outcome that refuses them."""
        records = sum(len(s.log_records) for r in request.resource_logs for s in r.scope_logs)
        try:
            decision = self._admission.admit(records) if self._admission else None
            if decision is not None and not decision.accept:
                message = f"the queue is full; retry in {decision.retry_after_s:.1f} s"
                refused = IngestOutcome(Verdict.OVERLOADED, 0, message, decision.retry_after_s)
                return _Admitted(records, [], 0, refused)
            # Only a request bigger than the limit can hold a record bigger than it.
            limit = self.max_record_bytes if payload_bytes > self.max_record_bytes else None
            rows, rejected = rows_from_request(
                request, self._clock.now_ns(), self._store.origin_ids, limit
            )
        except StorageError as exc:
            return _Admitted(records, [], 0, self._unavailable(exc))
        return _Admitted(records, rows, rejected, None)

    def _enqueue(self, rows: list[IncomingRow]) -> IngestOutcome | None:
        """Commit the rows; None on success, else the outcome every request in it gets."""
        try:
            self._store.enqueue(rows)
        except StorageError as exc:
            return self._unavailable(exc)
        if rows:  # nothing to commit proves nothing
            self._failures.succeeded()
        return None

    def _unavailable(self, exc: StorageError) -> IngestOutcome:
        self._failures.failed(exc)  # one line a minute with counts, not one per request
        return UNAVAILABLE

    def _outcome(self, admitted: _Admitted, failure: IngestOutcome | None) -> IngestOutcome:
        if admitted.outcome is not None:
            return admitted.outcome
        if failure is not None:
            return failure
        if self._admission:
            self._admission.enqueued(len(admitted.rows))
        if not admitted.rejected:
            return ACCEPTED
        message = (
            f"{admitted.rejected} log records larger than {self.max_record_bytes} bytes"
            " were not accepted"
        )
        return IngestOutcome(Verdict.ACCEPTED, admitted.rejected, message)


class ReceiverIngest:
    """One receiver's way into the shared Ingest: the same path, counted under the receiver's
    name (the `receiver` label). Its labelled metric children are looked up once, here, not
    per request."""

    def __init__(self, ingest: Ingest, name: str) -> None:
        self.ingest = ingest
        self.name = name
        self.metrics = ingest.metrics
        self._in_flight = None
        if self.metrics is not None:
            self._received = self.metrics.received.labels(receiver=name)
            self._accepted = self.metrics.accepted.labels(receiver=name)
            self._in_flight = self.metrics.requests_in_flight.labels(receiver=name)

    def enqueue(self, request: ExportLogsServiceRequest, payload_bytes: int) -> IngestOutcome:
        """Admit and commit one request's records; `payload_bytes` is its decoded size."""
        return self.enqueue_many([(request, payload_bytes)])[0]

    def enqueue_many(
        self, requests: Sequence[tuple[ExportLogsServiceRequest, int]]
    ) -> list[IngestOutcome]:
        """`Ingest.commit_many`, counted: one outcome per request, in order."""
        handled = self.ingest.commit_many(requests)
        if self.metrics is not None:
            for records, outcome in handled:
                self._count(outcome, records)
        return [outcome for _, outcome in handled]

    def refused_request(self, reason: str) -> None:
        """Count a request the receiver refused before reading its records."""
        if self.metrics is not None:
            self.metrics.refuse_request(self.name, reason)

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Count a request as being handled while the block runs."""
        if self._in_flight is None:
            yield
            return
        self._in_flight.inc()
        try:
            yield
        finally:
            self._in_flight.dec()

    def abandoned_request(self) -> None:
        """Count a request whose client left before its reply: an everyday event (a client
        that timed out or shut down), not an error; its records' fate is as it would be."""
        log.debug("%s client left before its reply", self.name)
        if self.metrics is not None:
            self.metrics.abandoned_requests.labels(receiver=self.name).inc()

    def _count(self, outcome: IngestOutcome, records: int) -> None:
        metrics, name = self.metrics, self.name
        assert metrics is not None
        self._received.inc(records)
        if outcome.verdict is Verdict.ACCEPTED:
            self._accepted.inc(records - outcome.rejected)
            if outcome.rejected:
                metrics.refuse_records(name, "record_too_large", outcome.rejected)
        else:
            reason = (
                "queue_full" if outcome.verdict is Verdict.OVERLOADED else "database_unavailable"
            )
            metrics.refuse_records(name, reason, records)


@dataclass(frozen=True, slots=True)
class _Admitted:
    records: int
    rows: list[IncomingRow]
    rejected: int  # records left out for their size
    outcome: IngestOutcome | None  # set when the request is refused before the commit


UNAVAILABLE = IngestOutcome(
    Verdict.UNAVAILABLE, 0, "the queue's database is unavailable; retry", STORE_RETRY_S
)


def rpc_status(code: int, message: str, retry_after_s: float = 0.0) -> status_pb2.Status:
    """A google.rpc.Status, with a RetryInfo when the client should come back later: what
    both receivers answer with (gRPC as trailers, HTTP as the body)."""
    status = status_pb2.Status(code=code, message=message)
    if retry_after_s:
        seconds = int(retry_after_s)
        delay = Duration(seconds=seconds, nanos=int((retry_after_s - seconds) * 1e9))
        status.details.add().Pack(error_details_pb2.RetryInfo(retry_delay=delay))
    return status


class BearerCheck:
    """`Authorization: Bearer <token>` compared in constant time; no token configured: open."""

    def __init__(self, token: str | None) -> None:
        self._expected = f"Bearer {token}".encode() if token else b""

    def __repr__(self) -> str:
        return f"BearerCheck(token={'***' if self._expected else None})"

    @property
    def enabled(self) -> bool:
        return bool(self._expected)

    def allows(self, authorization: str | None) -> bool:
        if not self._expected:
            return True
        return hmac.compare_digest((authorization or "").strip().encode(), self._expected)
