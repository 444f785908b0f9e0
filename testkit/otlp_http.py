"""The fake OTLP backend's HTTP side: `POST /v1/logs` as the OTLP/HTTP specification has it.

The request is checked in the specification's order (method, path, Content-Type,
Content-Encoding, the protobuf or JSON body) before the backend's shared logic
(testkit/otlp.py) answers it; an answer is written the way the specification asks: a protobuf
ExportLogsServiceResponse, or a google.rpc.Status with Retry-After for a retryable error.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
import zlib
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

if TYPE_CHECKING:
    from testkit.otlp import FakeOtlp

PATH = "/v1/logs"
PROTOBUF, JSON = "application/x-protobuf", "application/json"
MAX_BODY_BYTES = 64 * 1024 * 1024  # after gzip: a bound, so a zip bomb stops there
GZIP_WBITS = 31


class Refused(Exception):
    """args = (HTTP status, violation)."""


class HttpFront:
    def __init__(self, fake: FakeOtlp, context: ssl.SSLContext | None) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, fake))
        self._server.daemon_threads = True
        if context is not None:
            self._server.socket = context.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx's pooled client expects
    timeout = 30

    def __init__(self, fake: FakeOtlp, *args: Any) -> None:
        self.fake = fake  # set first: the base __init__ serves the whole connection
        super().__init__(*args)

    def do_POST(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        gzipped = headers.get("content-encoding", "").strip().lower() == "gzip"
        try:
            kind, request = self._request(headers, gzipped)
        except Refused as refused:
            status, problem = refused.args
            self.fake.commit("http", None, None, headers, str(status), gzipped, (problem,))
            self.close_connection = True  # the body may be unread: this connection is done
            self._reply(status, b"", PROTOBUF, {"connection": "close"})
            return
        answer = self.fake.answer(request, headers)
        if answer.kind == "reset":
            self.fake.commit("http", answer, request, headers, "reset", gzipped)
            self._reset()
            return
        status, data, extra = self.fake.http_answer(answer, kind == JSON)
        self.fake.commit("http", answer, request, headers, str(status), gzipped)
        self._reply(status, data, kind, extra)

    def do_GET(self) -> None:
        problem = f"{self.command} {self.path}: OTLP/HTTP is POST"
        self.fake.commit("http", None, None, {}, "405", None, (problem,))
        self._reply(405, b"", PROTOBUF, {"allow": "POST"})

    do_PUT = do_PATCH = do_DELETE = do_GET

    def _request(
        self, headers: dict[str, str], gzipped: bool
    ) -> tuple[str, ExportLogsServiceRequest]:
        if self.path.split("?")[0] != PATH:
            raise Refused(404, f"POST to {self.path}, not {PATH}")
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in (PROTOBUF, JSON):
            raise Refused(415, f"Content-Type {kind!r}: OTLP/HTTP is {PROTOBUF} or {JSON}")
        encoding = headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity", "gzip"):
            raise Refused(415, f"Content-Encoding {encoding!r}: only gzip is in the specification")
        body = self._body(headers)
        if gzipped:
            body = _gunzip(body)
        try:
            if kind == JSON:
                return kind, json_format.Parse(body, ExportLogsServiceRequest())
            return kind, ExportLogsServiceRequest.FromString(body)
        except Exception:
            raise Refused(400, f"a body that is not an ExportLogsServiceRequest ({kind})") from None

    def _body(self, headers: dict[str, str]) -> bytes:
        length = headers.get("content-length", "").strip()
        if not length.isdigit():
            raise Refused(411, "no Content-Length (logsieve sends whole bodies)")
        return self.rfile.read(int(length))

    def _reply(self, status: int, data: bytes, kind: str, extra: dict[str, str]) -> None:
        with contextlib.suppress(OSError):  # the client gave up (timed out on a stall)
            self.send_response(status)
            headers = {"content-type": kind, "content-length": str(len(data)), **extra}
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    def _reset(self) -> None:
        """An RST instead of an answer: linger 0, then close."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests assert on `.requests`, not on stderr."""


def _gunzip(body: bytes) -> bytes:
    stream = zlib.decompressobj(GZIP_WBITS)
    try:
        data = stream.decompress(body, MAX_BODY_BYTES + 1)
    except zlib.error:
        raise Refused(400, "Content-Encoding: gzip, but the body is not gzip") from None
    if len(data) > MAX_BODY_BYTES:
        raise Refused(413, "the body is past 64 MiB once decompressed")
    if not stream.eof:
        raise Refused(400, "Content-Encoding: gzip, but the body is not gzip (cut short)")
    return data
