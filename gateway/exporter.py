"""The Logflare exporter: entries -> Logflare's JSON batch API over httpx.

`export` never raises for HTTP trouble: it returns an ExportOutcome, and which statuses are
worth retrying is data (RETRYABLE, REFUSED), not scattered ifs.
"""

from __future__ import annotations

import email.utils
import gzip
import logging
import time
from typing import Any

import httpx
import orjson

from gateway.config import LogflareConfig
from gateway.model import Entry
from gateway.outcome import ExportOutcome, OutcomeKind

log = logging.getLogger("logsieve.exporter")

# Transient: the same request may succeed later.
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
# Refused for good: bad data, unacceptable encoding or size. Retrying the same bytes cannot help.
REFUSED = frozenset({400, 406, 413, 415, 422})
UNAUTHORIZED = frozenset({401, 403})
GZIP_ABOVE_BYTES = 4096
MAX_RESPONSE_BYTES = 64 * 1024
# Logflare's level words, which drive its UI's colours.
LEVELS = {
    "TRACE": "debug",
    "DEBUG": "debug",
    "INFO": "info",
    "WARN": "warning",
    "ERROR": "error",
    "FATAL": "critical",
    "UNSPECIFIED": "info",
}


def _micros(ns: int) -> int:
    return ns // 1000


def logflare_event(entry: Entry, now_ns: int) -> dict[str, Any]:
    """One Logflare event for an entry; the timestamp is its first occurrence, never 0."""
    first_seen = entry.first_seen or now_ns
    metadata: dict[str, Any] = {
        "level": LEVELS[entry.severity],
        "severity_number": entry.severity_number,
        "count": entry.count,
        "first_seen": _micros(first_seen),
        "last_seen": _micros(entry.last_seen or first_seen),
        "sample_rate": entry.sample_rate,
        "service": {"name": entry.service},
        "attributes": entry.attributes,
        "trace_id": entry.trace_id,
        "span_id": entry.span_id,
    }
    return {"event_message": entry.body, "timestamp": _micros(first_seen), "metadata": metadata}


class LogflareExporter:
    """POSTs batches of events to `{endpoint}/api/logs`; one instance per gateway."""

    def __init__(self, config: LogflareConfig, client: httpx.Client | None = None) -> None:
        self._url = f"{config.endpoint}/api/logs"
        # The source goes in the query (it is not a secret); the key only ever in a header.
        self._params = (
            {"source": config.source} if config.source else {"source_name": config.source_name}
        )
        self._headers = {
            "X-API-KEY": config.api_key.get_secret_value(),
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "logsieve",
        }
        self._client = client or httpx.Client(timeout=httpx.Timeout(config.timeout))
        self._deadline_s = 2 * config.timeout  # the whole exchange, however the bytes trickle

    def __repr__(self) -> str:
        return f"LogflareExporter(url={self._url!r}, {self._params!r}, api_key='***')"

    def export(self, events: list[dict[str, Any]]) -> ExportOutcome:
        body = orjson.dumps({"batch": events})
        headers = dict(self._headers)
        if len(body) > GZIP_ABOVE_BYTES:
            body = gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        try:
            return self._send(body, headers)
        except httpx.TimeoutException:
            return ExportOutcome(OutcomeKind.RETRY, detail="timed out")
        except httpx.TransportError as exc:
            return ExportOutcome(
                OutcomeKind.RETRY, detail=f"connection failed: {type(exc).__name__}"
            )

    def _send(self, body: bytes, headers: dict[str, str]) -> ExportOutcome:
        request = self._client.build_request(
            "POST", self._url, params=self._params, headers=headers, content=body
        )
        deadline = time.monotonic() + self._deadline_s
        response = self._client.send(request, stream=True)
        try:
            text = _read_capped(response, deadline)
        finally:
            response.close()
        return classify(response.status_code, response.headers.get("retry-after"), text)

    def shutdown(self) -> None:
        self._client.close()


def _read_capped(response: httpx.Response, deadline: float) -> str:
    """At most MAX_RESPONSE_BYTES of the body, by the deadline: a misbehaving server can
    neither flood memory nor hold the export stage with a slow trickle."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_RESPONSE_BYTES:
            break
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the response took longer than the request deadline")
    return b"".join(chunks)[:MAX_RESPONSE_BYTES].decode("utf-8", "replace")


def classify(
    status: int, retry_after: str | None, text: str, now_s: float | None = None
) -> ExportOutcome:
    """An HTTP answer as an ExportOutcome (`now_s` dates an HTTP-date Retry-After)."""
    detail = f"HTTP {status}: {text[:200]}"
    if 200 <= status < 300:
        return ExportOutcome(OutcomeKind.OK, status=status)
    if status in UNAUTHORIZED:
        return ExportOutcome(OutcomeKind.UNAUTHORIZED, status=status, detail=detail)
    if status in REFUSED:
        return ExportOutcome(OutcomeKind.REFUSED, status=status, detail=detail)
    if status in RETRYABLE or status >= 500:
        return ExportOutcome(OutcomeKind.RETRY, status, _seconds(retry_after, now_s), detail)
    return ExportOutcome(OutcomeKind.REFUSED, status=status, detail=detail)


def _seconds(retry_after: str | None, now_s: float | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; junk counts as absent."""
    if not retry_after:
        return None
    try:
        return max(0.0, float(retry_after))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return None
    now_s = time.time() if now_s is None else now_s
    return max(0.0, when.timestamp() - now_s)
