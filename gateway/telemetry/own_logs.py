"""The gateway's own logs: text or JSON lines on stderr, safe to read and to ship.

Log text can hold attacker text (a body quoted in an error, a client's address) and must
never hold a secret. So every message has its control characters escaped (no terminal
escapes, no forged lines) and the configured secrets, bearer tokens and api keys replaced
by `***` (gateway/redact.py, the one redactor for every text the gateway stores or shows).
The gateway never sends these logs through its own pipeline.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

from gateway import redact
from gateway.redact import Redactor
from gateway.text import printable

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class SafeTextFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__(TEXT_FORMAT)
        self._redact = redact

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = printable(self._redact(record.message))
        return super().formatMessage(record)

    def formatException(self, ei: object) -> str:
        return self._redact(super().formatException(ei))  # type: ignore[arg-type]


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message (and exception when there is one)."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": printable(self._redact(record.getMessage())),
        }
        if record.exc_info:
            line["exception"] = self._redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def configure(
    fmt: str, level: str, secrets: Iterable[str], stream: TextIO | None = None
) -> logging.Handler:
    """Send the root logger's records to `stream` (stderr) in `fmt` ("text" or "json"), and
    make `secrets` this process's secrets for every text it stores or shows."""
    redactor = redact.install(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    formatter = JsonFormatter(redactor) if fmt == "json" else SafeTextFormatter(redactor)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
