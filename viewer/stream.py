"""The live stream's wire format: RecentEntry -> logsieve.v1 protos -> proto3 JSON frames.

An entry is rendered to JSON once (FramedEntry), however many pages it is sent to; a frame of
entries is those texts joined. The JSON is ASCII, so its length is its size on the wire.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from google.protobuf import json_format
from logsieve.v1 import entry_pb2, stream_pb2

from gateway import redact
from gateway.model import (
    BudgetState,
    ExportHealth,
    PatternRef,
    RecentEntry,
    ResourceValue,
    ViewerStatus,
)

MAX_EXACT_INT = 2**53  # JavaScript's and a double's exact integers end here


def to_proto(recent: RecentEntry) -> entry_pb2.Entry:
    entry = recent.entry
    message = entry_pb2.Entry(
        id=recent.id,
        body=entry.body,
        severity_number=entry.severity_number,
        severity=entry.severity,
        service=entry.service,
        count=entry.count,
        first_seen_unix_nano=entry.first_seen,
        last_seen_unix_nano=entry.last_seen,
        sample_rate=entry.sample_rate,
        trace_id=entry.trace_id,
        span_id=entry.span_id,
        scope=entry.scope,
        expires_at_unix_nano=recent.expires_at,
        shortened=recent.shortened,
        body_length=recent.body_length,
        attributes_elided=recent.attributes_elided,
    )
    message.attributes.update(entry.attributes)
    if entry.pattern is not None:
        message.pattern.CopyFrom(pattern_proto(entry.pattern))
    # An entry stored before schema version 5 counted no services: all its records are its own.
    services = entry.services or {entry.service: entry.count}
    message.services.extend(
        entry_pb2.ServiceCount(name=name, count=count) for name, count in services.items()
    )
    message.services_other = entry.services_other
    message.resource.update({key: _struct_value(v) for key, v in entry.resource.items()})
    return message


def _struct_value(value: ResourceValue) -> ResourceValue:
    """A resource value as a Struct keeps it: its numbers are doubles, so an integer past 2**53
    (which a double would round) goes as its decimal string."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_EXACT_INT:
        return str(value)
    return value


def pattern_proto(pattern: PatternRef) -> entry_pb2.Pattern:
    variables = [
        entry_pb2.Variable(
            top=[entry_pb2.ValueCount(value=value, count=count) for value, count in v.top],
            other=v.other,
            distinct=v.distinct,
        )
        for v in pattern.variables
    ]
    return entry_pb2.Pattern(id=pattern.hex_id, template=pattern.template, variables=variables)


@dataclass(frozen=True, slots=True)
class FramedEntry(RecentEntry):
    """A RecentEntry with its proto3 JSON, rendered once for every page it is sent to."""

    json: str = ""

    @property
    def size(self) -> int:
        """Bytes it takes in a frame, with the separator before it."""
        return len(self.json) + 2


def framed(recent: RecentEntry) -> FramedEntry:
    """`recent` rendered (as it is, when it already was)."""
    if isinstance(recent, FramedEntry):
        return recent
    text = json_format.MessageToJson(to_proto(recent), indent=None)
    return FramedEntry(
        recent.id,
        recent.entry,
        recent.expires_at,
        recent.body_length,
        recent.attributes_elided,
        json=text,
    )


def entry_json(recent: RecentEntry) -> str:
    """One whole entry as proto3 JSON (the page's expanded row)."""
    return framed(recent).json


def hello(
    cursor: int, ttl_seconds: int, sampling: str, backfill_limit: int
) -> stream_pb2.StreamMessage:
    greeting = stream_pb2.Hello(
        ttl_seconds=ttl_seconds, sampling=sampling, backfill_limit=backfill_limit
    )
    return stream_pb2.StreamMessage(cursor=cursor, hello=greeting)


def notice(
    cursor: int, kind: stream_pb2.Notice.Kind.ValueType, text: str, missed: int = 0
) -> stream_pb2.StreamMessage:
    said = stream_pb2.Notice(kind=kind, missed=missed, text=text)
    return stream_pb2.StreamMessage(cursor=cursor, notice=said)


def status(cursor: int, state: ViewerStatus, exporter_enabled: bool) -> stream_pb2.StreamMessage:
    message = stream_pb2.StreamMessage(cursor=cursor)
    message.status.window_entries = state.window_entries
    message.status.services.extend(state.services)
    exporter = message.status.exporter
    exporter.enabled = exporter_enabled
    exporter.outbox_depth = state.outbox_depth
    shown = headline(state.exports)
    # Masked again (it was when stored): every page, signed in or not, receives this text.
    exporter.last_error_text = redact.text(shown.last_error_text)
    if shown.last_success:
        exporter.last_success.FromNanoseconds(shown.last_success)
    if shown.last_error:
        exporter.last_error.FromNanoseconds(shown.last_error)
    message.status.budgets.extend(
        budget_proto(name, budget) for name, budget in sorted(state.budgets.items())
    )
    return message


def budget_proto(exporter: str, budget: BudgetState) -> stream_pb2.ExporterBudget:
    """An exporter's budget for the header: the page says how far behind its held entries
    are from `oldest_held`, on its own clock, so the frame need not change as they wait."""
    message = stream_pb2.ExporterBudget(
        exporter=exporter, rate=budget.rate, limit=budget.limit, held_entries=budget.held
    )
    if budget.oldest_held_ns:
        message.oldest_held.FromNanoseconds(budget.oldest_held_ns)
    return message


def headline(exports: Mapping[str, ExportHealth]) -> ExportHealth:
    """The one exporter the header speaks of: a failing one if any (its error newer than its
    last success), else the one whose last success is oldest; with several exporters its
    error names it."""
    if not exports:
        return ExportHealth()
    failing = {name: h for name, h in exports.items() if h.last_error > h.last_success}
    name, health = min((failing or exports).items(), key=lambda item: item[1].last_success)
    if len(exports) > 1 and health.last_error_text:
        return replace(health, last_error_text=f"{name}: {health.last_error_text}")
    return health


def entries(
    cursor: int, recent: Sequence[RecentEntry], *, backfill: bool
) -> stream_pb2.StreamMessage:
    batch = stream_pb2.EntryBatch(entries=[to_proto(r) for r in recent], backfill=backfill)
    return stream_pb2.StreamMessage(cursor=cursor, entries=batch)


def entries_frame(cursor: int, batch: Sequence[FramedEntry], *, backfill: bool) -> str:
    """What frame(entries(cursor, batch, backfill=...)) makes, from entries rendered once:
    proto3 JSON leaves out a zero cursor, an empty list and a false flag."""
    fields = []
    if batch:
        fields.append('"entries": [' + ", ".join(entry.json for entry in batch) + "]")
    if backfill:
        fields.append('"backfill": true')
    head = f'"cursor": "{cursor}", ' if cursor else ""
    return "{" + head + '"entries": {' + ", ".join(fields) + "}}"


def heartbeat(cursor: int, now_ns: int) -> stream_pb2.StreamMessage:
    message = stream_pb2.StreamMessage(cursor=cursor, heartbeat=stream_pb2.Heartbeat())
    message.heartbeat.server_time.FromNanoseconds(now_ns)
    return message


def frame(message: stream_pb2.StreamMessage) -> str:
    """One websocket text frame: compact proto3 JSON (camelCase; 64-bit ints as strings)."""
    return json_format.MessageToJson(message, preserving_proto_field_name=False, indent=None)


def parse_subscribe(text: str) -> stream_pb2.Subscribe:
    """A client's Subscribe frame; raises json_format.ParseError when it is not one."""
    return json_format.Parse(text, stream_pb2.Subscribe(), ignore_unknown_fields=True)
