"""Schema versions, and the steps from each to the next (the job Alembic does, in 60 lines).

`logsieve_schema` holds the version. A gateway starts only on the version it was built for:
an empty database is created at the latest version; an older one is upgraded by
`logsieve migrate` (never implicitly, so an operator chooses the moment); a newer one is
refused, since this gateway cannot know what changed. Each step runs in one transaction
with the version bump, and only adds: no step rewrites or drops queued records.

History:
  1  the first schema: log_queue, log_origin, queue_lease, recent_log_entries, export_outbox,
     dead_letter, counters
  2  export_health: the exporter's last success and error, for the live page's header
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import Connection, insert, inspect, select, update
from sqlalchemy.exc import DBAPIError

from gateway.errors import SchemaMismatch, StorageCorrupt
from gateway.store._claims import HEAD
from gateway.store._schema import (
    SCHEMA_VERSION,
    export_health,
    log_queue,
    logsieve_schema,
    metadata,
    queue_lease,
)


def _add_export_health(conn: Connection) -> None:
    export_health.create(conn, checkfirst=True)


# The step that takes a database from version N-1 to N.
STEPS: dict[int, Callable[[Connection], None]] = {2: _add_export_health}


class SchemaStatements:
    def _writing(self, locked: bool = True) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def create_schema(self) -> None:
        """Create an empty database at the latest version, or check that it is at it."""
        with self._writing() as conn:
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
