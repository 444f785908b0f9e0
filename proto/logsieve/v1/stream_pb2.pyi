import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from logsieve.v1 import entry_pb2 as _entry_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Subscribe(_message.Message):
    __slots__ = ("after", "min_severity", "service", "text")
    AFTER_FIELD_NUMBER: _ClassVar[int]
    MIN_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    after: int
    min_severity: str
    service: str
    text: str
    def __init__(self, after: _Optional[int] = ..., min_severity: _Optional[str] = ..., service: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class StreamMessage(_message.Message):
    __slots__ = ("cursor", "entries", "heartbeat", "hello")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    HELLO_FIELD_NUMBER: _ClassVar[int]
    cursor: int
    entries: EntryBatch
    heartbeat: Heartbeat
    hello: Hello
    def __init__(self, cursor: _Optional[int] = ..., entries: _Optional[_Union[EntryBatch, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., hello: _Optional[_Union[Hello, _Mapping]] = ...) -> None: ...

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
    __slots__ = ("ttl_seconds", "sampling")
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_FIELD_NUMBER: _ClassVar[int]
    ttl_seconds: int
    sampling: str
    def __init__(self, ttl_seconds: _Optional[int] = ..., sampling: _Optional[str] = ...) -> None: ...
