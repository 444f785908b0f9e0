"""Realistic OTLP log traffic: ExportLogsServiceRequests built from a seeded generator.

Each request holds one resource (a service) with two scopes and `records` LogRecords:
severity ~70% INFO / 20% WARN / 10% ERROR, bodies from ~200 templates with a few varying
parts drawn from small pools (so a batch dedupes realistically, not perfectly), three
attributes, trace/span ids and timestamps.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from gateway.model import IncomingRow
from gateway.otlp import rows_from_request

SERVICES = ("checkout", "payments", "cart", "auth", "search", "inventory", "shipping", "email")
SCOPES = ("app.http", "app.db")
METHODS = ("GET", "POST", "PUT", "DELETE")
STATUS = (200, 200, 200, 201, 204, 400, 404, 500, 503)
# (severity_number, severity_text, percent of templates and so of records)
SEVERITIES = ((9, "INFO", 70), (13, "WARN", 20), (17, "ERROR", 10))

_ACTIONS = (
    "fetched",
    "created",
    "updated",
    "deleted",
    "validated",
    "cached",
    "retried",
    "rejected",
    "queued",
    "synced",
)
_SUBJECTS = (
    "order",
    "payment",
    "cart item",
    "session",
    "user profile",
    "invoice",
    "shipment",
    "coupon",
    "search index page",
    "email notification",
    "inventory record",
    "price quote",
    "refund",
    "token",
    "webhook",
    "report",
    "address",
    "subscription",
    "recommendation",
    "audit entry",
)
_SUFFIXES = (
    "",
    " for user {user}",
    " in {ms} ms",
    " (attempt {attempt} of 5)",
    " status={status}",
)


def _templates() -> list[tuple[str, int, str]]:
    """200 (template, severity number, text): 10 actions x 20 subjects, each with a fixed
    varying suffix and a fixed severity (as a log statement in code has), 140/40/20."""
    bodies = [
        f"{action} {subject} {{id}}{_SUFFIXES[i % len(_SUFFIXES)]}"
        for i, (action, subject) in enumerate((a, s) for a in _ACTIONS for s in _SUBJECTS)
    ]
    levels = [(n, t) for n, t, weight in SEVERITIES for _ in range(weight * len(bodies) // 100)]
    random.Random(0).shuffle(levels)
    return [(body, n, t) for body, (n, t) in zip(bodies, levels, strict=True)]


TEMPLATES = _templates()


def _kv(key: str, value: str | int) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


class Workload:
    """A deterministic stream of requests; `seed` picks the stream."""

    services: tuple[str, ...] = SERVICES

    def __init__(self, seed: int = 1, base_time_ns: int = 1_700_000_000_000_000_000) -> None:
        self._rng = random.Random(seed)
        self._time = base_time_ns

    def _body(self, template: str) -> str:
        rng = self._rng
        return template.format(
            id=rng.randrange(8),  # a small pool: dedupe merges repeats within a batch
            user=f"u-{rng.randrange(50)}",
            ms=5 * rng.randrange(40),
            attempt=rng.randrange(1, 6),
            status=rng.choice(STATUS),
        )

    def _record(self) -> LogRecord:
        rng = self._rng
        self._time += rng.randrange(1_000, 200_000)
        template, number, text = rng.choice(TEMPLATES)
        return LogRecord(
            time_unix_nano=self._time,
            observed_time_unix_nano=self._time + 1_000_000,
            severity_number=number,  # type: ignore[arg-type]
            severity_text=text,
            body=AnyValue(string_value=self._body(template)),
            attributes=[
                _kv("http.method", rng.choice(METHODS)),
                _kv("http.status_code", rng.choice(STATUS)),
                _kv("thread.name", f"worker-{rng.randrange(16)}"),
            ],
            trace_id=rng.randbytes(16),
            span_id=rng.randbytes(8),
        )

    def request(self, records: int = 512) -> ExportLogsServiceRequest:
        rng = self._rng
        service = rng.choice(self.services)
        resource = Resource(
            attributes=[
                _kv("service.name", service),
                _kv("service.version", "1.4.2"),
                _kv("host.name", f"{service}-{rng.randrange(4)}"),
            ]
        )
        half = records // 2
        scopes = [
            ScopeLogs(
                scope=InstrumentationScope(name=name, version="0.9"),
                log_records=[self._record() for _ in range(count)],
            )
            for name, count in zip(SCOPES, (half, records - half), strict=True)
        ]
        return ExportLogsServiceRequest(
            resource_logs=[ResourceLogs(resource=resource, scope_logs=scopes)]
        )

    def payloads(self, count: int, records: int = 512) -> list[bytes]:
        return [self.request(records).SerializeToString() for _ in range(count)]

    def row_chunks(
        self,
        total: int,
        origin_ids: Callable[[list[bytes]], list[int]],
        chunk: int = 4096,
        received_at: int = 0,
    ) -> Iterator[list[IncomingRow]]:
        """Queue rows as the receiver makes them, `chunk` rows at a time, `total` in all."""
        left = total
        while left > 0:
            rows: list[IncomingRow] = []
            while len(rows) < min(chunk, left):
                rows.extend(
                    rows_from_request(self.request(512), received_at or self._time, origin_ids).rows
                )
            rows = rows[: min(chunk, left)]
            left -= len(rows)
            yield rows


# The flood: 2,000 fixed message texts (a log statement without variable parts), picked with
# Zipf-distributed frequency, from 10 services; 3 % of templates (so about 3 % of records) are
# errors. This is the traffic logsieve exists for: the same lines, over and over.
FLOOD_SERVICES = (*SERVICES, "gateway", "scheduler")
FLOOD_LEVELS = ((5, "DEBUG", 15), (9, "INFO", 65), (13, "WARN", 17), (17, "ERROR", 3))


def _flood_templates(count: int = 2000) -> list[tuple[str, int, str]]:
    picker = random.Random(7)
    levels = [(n, t) for n, t, weight in FLOOD_LEVELS for _ in range(weight * count // 100)]
    picker.shuffle(levels)
    parts = [(picker.choice(_ACTIONS), picker.choice(_SUBJECTS)) for _ in range(count)]
    bodies = [f"{a} {s} batch {i}{picker.choice(_SUFFIXES)}" for i, (a, s) in enumerate(parts)]
    return [
        (body.format(user="u-1", ms=40, attempt=1, status=200, id=1), n, t)
        for body, (n, t) in zip(bodies, levels, strict=True)
    ]


FLOOD_TEMPLATES = _flood_templates()
ZIPF_WEIGHTS = [1.0 / (rank + 1) ** 1.1 for rank in range(len(FLOOD_TEMPLATES))]
# Summed once: choices() would sum all 2,000 weights again for every record (same picks).
ZIPF_CUMULATIVE = list(itertools.accumulate(ZIPF_WEIGHTS))


class FloodWorkload(Workload):
    """Identical lines repeated with Zipf frequency: what dedupe is for."""

    services = FLOOD_SERVICES

    def _record(self) -> LogRecord:
        record = super()._record()
        body, number, text = self._rng.choices(FLOOD_TEMPLATES, cum_weights=ZIPF_CUMULATIVE)[0]
        record.body.string_value = body
        record.severity_number = number  # type: ignore[assignment]
        record.severity_text = text
        return record
