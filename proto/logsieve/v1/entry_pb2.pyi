from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Entry(_message.Message):
    __slots__ = ("id", "body", "severity_number", "severity", "service", "count", "first_seen_unix_nano", "last_seen_unix_nano", "sample_rate", "attributes", "trace_id", "span_id", "scope", "expires_at_unix_nano", "shortened", "body_length", "attributes_elided")
    ID_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_UNIX_NANO_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_UNIX_NANO_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    SPAN_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_UNIX_NANO_FIELD_NUMBER: _ClassVar[int]
    SHORTENED_FIELD_NUMBER: _ClassVar[int]
    BODY_LENGTH_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_ELIDED_FIELD_NUMBER: _ClassVar[int]
    id: int
    body: str
    severity_number: int
    severity: str
    service: str
    count: int
    first_seen_unix_nano: int
    last_seen_unix_nano: int
    sample_rate: float
    attributes: _struct_pb2.Struct
    trace_id: str
    span_id: str
    scope: str
    expires_at_unix_nano: int
    shortened: bool
    body_length: int
    attributes_elided: bool
    def __init__(self, id: _Optional[int] = ..., body: _Optional[str] = ..., severity_number: _Optional[int] = ..., severity: _Optional[str] = ..., service: _Optional[str] = ..., count: _Optional[int] = ..., first_seen_unix_nano: _Optional[int] = ..., last_seen_unix_nano: _Optional[int] = ..., sample_rate: _Optional[float] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., trace_id: _Optional[str] = ..., span_id: _Optional[str] = ..., scope: _Optional[str] = ..., expires_at_unix_nano: _Optional[int] = ..., shortened: _Optional[bool] = ..., body_length: _Optional[int] = ..., attributes_elided: _Optional[bool] = ...) -> None: ...
