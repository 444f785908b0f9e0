"""`storage.schema`: every logsieve table in one PostgreSQL schema of its own, so that
gateways (or other applications) share a database without seeing each other's tables.

Each connection starts with `search_path` set to that schema alone (a startup option, before
any statement), rather than naming the schema in each statement: logsieve's raw SQL (claims,
bulk inserts, the migrations' ALTERs) names its tables unqualified, and SQLAlchemy's
schema_translate_map reaches only Table objects. The schema alone, not `public` after it: a
table missing from the schema must not be found in public (another logsieve's, say). The
migrations create the schema when it is missing.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, event, text
from sqlalchemy.engine import Engine

# Lower-case, as PostgreSQL folds unquoted names: the name is used unquoted in search_path.
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def check_name(schema: str) -> str:
    """The name, or ValueError saying why PostgreSQL (or logsieve) would not take it."""
    if not SCHEMA_NAME.fullmatch(schema):
        raise ValueError(
            f"{schema!r} is not a schema name here: lower-case letters, digits and _, "
            "not starting with a digit, at most 63"
        )
    if schema.startswith("pg_"):
        raise ValueError(f"{schema!r}: names starting with pg_ are PostgreSQL's own")
    return schema


def use_schema(engine: Engine, dialect: str, schema: str) -> str:
    """The engine's connections pinned to `schema` (none when empty); ValueError for SQLite,
    which keeps its tables in its file."""
    if schema and dialect != "postgresql":
        raise ValueError("a schema is for PostgreSQL only: SQLite keeps its tables in its file")
    if schema:
        pin_search_path(engine, schema)
    return schema


def pin_search_path(engine: Engine, schema: str) -> None:
    """Every new connection of the engine sees only `schema`; other startup options of the
    URL (?options=...) are kept, this one after them."""
    setting = f"-c search_path={check_name(schema)}"

    @event.listens_for(engine, "do_connect")
    def _options(_dialect: object, _record: object, _cargs: object, cparams: Any) -> None:
        given = cparams.get("options")
        cparams["options"] = f"{given} {setting}" if given else setting


def create_if_missing(conn: Connection, schema: str) -> None:
    """Create the schema unless it exists. Asked first, so that a role that may use an
    existing schema but not create one (no CREATE on the database) is not refused."""
    found = conn.execute(
        text("SELECT 1 FROM pg_namespace WHERE nspname = :name"), {"name": schema}
    ).first()
    if found is None:
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {check_name(schema)}"))
