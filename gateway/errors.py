"""Every exception logsieve raises on purpose.

    LogsieveError
     ├── ConfigError            the config file is unreadable or invalid (lists every problem)
     ├── EndpointError          a configured endpoint cannot be listened on (an OSError too)
     ├── StreamRefused          `logsieve tail`'s URL answers, but gives no live stream
     └── StorageError           the database failed
          ├── StorageUnavailable   transient: locked, busy, disconnected (retry later)
          ├── StorageCorrupt       the database file cannot be opened or is not ours
          └── SchemaMismatch       the schema is older (run `logsieve migrate`) or newer

HTTP failures of the Logflare exporter are not exceptions: they are `ExportOutcome` values.
"""

from __future__ import annotations

import errno
import socket


class LogsieveError(Exception):
    """Base of every error raised on purpose by logsieve."""


class ConfigError(LogsieveError):
    """An invalid config; `problems` holds one "key.path: what is wrong" line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid configuration:\n" + "\n".join(f"  {p}" for p in problems))


class EndpointError(LogsieveError, OSError):
    """A configured endpoint cannot be listened on: one line naming the setting and the
    address (`receivers.otlp.http.endpoint: 127.0.0.1:4318 is already in use`), instead of
    the socket library's or gRPC core's words. An OSError too: callers that treat a failed
    listen as one keep doing so."""

    def __init__(self, setting: str, address: str, problem: str) -> None:
        self.setting, self.address, self.problem = setting, address, problem
        super().__init__(f"{setting}: {address} {problem}")

    @classmethod
    def from_os_error(cls, setting: str, address: str, exc: OSError) -> EndpointError:
        """The error for a failed bind (or name lookup) of `address`, the value of `setting`."""
        code = socket.EAI_NONAME if isinstance(exc, socket.gaierror) else exc.errno
        problem = _BIND_PROBLEMS.get(code or 0)
        if problem is None:
            reason = (exc.strerror or str(exc)).split(" (while attempting", 1)[0]
            problem = f"cannot be listened on: {reason}"
        return cls(setting, address, problem)


_BIND_PROBLEMS = {  # errno -> what it means for a configured endpoint
    socket.EAI_NONAME: "cannot be listened on: the host name does not resolve",
    errno.EADDRINUSE: "is already in use",
    errno.EADDRNOTAVAIL: "cannot be listened on: not an address of this host",
    errno.EACCES: "cannot be listened on: permission denied (a port below 1024 needs privileges)",
}


class StreamRefused(LogsieveError):
    """`logsieve tail` reached its URL but gets no live stream there: not a logsieve viewer
    (another HTTP server, the gRPC port, TLS on one side only), or a viewer that wants the
    token. Retrying would not help, so the tail ends with this one line."""


class StorageError(LogsieveError):
    """The database failed."""


class StorageUnavailable(StorageError):
    """A transient database failure: the caller should retry later."""


class StorageCorrupt(StorageError):
    """The database cannot be opened or its schema is not logsieve's."""


class SchemaMismatch(StorageError):
    """The database's schema version is not this gateway's: migrate it, or upgrade logsieve."""
