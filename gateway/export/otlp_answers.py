"""What an OTLP backend's answer means for the records sent, per the OTLP specification.

Which answers are worth retrying is data here (RETRYABLE_HTTP, RETRYABLE_GRPC), not scattered
ifs. The specification's rules, and where logsieve departs from them:

- HTTP 429, 502, 503, 504 and gRPC CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE,
  UNAVAILABLE, DATA_LOSS are retried, after Retry-After or RetryInfo's delay when given.
- gRPC RESOURCE_EXHAUSTED is retried only with a RetryInfo (the server can recover); without
  one it is a refusal (a message past the server's size limit: the outbox halves the request).
- Every other error is a refusal for good: the outbox halves the request until each refused
  record is alone, and dead-letters it (a 400 or INVALID_ARGUMENT for one bad record costs
  only that record).
- Departures, each keeping the records rather than dead-lettering all of them for what is a
  configuration mistake: 401, 403, UNAUTHENTICATED and PERMISSION_DENIED (a wrong key) are
  retried slowly; 404, 405, UNIMPLEMENTED and NOT_FOUND (an endpoint with no OTLP logs
  service) are retried with backoff; a redirect is not followed (it would carry the headers
  elsewhere) and is retried slowly.
- Partial success (`rejected_log_records` > 0) is a success: the backend has stored the other
  records, so the request must not be sent again; the count and the backend's message are
  reported (ExportOutcome.rejected, detail). Which records were refused cannot be learnt
  without sending the stored ones again. When every record was rejected nothing was stored:
  that is a refusal, and the outbox's halving finds each refused record, one by one.
"""

from __future__ import annotations

import grpc
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

from gateway.export.http_shared import DETAIL_CHARS, retry_after_seconds
from gateway.export.outcome import ExportOutcome, OutcomeKind

Code = grpc.StatusCode
RETRYABLE_HTTP = frozenset({429, 502, 503, 504})
NO_SERVICE_HTTP = frozenset({404, 405})
UNAUTHORIZED_HTTP = frozenset({401, 403})
RETRYABLE_GRPC = frozenset(
    {
        Code.CANCELLED,
        Code.DEADLINE_EXCEEDED,
        Code.ABORTED,
        Code.OUT_OF_RANGE,
        Code.UNAVAILABLE,
        Code.DATA_LOSS,
    }
)
NO_SERVICE_GRPC = frozenset({Code.UNIMPLEMENTED, Code.NOT_FOUND})
UNAUTHORIZED_GRPC = frozenset({Code.UNAUTHENTICATED, Code.PERMISSION_DENIED})
NO_SERVICE = "the endpoint has no OTLP logs service (check exporters.otlp.endpoint)"


def accepted(response: ExportLogsServiceResponse, sent: int, status: int | None) -> ExportOutcome:
    """A success, with the records the backend refused inside it (partial success)."""
    partial = response.partial_success
    rejected = min(max(0, partial.rejected_log_records), sent)
    if not rejected and not partial.error_message:
        return ExportOutcome(OutcomeKind.OK, status=status)
    said = partial.error_message[:DETAIL_CHARS] or "no message"
    if rejected and rejected == sent:  # nothing stored: a refusal, safe to split and resend
        detail = f"rejected all {sent} records: {said}"
        return ExportOutcome(OutcomeKind.REFUSED, status=status, detail=detail, rejected=rejected)
    detail = f"rejected {rejected} of {sent} records: {said}" if rejected else f"warning: {said}"
    return ExportOutcome(OutcomeKind.OK, status=status, detail=detail, rejected=rejected)


def http_outcome(
    status: int, retry_after: str | None, said: str, location: str = ""
) -> ExportOutcome:
    """A failed HTTP answer (not 2xx) as an outcome; `said` and `location` masked already."""
    detail = f"HTTP {status}: {said[:DETAIL_CHARS]}"
    if 300 <= status < 400:
        moved = f"HTTP {status} to {location[:DETAIL_CHARS] or '(no Location)'}"
        return ExportOutcome(OutcomeKind.REDIRECTED, status=status, detail=moved)
    if status in UNAUTHORIZED_HTTP:
        return ExportOutcome(OutcomeKind.UNAUTHORIZED, status=status, detail=detail)
    if status in RETRYABLE_HTTP:
        return ExportOutcome(OutcomeKind.RETRY, status, retry_after_seconds(retry_after), detail)
    if status in NO_SERVICE_HTTP:
        return ExportOutcome(OutcomeKind.RETRY, status=status, detail=f"{detail} ({NO_SERVICE})")
    return ExportOutcome(OutcomeKind.REFUSED, status=status, detail=detail)


def status_message(body: bytes, fallback: str) -> str:
    """The message of a google.rpc.Status body (what OTLP/HTTP errors carry), else the text."""
    try:
        message = status_pb2.Status.FromString(body).message
    except DecodeError:
        return fallback
    return message or fallback


def grpc_outcome(code: grpc.StatusCode, said: str, retry_after: float | None) -> ExportOutcome:
    """A failed call as an outcome; `said` masked already."""
    detail = f"gRPC {code.name}: {said[:DETAIL_CHARS]}"
    if code in UNAUTHORIZED_GRPC:
        return ExportOutcome(OutcomeKind.UNAUTHORIZED, detail=detail)
    if code in RETRYABLE_GRPC or (code is Code.RESOURCE_EXHAUSTED and retry_after is not None):
        return ExportOutcome(OutcomeKind.RETRY, retry_after=retry_after, detail=detail)
    if code in NO_SERVICE_GRPC:
        return ExportOutcome(OutcomeKind.RETRY, detail=f"{detail} ({NO_SERVICE})")
    return ExportOutcome(OutcomeKind.REFUSED, detail=detail)


def retry_info(error: grpc.Call) -> float | None:
    """RetryInfo's delay in seconds, from the call's grpc-status-details-bin, if it has one."""
    try:
        status = rpc_status.from_call(error)
    except ValueError:  # details that contradict the call's own code or message
        return None
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            delay: float = info.retry_delay.seconds + info.retry_delay.nanos / 1e9
            return max(0.0, delay)
    return None
