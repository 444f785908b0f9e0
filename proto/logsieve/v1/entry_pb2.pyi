from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Entry(_message.Message):
    __slots__ = ("id", "body", "severity_number", "severity", "service", "count", "first_seen_unix_nano", "last_seen_unix_nano", "sample_rate", "attributes", "trace_id", "span_id", "scope", "expires_at_unix_nano", "shortened", "body_length", "attributes_elided", "pattern", "services", "resource", "services_other")
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
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    SERVICES_OTHER_FIELD_NUMBER: _ClassVar[int]
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
    pattern: Pattern
    services: _containers.RepeatedCompositeFieldContainer[ServiceCount]
    resource: _struct_pb2.Struct
    services_other: int
    def __init__(self, id: _Optional[int] = ..., body: _Optional[str] = ..., severity_number: _Optional[int] = ..., severity: _Optional[str] = ..., service: _Optional[str] = ..., count: _Optional[int] = ..., first_seen_unix_nano: _Optional[int] = ..., last_seen_unix_nano: _Optional[int] = ..., sample_rate: _Optional[float] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., trace_id: _Optional[str] = ..., span_id: _Optional[str] = ..., scope: _Optional[str] = ..., expires_at_unix_nano: _Optional[int] = ..., shortened: _Optional[bool] = ..., body_length: _Optional[int] = ..., attributes_elided: _Optional[bool] = ..., pattern: _Optional[_Union[Pattern, _Mapping]] = ..., services: _Optional[_Iterable[_Union[ServiceCount, _Mapping]]] = ..., resource: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., services_other: _Optional[int] = ...) -> None: ...

class ServiceCount(_message.Message):
    __slots__ = ("name", "count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    count: int
    def __init__(self, name: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class Pattern(_message.Message):
    __slots__ = ("id", "template", "variables")
    ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    id: str
    template: str
    variables: _containers.RepeatedCompositeFieldContainer[Variable]
    def __init__(self, id: _Optional[str] = ..., template: _Optional[str] = ..., variables: _Optional[_Iterable[_Union[Variable, _Mapping]]] = ...) -> None: ...

class Variable(_message.Message):
    __slots__ = ("top", "other", "distinct")
    TOP_FIELD_NUMBER: _ClassVar[int]
    OTHER_FIELD_NUMBER: _ClassVar[int]
    DISTINCT_FIELD_NUMBER: _ClassVar[int]
    top: _containers.RepeatedCompositeFieldContainer[ValueCount]
    other: int
    distinct: int
    def __init__(self, top: _Optional[_Iterable[_Union[ValueCount, _Mapping]]] = ..., other: _Optional[int] = ..., distinct: _Optional[int] = ...) -> None: ...

class ValueCount(_message.Message):
    __slots__ = ("value", "count")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    value: str
    count: int
    def __init__(self, value: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...
