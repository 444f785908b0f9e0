"""Engines and driver errors: how the store talks to SQLite and PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from gateway.errors import StorageCorrupt, StorageError, StorageUnavailable


def _sqlite_pragmas(synchronous: str) -> Any:
    def on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")  # a checked word, never user text
        # Wait this long for another process's write lock, then fail: the receiver answers
        # UNAVAILABLE well inside an OTLP client's usual 10 s deadline, and the client retries.
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    return on_connect


@contextmanager
def translated_errors() -> Iterator[None]:
    """Driver errors become StorageUnavailable (transient) or StorageCorrupt."""
    try:
        yield
    except DBAPIError as exc:
        if isinstance(exc.orig, sqlite3.DatabaseError) and "malformed" in str(exc.orig):
            raise StorageCorrupt(str(exc.orig)) from exc
        raise StorageUnavailable(str(exc.orig)) from exc
    except (SQLAlchemyError, sqlite3.Error) as exc:
        raise StorageUnavailable(str(exc)) from exc
    except Exception as exc:
        if type(exc).__module__.startswith("psycopg"):
            raise StorageUnavailable(str(exc)) from exc
        raise


BUSY_TIMEOUT_MS = 5000
# psycopg is the `postgres` extra, so that SQLite users do not install it: its absence is a
# line that says what to install, not an ImportError from inside SQLAlchemy.
DRIVER_MISSING = (
    "storage.url is a PostgreSQL URL, but its driver psycopg cannot be imported ({error}): "
    "pip install 'logsieve[postgres]'"
)


def sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL; None for an in-memory database (or another kind)."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return None if parsed.query.get("mode") == "memory" else database


def file_uri(path: str, mode: str) -> str:
    """A SQLite URI for the file: mode "rw" opens it read-write and never creates it."""
    return f"file:{quote(os.path.abspath(path))}?mode={mode}"


def _existing_file_only(path: str) -> Any:
    """Connections open the file the store adopted (gateway/store/_health.py) and never make a
    new empty one: a database deleted under the gateway is an error, not a fresh start."""

    def do_connect(_dialect: object, _record: object, cargs: list[Any], cparams: Any) -> None:
        cargs[:] = [file_uri(path, "rw")]
        cparams["uri"] = True

    return do_connect


def make_engine(
    url: str,
    pool_size: int,
    synchronous: str,
    max_overflow: int | None = None,
    pool_timeout: float = 30.0,
) -> Engine:
    """An engine for the URL; SQLite connections start in WAL mode with the given sync level.
    The pool holds pool_size connections and max_overflow more (default: pool_size again);
    a caller waits pool_timeout seconds for one, then gets an error."""
    pool = {
        "pool_size": pool_size,
        "max_overflow": pool_size if max_overflow is None else max_overflow,
        "pool_timeout": pool_timeout,
    }
    if make_url(url).get_backend_name() != "sqlite":
        return _server_engine(url, pool)
    if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"unknown SQLite synchronous mode {synchronous!r}")
    database = sqlite_file(url)
    if database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        **pool,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )
    event.listen(engine, "connect", _sqlite_pragmas(synchronous))
    if database and not make_url(url).query.get("uri"):
        event.listen(engine, "do_connect", _existing_file_only(database))
    return engine


def _server_engine(url: str, pool: dict[str, Any]) -> Engine:
    """PostgreSQL's engine; creating it imports the driver, which may be missing."""
    try:
        return create_engine(url, pool_pre_ping=True, **pool)
    except ImportError as exc:
        raise StorageError(DRIVER_MISSING.format(error=exc)) from exc
