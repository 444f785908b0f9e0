"""Every exception logsieve raises on purpose.

    LogsieveError
     ├── ConfigError            the config file is unreadable or invalid (lists every problem)
     └── StorageError           the database failed
          ├── StorageUnavailable   transient: locked, busy, disconnected (retry later)
          ├── StorageCorrupt       the database file cannot be opened or is not ours
          └── SchemaMismatch       the schema is older (run `logsieve migrate`) or newer

HTTP failures of the Logflare exporter are not exceptions: they are `ExportOutcome` values.
"""

from __future__ import annotations


class LogsieveError(Exception):
    """Base of every error raised on purpose by logsieve."""


class ConfigError(LogsieveError):
    """An invalid config; `problems` holds one "key.path: what is wrong" line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid configuration:\n" + "\n".join(f"  {p}" for p in problems))


class StorageError(LogsieveError):
    """The database failed."""


class StorageUnavailable(StorageError):
    """A transient database failure: the caller should retry later."""


class StorageCorrupt(StorageError):
    """The database cannot be opened or its schema is not logsieve's."""


class SchemaMismatch(StorageError):
    """The database's schema version is not this gateway's: migrate it, or upgrade logsieve."""
