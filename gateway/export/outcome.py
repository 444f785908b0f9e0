"""What an export attempt came to, as a value: HTTP failures are outcomes, not exceptions."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class OutcomeKind(enum.Enum):
    OK = "ok"  # the backend took the events (OTLP: maybe all but `rejected` of them)
    RETRY = "retry"  # transient (5xx, 429, timeout, connection): keep the events, try later
    REFUSED = "refused"  # refused for good (400, 406, 413, 415): retrying cannot help
    UNAUTHORIZED = "unauthorized"  # 401: wrong key or source; keep the events, retry slowly
    REDIRECTED = "redirected"  # 3xx: the endpoint is not the API; keep the events, retry slowly


@dataclass(frozen=True, slots=True)
class Allowance:
    """What the backend says is left of its rate limit for the source, as of its answer: the
    budget's feedback. `limit` is per the backend's own period (Logflare: events per 60 s)."""

    limit: int
    remaining: int


@dataclass(frozen=True, slots=True)
class ExportOutcome:
    kind: OutcomeKind
    status: int | None = None  # the HTTP status; None when none came (and over gRPC)
    retry_after: float | None = None  # seconds, from Retry-After or gRPC's RetryInfo if sent
    detail: str = ""  # a short human reason, never a secret
    # OTLP partial success: records the backend refused inside a request it accepted. The
    # others are stored there, so the request must not be sent again (it would duplicate them).
    rejected: int = 0
    # A refusal after which the backend has stored the request's valid events without saying
    # which it refused (Logflare's 406): sending any of them again would store it twice.
    stored_others: bool = False
    # The source's rate allowance when the answer reported one (Logflare's x-rate-limit-source_*,
    # on 200 and 429 alike); None when it did not, or no answer came.
    allowance: Allowance | None = None

    @property
    def ok(self) -> bool:
        return self.kind is OutcomeKind.OK
