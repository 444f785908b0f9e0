"""setup_logging(): Python `logging` records to a logsieve gateway, over OTLP.

It never raises into the application: a failure to set up is reported once with `warnings`
and logging goes on as before. The exporter's own complaints (a gateway that is down) are
kept out of the handler, so they cannot loop back into the pipeline.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_HTTP_ENDPOINT = "http://127.0.0.1:4318"
# Large enough that a burst of a few thousand lines waits in memory instead of being dropped;
# the SDK warns (once per batch) if even this fills.
QUEUE_SIZE = 20_000
BATCH_SIZE = 512
FLUSH_DELAY_MS = 1_000
# Loggers whose records never go to the gateway: the exporter's own, and its HTTP clients'.
SELF_LOGGERS = ("opentelemetry", "urllib3", "requests", "grpc", "logsieve_client")
GRPC_MISSING = (
    "the gRPC exporter is not installed (OTLP over gRPC was asked for): "
    "pip install 'logsieve-client[grpc]', or use the default http/protobuf"
)

_lock = threading.Lock()
_installed: LogSieveLogging | None = None


@dataclass
class LogSieveLogging:
    """What setup_logging installed: flush() sends what is queued; shutdown() also detaches."""

    provider: Any
    handler: logging.Handler

    def flush(self, timeout_ms: int = 5_000) -> bool:
        try:
            return bool(self.provider.force_flush(timeout_ms))
        except Exception:  # never into the application
            return False

    def shutdown(self) -> None:
        global _installed
        with _lock:
            logging.getLogger().removeHandler(self.handler)
            with contextlib.suppress(Exception):  # never into the application
                self.provider.shutdown()
            if _installed is self:
                _installed = None


class _NotOurOwn(logging.Filter):
    """Keeps the exporter's own records out: a gateway that is down must not cause a loop."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(SELF_LOGGERS)


def setup_logging(
    service_name: str | None = None,
    *,
    endpoint: str | None = None,
    protocol: str | None = None,
    token: str | None = None,
    level: int = logging.INFO,
    resource_attributes: Mapping[str, str] | None = None,
) -> LogSieveLogging | None:
    """Attach an OTLP handler to the root logger (once; later calls return the first).

    Returns None, after one warning, if OpenTelemetry is missing or misconfigured.
    """
    global _installed
    with _lock:
        if _installed is not None:
            return _installed
        try:
            extra = resource_attributes or {}
            _installed = _install(service_name, endpoint, protocol, token, level, extra)
        except Exception as exc:  # a logging library must not take the application down
            warnings.warn(f"logsieve logging is off: {exc}", RuntimeWarning, stacklevel=2)
            return None
        atexit.register(_installed.shutdown)  # flushes what is still queued at exit
        return _installed


def _install(
    service_name: str | None,
    endpoint: str | None,
    protocol: str | None,
    token: str | None,
    level: int,
    resource_attributes: Mapping[str, str],
) -> LogSieveLogging:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    name = service_name or os.environ.get("OTEL_SERVICE_NAME") or "unknown_service"
    resource = Resource.create({**resource_attributes, "service.name": name})
    provider = LoggerProvider(resource=resource)
    exporter = _exporter(endpoint, protocol, token)
    provider.add_log_record_processor(
        BatchLogRecordProcessor(
            exporter,
            max_queue_size=QUEUE_SIZE,
            max_export_batch_size=BATCH_SIZE,
            schedule_delay_millis=FLUSH_DELAY_MS,
        )
    )
    handler = _handler(level, provider)
    handler.addFilter(_NotOurOwn())
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
    return LogSieveLogging(provider, handler)


def _handler(level: int, provider: Any) -> logging.Handler:
    from opentelemetry.sdk._logs import LoggingHandler

    # Recent SDKs mark their handler deprecated in favour of one in a separate package
    # (opentelemetry-instrumentation-logging); it still works, and the application should not
    # see a warning about a choice it did not make.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "`LoggingHandler`", DeprecationWarning)
        handler: logging.Handler = LoggingHandler(level=level, logger_provider=provider)
    return handler


def _exporter(endpoint: str | None, protocol: str | None, token: str | None) -> Any:
    chosen = (
        protocol
        or os.environ.get("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    )
    # Explicit arguments win; otherwise the exporter reads the OTEL_* variables itself.
    headers = {"authorization": f"Bearer {token}"} if token else None
    if chosen == "grpc":
        return _grpc_exporter(endpoint, headers)
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as Http

    url = endpoint.rstrip("/") + "/v1/logs" if endpoint else _http_logs_url()
    return Http(endpoint=url, headers=headers)


def _grpc_exporter(endpoint: str | None, headers: dict[str, str] | None) -> Any:
    """OTLP over gRPC: an extra (grpcio is large), so its absence is said in one line."""
    try:
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    except ImportError as exc:
        raise RuntimeError(GRPC_MISSING) from exc
    insecure = (endpoint or "").startswith("http://") or None
    return OTLPLogExporter(endpoint=endpoint, headers=headers, insecure=insecure)


def _http_logs_url() -> str | None:
    if os.environ.get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    ):
        return None  # the exporter builds it from the variables
    return DEFAULT_HTTP_ENDPOINT + "/v1/logs"
