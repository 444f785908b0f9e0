"""The live stream's wire format: RecentEntry -> logsieve.v1 protos -> proto3 JSON frames.

An entry is rendered to JSON once (FramedEntry), however many pages it is sent to; a frame of
entries is those texts joined. The JSON is ASCII, so its length is its size on the wire.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from google.protobuf import json_format
from logsieve.v1 import entry_pb2, stream_pb2

from gateway import redact
from gateway.model import PatternRef, RecentEntry, ViewerStatus


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
    return message


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
    # Masked again (it was when stored): every page, signed in or not, receives this text.
    exporter.last_error_text = redact.text(state.export.last_error_text)
    if state.export.last_success:
        exporter.last_success.FromNanoseconds(state.export.last_success)
    if state.export.last_error:
        exporter.last_error.FromNanoseconds(state.export.last_error)
    return message


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
