"""logsieve-client: send an application's logs to a logsieve gateway over OTLP.

    from logsieve_client import setup_logging
    setup_logging("checkout")                     # endpoint from OTEL_* or the default
    logging.getLogger(__name__).error("payment failed", extra={"order": 42})

A distribution of its own so that an application gets only what sending needs:
opentelemetry-sdk and the OTLP/HTTP exporter (OTLP/gRPC with the `grpc` extra), and nothing
of the gateway (no Flask, SQLAlchemy or gRPC server). The standard variables are honoured:
OTEL_EXPORTER_OTLP_LOGS_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL
(http/protobuf or grpc), OTEL_EXPORTER_OTLP_HEADERS (e.g. "authorization=Bearer <token>"),
OTEL_SERVICE_NAME.

The browser script (browser/logsieve-client.js) ships here too: a gateway's viewer serves this
very file at /static/logsieve-client.js, and browser_script() gives it to an application that
would rather serve it from its own origin.
"""

from __future__ import annotations

from importlib import resources

from logsieve_client._logging import LogSieveLogging, setup_logging

__all__ = ["BROWSER_SCRIPT", "LogSieveLogging", "browser_script", "setup_logging"]
__version__ = "0.1.0"

BROWSER_SCRIPT = "browser/logsieve-client.js"  # inside this package


def browser_script() -> str:
    """The browser logging script's source, to serve from the application's own origin."""
    return resources.files(__name__).joinpath(BROWSER_SCRIPT).read_text(encoding="utf-8")
