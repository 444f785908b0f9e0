"""The two ways an ExportLogsServiceRequest travels: OTLP/gRPC (grpcio) and OTLP/HTTP with a
protobuf body (httpx). Each sends the request's bytes as they are and turns the answer into an
ExportOutcome (gateway/export/otlp_answers.py); neither raises for network trouble.

Both bound the whole request by `timeout`: gRPC with the call's deadline, HTTP with the
watchdog the Logflare exporter uses (a peer trickling bytes cannot hold it). Neither follows
redirects nor retries by itself: the outbox decides when to send again.
"""

from __future__ import annotations

import gzip
import ssl
from collections.abc import Callable
from typing import Protocol

import grpc
import httpx
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

from gateway.config.otlp_exporter import OtlpExporterConfig
from gateway.export.http_shared import (
    Watchdog,
    post_capped,
    request_failed,
    timed_out,
)
from gateway.export.otlp_answers import (
    accepted,
    grpc_outcome,
    http_outcome,
    retry_info,
    status_message,
)
from gateway.export.outcome import ExportOutcome, OutcomeKind

EXPORT_METHOD = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
PROTOBUF = "application/x-protobuf"
USER_AGENT = "logsieve"
GZIP_LEVEL = 5  # most of level 9's saving on log text, at a fraction of its time
Mask = Callable[[str, bool], str]  # (text, cut) -> the text without any secret


class Sender(Protocol):
    def send(self, body: bytes, count: int) -> ExportOutcome: ...

    def close(self) -> None: ...


def sender_for(config: OtlpExporterConfig, mask: Mask, client: httpx.Client | None) -> Sender:
    if config.protocol == "grpc":
        return GrpcSender(config, mask)
    return HttpSender(config, mask, client)


class GrpcSender:
    """Unary Export calls on one channel (grpcio reconnects it by itself)."""

    def __init__(self, config: OtlpExporterConfig, mask: Mask) -> None:
        compression = grpc.Compression.Gzip if config.compression == "gzip" else None
        options = [("grpc.primary_user_agent", USER_AGENT)]
        target = config.grpc_target()
        if config.secure:
            credentials = grpc.ssl_channel_credentials(root_certificates=config.tls.ca_pem())
            self._channel = grpc.secure_channel(target, credentials, options, compression)
        else:
            self._channel = grpc.insecure_channel(target, options, compression)
        # Bytes in, bytes out: the request is serialized once, by the caller.
        self._export = self._channel.unary_unary(EXPORT_METHOD, None, None)
        self._metadata = tuple(
            (name, value.get_secret_value()) for name, value in config.headers.items()
        )
        self._timeout_s = config.timeout
        self._mask = mask

    def send(self, body: bytes, count: int) -> ExportOutcome:
        try:
            answer = self._export(body, timeout=self._timeout_s, metadata=self._metadata)
        except grpc.RpcError as error:
            assert isinstance(error, grpc.Call)  # what a unary call raises
            return self._failed(error)
        try:
            response = ExportLogsServiceResponse.FromString(answer)
        except DecodeError:  # the call succeeded: the records were taken
            return ExportOutcome(OutcomeKind.OK)
        return accepted(response, count, None)

    def _failed(self, error: grpc.Call) -> ExportOutcome:
        code = error.code()
        said = self._mask(error.details() or "", False)
        if code is grpc.StatusCode.DEADLINE_EXCEEDED:
            said = timed_out(self._timeout_s)
        return grpc_outcome(code, said, retry_info(error))

    def close(self) -> None:
        self._channel.close()


class HttpSender:
    """POSTs to the endpoint's /v1/logs, one request at a time, on a kept-alive connection."""

    def __init__(
        self, config: OtlpExporterConfig, mask: Mask, client: httpx.Client | None = None
    ) -> None:
        self._url = config.http_url()
        self._headers = {
            **{name: value.get_secret_value() for name, value in config.headers.items()},
            "Content-Type": PROTOBUF,
            "Accept": PROTOBUF,
            "User-Agent": USER_AGENT,
        }
        self._gzip = config.compression == "gzip"
        if self._gzip:
            self._headers["Content-Encoding"] = "gzip"
        verify: ssl.SSLContext | bool = True
        if config.tls.ca_file:
            verify = ssl.create_default_context(cafile=config.tls.ca_file)
        # Never follow a redirect: it would carry the headers (an API key) elsewhere.
        self._client = client or httpx.Client(
            timeout=httpx.Timeout(config.timeout), follow_redirects=False, verify=verify
        )
        self._timeout_s = config.timeout
        self._watchdog = Watchdog()
        self._mask = mask

    def send(self, body: bytes, count: int) -> ExportOutcome:
        if self._gzip:
            body = gzip.compress(body, compresslevel=GZIP_LEVEL)
        deadline = self._watchdog.start(self._timeout_s)
        try:
            return self._post(body, count)
        except httpx.RequestError as exc:
            return request_failed(exc, deadline, self._timeout_s)
        finally:
            self._watchdog.stop(deadline)

    def _post(self, body: bytes, count: int) -> ExportOutcome:
        response, answer, cut = post_capped(
            self._client, self._url, self._watchdog, headers=self._headers, content=body
        )
        status = response.status_code
        if 200 <= status < 300:
            return _accepted(answer, response.headers.get("content-type", ""), count, status)
        said = self._mask(status_message(answer, answer.decode("utf-8", "replace")), cut)
        location = self._mask(response.headers.get("location", ""), False)
        return http_outcome(status, response.headers.get("retry-after"), said, location)

    def close(self) -> None:
        self._client.close()


def _accepted(answer: bytes, kind: str, count: int, status: int) -> ExportOutcome:
    """A 2xx answer: its partial success, read as protobuf or (if the backend says so) JSON.
    An answer that is neither still means the records were taken: it is not reported."""
    try:
        if kind.split(";")[0].strip().lower() == "application/json":
            response = json_format.Parse(answer, ExportLogsServiceResponse(), True)
        else:
            response = ExportLogsServiceResponse.FromString(answer)
    except (DecodeError, json_format.ParseError, UnicodeDecodeError):
        return ExportOutcome(OutcomeKind.OK, status)
    return accepted(response, count, status)
