import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from logsieve.v1 import entry_pb2 as _entry_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Subscribe(_message.Message):
    __slots__ = ("after", "min_severity", "service", "text", "severities", "pattern", "query")
    AFTER_FIELD_NUMBER: _ClassVar[int]
    MIN_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SEVERITIES_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    after: int
    min_severity: str
    service: str
    text: str
    severities: _containers.RepeatedScalarFieldContainer[str]
    pattern: str
    query: str
    def __init__(self, after: _Optional[int] = ..., min_severity: _Optional[str] = ..., service: _Optional[str] = ..., text: _Optional[str] = ..., severities: _Optional[_Iterable[str]] = ..., pattern: _Optional[str] = ..., query: _Optional[str] = ...) -> None: ...

class StreamMessage(_message.Message):
    __slots__ = ("cursor", "entries", "heartbeat", "hello", "notice", "status")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    HELLO_FIELD_NUMBER: _ClassVar[int]
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    cursor: int
    entries: EntryBatch
    heartbeat: Heartbeat
    hello: Hello
    notice: Notice
    status: Status
    def __init__(self, cursor: _Optional[int] = ..., entries: _Optional[_Union[EntryBatch, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., hello: _Optional[_Union[Hello, _Mapping]] = ..., notice: _Optional[_Union[Notice, _Mapping]] = ..., status: _Optional[_Union[Status, _Mapping]] = ...) -> None: ...

class EntryBatch(_message.Message):
    __slots__ = ("entries", "backfill")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    BACKFILL_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[_entry_pb2.Entry]
    backfill: bool
    def __init__(self, entries: _Optional[_Iterable[_Union[_entry_pb2.Entry, _Mapping]]] = ..., backfill: _Optional[bool] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("server_time",)
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    server_time: _timestamp_pb2.Timestamp
    def __init__(self, server_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Hello(_message.Message):
    __slots__ = ("ttl_seconds", "sampling", "backfill_limit")
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_FIELD_NUMBER: _ClassVar[int]
    BACKFILL_LIMIT_FIELD_NUMBER: _ClassVar[int]
    ttl_seconds: int
    sampling: str
    backfill_limit: int
    def __init__(self, ttl_seconds: _Optional[int] = ..., sampling: _Optional[str] = ..., backfill_limit: _Optional[int] = ...) -> None: ...

class Notice(_message.Message):
    __slots__ = ("kind", "missed", "text")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[Notice.Kind]
        MISSED: _ClassVar[Notice.Kind]
        CURSOR_EXPIRED: _ClassVar[Notice.Kind]
        FELL_BEHIND: _ClassVar[Notice.Kind]
        BAD_QUERY: _ClassVar[Notice.Kind]
    KIND_UNSPECIFIED: Notice.Kind
    MISSED: Notice.Kind
    CURSOR_EXPIRED: Notice.Kind
    FELL_BEHIND: Notice.Kind
    BAD_QUERY: Notice.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    MISSED_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    kind: Notice.Kind
    missed: int
    text: str
    def __init__(self, kind: _Optional[_Union[Notice.Kind, str]] = ..., missed: _Optional[int] = ..., text: _Optional[str] = ...) -> None: ...

class Status(_message.Message):
    __slots__ = ("window_entries", "services", "exporter", "budgets")
    WINDOW_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    EXPORTER_FIELD_NUMBER: _ClassVar[int]
    BUDGETS_FIELD_NUMBER: _ClassVar[int]
    window_entries: int
    services: _containers.RepeatedScalarFieldContainer[str]
    exporter: ExporterHealth
    budgets: _containers.RepeatedCompositeFieldContainer[ExporterBudget]
    def __init__(self, window_entries: _Optional[int] = ..., services: _Optional[_Iterable[str]] = ..., exporter: _Optional[_Union[ExporterHealth, _Mapping]] = ..., budgets: _Optional[_Iterable[_Union[ExporterBudget, _Mapping]]] = ...) -> None: ...

class ExporterHealth(_message.Message):
    __slots__ = ("enabled", "last_success", "last_error", "last_error_text", "outbox_depth")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    LAST_SUCCESS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_TEXT_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    last_success: _timestamp_pb2.Timestamp
    last_error: _timestamp_pb2.Timestamp
    last_error_text: str
    outbox_depth: int
    def __init__(self, enabled: _Optional[bool] = ..., last_success: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_error: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_error_text: _Optional[str] = ..., outbox_depth: _Optional[int] = ...) -> None: ...

class ExporterBudget(_message.Message):
    __slots__ = ("exporter", "rate", "limit", "held_entries", "oldest_held")
    EXPORTER_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    HELD_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    OLDEST_HELD_FIELD_NUMBER: _ClassVar[int]
    exporter: str
    rate: float
    limit: float
    held_entries: int
    oldest_held: _timestamp_pb2.Timestamp
    def __init__(self, exporter: _Optional[str] = ..., rate: _Optional[float] = ..., limit: _Optional[float] = ..., held_entries: _Optional[int] = ..., oldest_held: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
