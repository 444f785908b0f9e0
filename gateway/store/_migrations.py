"""Schema versions, and the steps from each to the next (the job Alembic does, in 60 lines).

`logsieve_schema` holds the version. A gateway starts only on the version it was built for:
an empty database is created at the latest version; an older one is upgraded by
`logsieve migrate` (never implicitly, so an operator chooses the moment); a newer one is
refused, since this gateway cannot know what changed. Each step runs in one transaction
with the version bump, and only adds: no step rewrites or drops queued records. With
`storage.schema` (PostgreSQL) every table, logsieve_schema too, lives in that schema, which
creating or migrating makes when it is missing.

History:
  1  the first schema: log_queue, log_origin, queue_lease, recent_log_entries, export_outbox,
     dead_letter, counters
  2  export_health: the exporter's last success and error, for the live page's header
  3  dead_letter.severity_number: a dead letter keeps its outbox row's severity, so a retried
     ERROR is still spared by the drop policy; existing ones get it from their event's text
  4  patterns: log_pattern (totals per template) and pattern_alias (merged ids -> survivor);
     recent_log_entries.pattern_id, pattern_template, pattern_variables (NULL on older rows)
  5  attribution: recent_log_entries.services (records per service) and resource (the first
     record's resource attributes), both JSON text, NULL on older rows
  6  several exporters: export_outbox.exporter and dead_letter.exporter (the exporter's key
     under `exporters:`), 'logflare' on older rows, the only exporter before
  7  budgets: held_entry (entries an exporter's budget holds back, merged by key) and
     export_budget (each budgeted exporter's token bucket)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, bindparam, insert, inspect, select, text, update
from sqlalchemy.exc import DBAPIError

from gateway import severity
from gateway.errors import SchemaMismatch, StorageCorrupt
from gateway.store._claims import HEAD
from gateway.store._namespace import create_if_missing
from gateway.store._schema import (
    SCHEMA_VERSION,
    dead_letter,
    export_budget,
    export_health,
    export_outbox,
    held_entry,
    log_pattern,
    log_queue,
    logsieve_schema,
    metadata,
    pattern_alias,
    queue_lease,
    recent_log_entries,
)

FILL_CHUNK = 500  # dead letters read and updated at a time by step 3


def _add_export_health(conn: Connection) -> None:
    export_health.create(conn, checkfirst=True)


def _add_dead_letter_severity(conn: Connection) -> None:
    columns = {column["name"] for column in inspect(conn).get_columns(dead_letter.name)}
    if "severity_number" not in columns:  # idempotent, like create(checkfirst=True)
        # The default only serves the rows already there (SQLite adds no NOT NULL column
        # without one); every insert names the column.
        conn.execute(
            text("ALTER TABLE dead_letter ADD COLUMN severity_number INTEGER NOT NULL DEFAULT 0")
        )
    after = 0
    while chunk := _dead_letters_after(conn, after):
        _set_severities(conn, chunk)
        after = chunk[-1][0]


def _dead_letters_after(conn: Connection, after: int) -> list[Any]:
    columns = (dead_letter.c.id, dead_letter.c.event)
    chosen = select(*columns).where(dead_letter.c.id > after).order_by(dead_letter.c.id)
    return list(conn.execute(chosen.limit(FILL_CHUNK)).all())


def _set_severities(conn: Connection, chunk: list[Any]) -> None:
    numbers = [{"key": row[0], "number": _legacy_event_severity(row[1])} for row in chunk]
    known = [values for values in numbers if values["number"]]  # 0 is the column's default
    if known:
        statement = update(dead_letter).where(dead_letter.c.id == bindparam("key"))
        conn.execute(statement.values(severity_number=bindparam("number")), known)


def _legacy_event_severity(event: str) -> int:
    """The severity_number inside a dead letter written before version 3. Those events came
    from the Logflare encoder, which puts it in metadata.severity_number; this migration is
    the only place that reads an event's text back, once. 0 when it cannot be read (a junk
    or hand-made event): the drop policy then treats it like any unknown severity."""
    try:
        number = json.loads(event)["metadata"]["severity_number"]
    except (ValueError, RecursionError, TypeError, KeyError):
        return 0
    valid = isinstance(number, int) and not isinstance(number, bool)
    return number if valid and severity.is_number(number) else 0


# Nullable: entries stored before version 4 had no pattern.
RECENT_PATTERN_COLUMNS = {
    "pattern_id": "BIGINT",
    "pattern_template": "TEXT",
    "pattern_variables": "TEXT",
}


def _add_patterns(conn: Connection) -> None:
    log_pattern.create(conn, checkfirst=True)
    pattern_alias.create(conn, checkfirst=True)
    _add_recent_columns(conn, RECENT_PATTERN_COLUMNS)


# Nullable: entries stored before version 5 name neither.
RECENT_ATTRIBUTION_COLUMNS = {"services": "TEXT", "resource": "TEXT"}


def _add_attribution(conn: Connection) -> None:
    _add_recent_columns(conn, RECENT_ATTRIBUTION_COLUMNS)


def _add_recent_columns(conn: Connection, columns: dict[str, str]) -> None:
    present = {column["name"] for column in inspect(conn).get_columns(recent_log_entries.name)}
    for name, kind in columns.items():
        if name not in present:  # idempotent, like create(checkfirst=True)
            conn.execute(text(f"ALTER TABLE recent_log_entries ADD COLUMN {name} {kind}"))


def _add_exporter_columns(conn: Connection) -> None:
    for table in (export_outbox, dead_letter):
        present = {column["name"] for column in inspect(conn).get_columns(table.name)}
        if "exporter" not in present:  # idempotent, like create(checkfirst=True)
            # The default names the only exporter older versions had; every insert names it.
            add = "ADD COLUMN exporter TEXT NOT NULL DEFAULT 'logflare'"
            conn.execute(text(f"ALTER TABLE {table.name} {add}"))
    for index in export_outbox.indexes:
        index.create(conn, checkfirst=True)


def _add_budgets(conn: Connection) -> None:
    held_entry.create(conn, checkfirst=True)
    export_budget.create(conn, checkfirst=True)


# The step that takes a database from version N-1 to N.
STEPS: dict[int, Callable[[Connection], None]] = {
    2: _add_export_health,
    3: _add_dead_letter_severity,
    4: _add_patterns,
    5: _add_attribution,
    6: _add_exporter_columns,
    7: _add_budgets,
}


class SchemaStatements:
    _pg_schema: str  # storage.schema; empty: the role's search_path

    def _writing(self, locked: bool = True) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def create_schema(self) -> None:
        """Create an empty database at the latest version, or check that it is at it."""
        with self._writing() as conn:
            self._create_namespace(conn)
            version = _version(conn)
            if version is None:
                _create_latest(conn)
            elif version < SCHEMA_VERSION:
                raise SchemaMismatch(
                    f"the database schema is version {version}; this gateway needs "
                    f"{SCHEMA_VERSION}: run `logsieve migrate --config FILE` first"
                )
            elif version > SCHEMA_VERSION:
                raise SchemaMismatch(
                    f"the database schema is version {version}, newer than this gateway "
                    f"knows ({SCHEMA_VERSION}): upgrade logsieve"
                )

    def schema_version(self) -> int | None:
        """The database's schema version; None for a database logsieve has not set up."""
        with self._writing() as conn:
            return _version(conn)

    def migrate(self) -> list[int]:
        """Bring the database to the latest version; returns the versions applied."""
        applied: list[int] = []
        while True:
            with self._writing() as conn:
                self._create_namespace(conn)
                version = _version(conn)
                if version is None:
                    _create_latest(conn)
                    return [SCHEMA_VERSION]
                if version > SCHEMA_VERSION:
                    raise SchemaMismatch(f"schema version {version} is newer than {SCHEMA_VERSION}")
                if version == SCHEMA_VERSION:
                    return applied
                _step(conn, version + 1)
                applied.append(version + 1)

    def _create_namespace(self, conn: Connection) -> None:
        """storage.schema's schema, made when missing (the tables go into it)."""
        if self._pg_schema:
            create_if_missing(conn, self._pg_schema)


def _version(conn: Connection) -> int | None:
    try:
        if not inspect(conn).has_table(logsieve_schema.name):
            if inspect(conn).has_table(log_queue.name):
                raise StorageCorrupt("the database has logsieve tables but no schema version")
            return None
        version = conn.execute(select(logsieve_schema.c.version)).scalar()
    except DBAPIError as exc:
        raise StorageCorrupt(f"cannot open the database: {exc.orig}") from exc
    return None if version is None else int(version)


def _create_latest(conn: Connection) -> None:
    metadata.create_all(conn)
    conn.execute(insert(logsieve_schema).values(version=SCHEMA_VERSION))
    conn.execute(insert(queue_lease).values(name=HEAD))


def _step(conn: Connection, to: int) -> None:
    STEPS[to](conn)
    # Only one migrator moves the version: another one that raced us changes no row here,
    # and its own steps are idempotent (checkfirst), so nothing is applied twice.
    conn.execute(
        update(logsieve_schema).where(logsieve_schema.c.version == to - 1).values(version=to)
    )
