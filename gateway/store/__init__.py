"""Every SQL statement of logsieve, with intent names. Nothing outside this package imports
SQLAlchemy.

Tables:
  log_queue           one row per accepted LogRecord, until a batch finishes it
  queue_lease         SQLite: the lease on the head of the queue (one row)
  recent_log_entries  processed entries for the live view, until expires_at
  export_outbox       processed entries waiting for Logflare
  dead_letter         entries Logflare refused for good, with the reason
  export_health       the exporter's last success and last error, for the live page
  log_pattern         every pattern learned (template, first and last seen, total count, example)
  pattern_alias       a pattern merged into a wider one -> the survivor's id
  counters            running totals that survive restarts (records dropped on overload...)
  logsieve_schema     the schema version, so a gateway refuses a database it does not know

All values are bound parameters; timestamps are integer unix nanoseconds.
"""

from gateway.store._admin import DeadLetter, OutboxSummary, QueueSummary
from gateway.store._context import EntryContext
from gateway.store._engine import sqlite_file
from gateway.store._health import FailureLog, StorageRefused
from gateway.store._schema import SCHEMA_VERSION
from gateway.store._store import Store
from gateway.store._viewer import WindowPattern

__all__ = [
    "SCHEMA_VERSION",
    "DeadLetter",
    "EntryContext",
    "FailureLog",
    "OutboxSummary",
    "QueueSummary",
    "StorageRefused",
    "Store",
    "WindowPattern",
    "sqlite_file",
]
