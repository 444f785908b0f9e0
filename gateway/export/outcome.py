"""What an export attempt came to, as a value: HTTP failures are outcomes, not exceptions."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class OutcomeKind(enum.Enum):
    OK = "ok"  # Logflare took the events
    RETRY = "retry"  # transient (5xx, 429, timeout, connection): keep the events, try later
    REFUSED = "refused"  # refused for good (400, 406, 413, 415): retrying cannot help
    UNAUTHORIZED = "unauthorized"  # 401: wrong key or source; keep the events, retry slowly
    REDIRECTED = "redirected"  # 3xx: the endpoint is not the API; keep the events, retry slowly


@dataclass(frozen=True, slots=True)
class ExportOutcome:
    kind: OutcomeKind
    status: int | None = None  # the HTTP status, None when no response came
    retry_after: float | None = None  # seconds, from Retry-After when the server sent it
    detail: str = ""  # a short human reason, never a secret

    @property
    def ok(self) -> bool:
        return self.kind is OutcomeKind.OK
