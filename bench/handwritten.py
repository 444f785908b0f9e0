"""The comparisons for the ingest figure: plain hand-written Python receivers.

Both are the simplest thing one would write with grpcio: the same generic raw-bytes handler
as logsieve's receiver (so the gRPC cost is equal), then either
  sqlite3   each record turned into a row (time, severity, body, the record's bytes) and
            committed with the standard sqlite3 module, one transaction per request
  discard   the request parsed and thrown away (the ceiling of any Python receiver)
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
from concurrent import futures
from pathlib import Path

import grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

SERVICE = "opentelemetry.proto.collector.logs.v1.LogsService"
MIB = 1024 * 1024


class HandWrittenReceiver:
    def __init__(self, mode: str, max_workers: int = 16) -> None:
        self._mode = mode
        self._lock = threading.Lock()  # sqlite3: one connection, one writer
        self._db: sqlite3.Connection | None = None
        if mode == "sqlite3":
            path = Path(tempfile.mkdtemp(prefix="logsieve-handwritten-")) / "logs.db"
            self._db = sqlite3.connect(path, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE logs (id INTEGER PRIMARY KEY, time INTEGER, severity INTEGER,"
                " body TEXT, record BLOB)"
            )
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers),
            options=[("grpc.max_receive_message_length", 16 * MIB)],
        )
        handler = grpc.unary_unary_rpc_method_handler(self.export)
        self._server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler(SERVICE, {"Export": handler})]
        )
        self.address = f"127.0.0.1:{self._server.add_insecure_port('127.0.0.1:0')}"

    def start(self) -> None:
        self._server.start()

    def shutdown(self) -> None:
        self._server.stop(5).wait()
        if self._db is not None:
            self._db.close()

    def export(self, payload: bytes, context: grpc.ServicerContext) -> bytes:
        request = ExportLogsServiceRequest.FromString(payload)
        if self._db is None:
            return b""
        rows = [
            (r.time_unix_nano, r.severity_number, r.body.string_value, r.SerializeToString())
            for resource in request.resource_logs
            for scope in resource.scope_logs
            for r in scope.log_records
        ]
        with self._lock:
            self._db.executemany(
                "INSERT INTO logs (time, severity, body, record) VALUES (?, ?, ?, ?)", rows
            )
            self._db.commit()
        return b""
