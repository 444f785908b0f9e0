"""The tables. Timestamps are integer unix nanoseconds."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
)

SCHEMA_VERSION = 7  # see _migrations.py for what each version added
# SQLite's INTEGER PRIMARY KEY is the rowid; BIGINT would lose autoincrement there.
_Id = BigInteger().with_variant(Integer, "sqlite")

metadata = MetaData()

log_queue = Table(
    "log_queue",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("received_at", BigInteger, nullable=False),
    # 1-24, or 0 when neither the number nor the text named a severity.
    Column("severity_number", Integer, nullable=False),
    # time_unix_nano, else observed_time_unix_nano, else received_at.
    Column("seen_at", BigInteger, nullable=False),
    Column("body", Text, nullable=False),
    # The rest of the LogRecord (body cleared), decoded only for entries that are kept.
    Column("record", LargeBinary, nullable=False),
    Column("origin_id", BigInteger, nullable=False),
    # Row claims (PostgreSQL, where several gateways share the queue).
    Column("claim_token", BigInteger, nullable=True),
    Column("lease_until", BigInteger, nullable=True),
)

# The resource and scope of queued records, stored once: every record of a request shares them,
# and they would be a third of each queue row.
log_origin = Table(
    "log_origin",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("digest", LargeBinary, nullable=False, unique=True),
    Column("origin", LargeBinary, nullable=False),
)

# SQLite has one writer, so one batch stage at a time holds the head of the queue with this
# single-row lease instead of marking every row it claims.
queue_lease = Table(
    "queue_lease",
    metadata,
    Column("name", Text, primary_key=True),
    Column("token", BigInteger, nullable=True),
    Column("lease_until", BigInteger, nullable=True),
)

recent_log_entries = Table(
    "recent_log_entries",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("expires_at", BigInteger, nullable=False),
    Column("severity_number", Integer, nullable=False),
    Column("severity", Text, nullable=False),
    Column("service", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("first_seen", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("sample_rate", Float, nullable=False),
    Column("attributes", Text, nullable=False),
    Column("trace_id", Text, nullable=False),
    Column("span_id", Text, nullable=False),
    Column("scope", Text, nullable=False),
    # The entry's pattern when it was grouped by one (NULL otherwise); the variables as JSON:
    # [{"top": [[value, count], ...], "other": n, "distinct": n}, ...], one per variable.
    Column("pattern_id", BigInteger, nullable=True),
    Column("pattern_template", Text, nullable=True),
    Column("pattern_variables", Text, nullable=True),
    # Records per service.name as JSON pairs, most first: [["payments", 6], ["auth", 3]], and
    # [null, n] last for the records of the services left out (Entry.services_other). The
    # first record's resource attributes as a JSON object on their dotted keys. Both NULL on
    # entries stored before version 5.
    Column("services", Text, nullable=True),
    Column("resource", Text, nullable=True),
    Index("ix_recent_expires_at", "expires_at"),
    # Ids are the live stream's cursor: never reuse one, even after the purge empties the table.
    sqlite_autoincrement=True,
)
RECENT_COLUMNS = tuple(c.name for c in recent_log_entries.c if c.name != "id")

export_outbox = Table(
    "export_outbox",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("created_at", BigInteger, nullable=False),
    Column("event", Text, nullable=False),
    Column("severity_number", Integer, nullable=False),  # drop policies spare ERROR and above
    # The export request holding these events, so gateways sharing a database never both send.
    Column("claim_token", BigInteger, nullable=True),
    Column("lease_until", BigInteger, nullable=True),
    # Which exporter sends it (its key under `exporters:`): each kept entry has one row per
    # exporter, in that exporter's wire format, so each drains at its own pace.
    Column("exporter", Text, nullable=False),
    Index("ix_export_outbox_exporter", "exporter", "id"),
)

dead_letter = Table(
    "dead_letter",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("created_at", BigInteger, nullable=False),
    Column("event", Text, nullable=False),
    Column("reason", Text, nullable=False),
    # The outbox row's, kept so that a retried event is spared by the drop policy as before.
    Column("severity_number", Integer, nullable=False),
    Column("exporter", Text, nullable=False),  # the outbox row's: a retry goes back to it
)

# Running totals that must survive restarts (records dropped by the overload policy...).
counters = Table(
    "counters",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# What the live page's header and `status` show of each exporter: one row per exporter, written by
# whichever gateway exports, read by every viewer (they may run in other processes).
export_health = Table(
    "export_health",
    metadata,
    Column("exporter", Text, primary_key=True),
    Column("last_success", BigInteger, nullable=False),  # unix ns; 0 = never
    Column("last_error", BigInteger, nullable=False),
    Column("last_error_text", Text, nullable=False),
)

# Every pattern learned, with totals over every batch. The id is the miner's stable hash of the
# template (gateways sharing the database agree on it without asking); the store never makes one.
log_pattern = Table(
    "log_pattern",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("template", Text, nullable=False),
    Column("first_seen", BigInteger, nullable=False),  # unix ns
    Column("last_seen", BigInteger, nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("example", Text, nullable=False),  # the first real body stored for it
    Index("ix_log_pattern_last_seen", "last_seen"),  # newest first; eviction of the oldest
)

# Patterns merged into a wider one: an old (narrow) id still sent by a gateway that has not yet
# learned the merge resolves to the survivor. Kept one hop deep: a merge re-points the aliases
# that pointed at the id it retires.
pattern_alias = Table(
    "pattern_alias",
    metadata,
    Column("narrow", BigInteger, primary_key=True, autoincrement=False),
    Column("wide", BigInteger, nullable=False),
    Index("ix_pattern_alias_wide", "wide"),
)

# Entries an exporter's budget holds back, one row per (exporter, merge key): a later batch's
# entry with the same key merges into it, so one event carries a longer window's exact count.
# `entry` is the entry as JSON on recent_log_entries' column names; NULL with `deadline` when
# nothing is held (the row then keeps only the key's window: sends counted for sampling).
held_entry = Table(
    "held_entry",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("exporter", Text, nullable=False),
    Column("hold_key", Text, nullable=False),
    Column("severity_number", Integer, nullable=False),
    Column("deadline", BigInteger, nullable=True),  # unix ns: sent by then, budget or not
    Column("held_since", BigInteger, nullable=True),  # unix ns: when this hold began
    Column("entry", Text, nullable=True),
    Column("window_start", BigInteger, nullable=False),  # unix ns
    Column("window_sent", BigInteger, nullable=False),  # events of this key sent in it
    Index("ux_held_entry_key", "exporter", "hold_key", unique=True),
    Index("ix_held_entry_deadline", "exporter", "deadline"),
)

# Each budgeted exporter's token bucket, shared by every gateway on the database.
export_budget = Table(
    "export_budget",
    metadata,
    Column("exporter", Text, primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("updated", BigInteger, nullable=False),  # unix ns
    Column("rate", Float, nullable=False),  # events/s in use
    Column("limit_rate", Float, nullable=False),  # the backend's announced limit; 0: none
)

logsieve_schema = Table(
    "logsieve_schema",
    metadata,
    Column("version", Integer, nullable=False),
)
