"""The Logflare exporter: entries -> Logflare's JSON batch API over httpx.

This module is the one owner of Logflare's event format: `event_json` writes an entry as the
text the batch stage stores in the outbox, and `export` sends stored texts as they are, joined
into one batch body (never parsed and written again on the way out).

`export` never raises for HTTP trouble: it returns an ExportOutcome, and which statuses are
worth retrying is data (RETRYABLE, REFUSED), not scattered ifs. `timeout` bounds the whole
request (connect, sending, the response's head and body), however slowly a peer trickles
bytes; an answer's text is masked (gateway/redact.py) before it becomes an outcome's detail.
"""

from __future__ import annotations

import gzip
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import httpx
import orjson

from gateway import redact
from gateway.config.settings import LogflareConfig
from gateway.export.http_shared import (
    DETAIL_CHARS,
    Deadline,
    Watchdog,
    post_capped,
    request_failed,
    retry_after_seconds,
)

# The answer's cap is the shared one; named here too, where the tests look for it.
from gateway.export.http_shared import MAX_RESPONSE_BYTES as MAX_RESPONSE_BYTES
from gateway.export.outcome import Allowance, ExportOutcome, OutcomeKind
from gateway.model import Entry, PatternRef
from gateway.otlp import nest
from gateway.redact import Redactor

log = logging.getLogger("logsieve.exporter")

# Transient: the same request may succeed later.
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
# Refused for good: bad data, unacceptable encoding or size. Retrying the same bytes cannot help.
REFUSED = frozenset({400, 406, 413, 415, 422})
PARTIALLY_INGESTED = 406  # Logflare took the valid events and refused the others
UNAUTHORIZED = frozenset({401, 403})
GZIP_ABOVE_BYTES = 4096
# The source's rate limit and what is left of it, on every answer (200 and 429 alike).
SOURCE_LIMIT_HEADER = "x-rate-limit-source_limit"
SOURCE_REMAINING_HEADER = "x-rate-limit-source_remaining"
# An allowance is a count, never this long; a longer value is junk, and int() of a very long
# digit string raises (Python caps int parsing at 4300 digits).
MAX_COUNT_DIGITS = 18
# Logflare reads a timestamp by its digit count: 10 digits are seconds, 13 milliseconds, 19
# nanoseconds, any other count microseconds. Microseconds with 10 or 13 digits (times in early
# 1970) would be misread, so they are sent as the next value with a safe digit count.
MISREAD_DIGITS = (10, 13)
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


def logflare_timestamp(ns: int) -> int:
    """A time as Logflare's `timestamp`: microseconds, never 0 (1-999 ns become 1 µs), and
    never a digit count Logflare would read in another unit."""
    micros = max(1, _micros(ns))
    digits = len(str(micros))
    return 10**digits if digits in MISREAD_DIGITS else micros


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
    if entry.pattern is not None:
        metadata["pattern"] = _pattern(entry.pattern)
    _add_attribution(metadata, entry)
    timestamp = logflare_timestamp(first_seen)
    return {"event_message": entry.body, "timestamp": timestamp, "metadata": metadata}


def _add_attribution(metadata: dict[str, Any], entry: Entry) -> None:
    """`metadata.services`: [{name, count}], most records first (`services_other` counts the
    records of those left out); `metadata.resource`: the first record's resource attributes,
    nested on dots as `attributes` are (Logflare would rewrite a dotted key into an odd
    column name: `host.name` -> `_host_name`)."""
    if entry.services:
        metadata["services"] = [
            {"name": name, "count": count} for name, count in entry.services.items()
        ]
    if entry.services_other:
        metadata["services_other"] = entry.services_other
    if entry.resource:
        metadata["resource"] = nest(entry.resource)


def _pattern(pattern: PatternRef) -> dict[str, Any]:
    """`metadata.pattern`: the template the entry's records share, and per variable its top
    values with counts, the count of the rest and how many distinct values it took."""
    variables = [
        {"top": [list(pair) for pair in v.top], "other": v.other, "distinct": v.distinct}
        for v in pattern.variables
    ]
    return {"id": pattern.hex_id, "template": pattern.template, "variables": variables}


def event_json(entry: Entry, now_ns: int) -> str:
    """An entry as the Logflare event text the outbox stores and `export` sends unchanged."""
    return orjson.dumps(logflare_event(entry, now_ns)).decode()


def batch_body(events: Sequence[str]) -> bytes:
    """Logflare's batch body around stored event texts, which go in as they are. They are
    orjson's compact output (event_json), so this is what `orjson.dumps({"batch": parsed})`
    would write, without parsing and writing every event again."""
    return b'{"batch":[' + b",".join(event.encode() for event in events) + b"]}"


class LogflareExporter:
    """POSTs batches of events to `{endpoint}/api/logs`; one instance per gateway, one request
    at a time."""

    encode = staticmethod(event_json)

    def __init__(self, config: LogflareConfig, client: httpx.Client | None = None) -> None:
        self._url = f"{config.endpoint}/api/logs"
        # The source goes in the query (it is not a secret); the key only ever in a header.
        self._params = (
            {"source": config.source} if config.source else {"source_name": config.source_name}
        )
        api_key = config.api_key.get_secret_value()
        self._headers = {
            "X-API-KEY": api_key,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "logsieve",
        }
        # Never follow a redirect: it would carry the key to wherever Logflare's address points.
        self._client = client or httpx.Client(
            timeout=httpx.Timeout(config.timeout), follow_redirects=False
        )
        self._timeout_s = config.timeout
        self._watchdog = Watchdog()
        self._one_at_a_time = threading.Lock()  # the watchdog shuts every socket of this client
        self._mask = Redactor([api_key])  # at the source, whatever this process installed

    def __repr__(self) -> str:
        return f"LogflareExporter(url={self._url!r}, {self._params!r}, api_key='***')"

    def export(self, events: Sequence[str]) -> ExportOutcome:
        """Send stored event texts (from `event_json`) as one batch."""
        body = batch_body(events)
        headers = dict(self._headers)
        if len(body) > GZIP_ABOVE_BYTES:
            body = gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        with self._one_at_a_time:
            deadline = self._watchdog.start(self._timeout_s)
            try:
                return self._send(body, headers, deadline)
            except httpx.RequestError as exc:
                return request_failed(exc, deadline, self._timeout_s)
            finally:
                self._watchdog.stop(deadline)

    def _send(self, body: bytes, headers: dict[str, str], deadline: Deadline) -> ExportOutcome:
        response, raw, cut = post_capped(
            self._client, self._url, self._watchdog, headers=headers, content=body,
            params=self._params,
        )  # fmt: skip
        text = self._masked(raw.decode("utf-8", "replace"), cut)
        headers_in = response.headers
        location = self._masked(headers_in.get("location", ""))
        allowance = source_allowance(headers_in)
        retry_after = headers_in.get("retry-after")
        status = response.status_code
        return classify(status, retry_after, text, location=location, allowance=allowance)

    def _masked(self, text: str, cut: bool = False) -> str:
        """`text` without the API key or any other secret this process knows."""
        return redact.text(self._mask(text, cut), cut)

    def shutdown(self) -> None:
        self._client.close()


def classify(
    status: int,
    retry_after: str | None,
    text: str,
    now_s: float | None = None,
    location: str = "",
    allowance: Allowance | None = None,
) -> ExportOutcome:
    """An HTTP answer as an ExportOutcome (`now_s` dates an HTTP-date Retry-After); `text`
    and `location` must be masked already (they go into the detail). `allowance`, the source's
    rate allowance the answer reported, goes into the outcome whatever the status."""
    outcome = _classified(status, retry_after, text, now_s, location)
    return outcome if allowance is None else replace(outcome, allowance=allowance)


def _classified(
    status: int, retry_after: str | None, text: str, now_s: float | None, location: str
) -> ExportOutcome:
    detail = f"HTTP {status}: {text[:DETAIL_CHARS]}"
    if 200 <= status < 300:
        return ExportOutcome(OutcomeKind.OK, status=status)
    if 300 <= status < 400:  # not followed: a wrong endpoint, not events Logflare refused
        moved = f"HTTP {status} to {location[:DETAIL_CHARS] or '(no Location)'}"
        return ExportOutcome(OutcomeKind.REDIRECTED, status=status, detail=moved)
    if status in UNAUTHORIZED:
        return ExportOutcome(OutcomeKind.UNAUTHORIZED, status=status, detail=detail)
    if status in REFUSED:
        partly = status == PARTIALLY_INGESTED
        return ExportOutcome(OutcomeKind.REFUSED, status, detail=detail, stored_others=partly)
    if status in RETRYABLE or status >= 500:
        seconds = retry_after_seconds(retry_after, now_s)
        return ExportOutcome(OutcomeKind.RETRY, status, seconds, detail)
    return ExportOutcome(OutcomeKind.REFUSED, status=status, detail=detail)


def source_allowance(headers: Mapping[str, str]) -> Allowance | None:
    """The source's allowance from Logflare's x-rate-limit-source_* headers (looked up in lower
    case: httpx's Headers match any case); None unless both are there as non-negative integers:
    a proxy's or a future version's odd value must not break an export."""
    limit = _count(headers.get(SOURCE_LIMIT_HEADER))
    remaining = _count(headers.get(SOURCE_REMAINING_HEADER))
    if limit is None or remaining is None:
        return None
    return Allowance(limit=limit, remaining=remaining)


def _count(value: str | None) -> int | None:
    """A non-negative decimal integer, or None: no sign, no fraction, ASCII digits only."""
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_COUNT_DIGITS:
        return None
    return int(text)
