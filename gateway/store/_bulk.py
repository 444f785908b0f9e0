"""Inserting many rows at once: COPY on PostgreSQL, multi-row INSERT on SQLite."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import BigInteger, Connection, Float, Integer, LargeBinary, Text

from gateway.store._schema import metadata

ROWS_PER_STATEMENT = 1024  # x 13 columns stays under SQLite's 32,766 bound parameters


def insert_rows(
    conn: Connection,
    dialect: str,
    table: str,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """Insert `rows` (tuples in `columns` order) inside the caller's transaction.

    Not executemany: one statement per row hands Python's GIL back and forth once per row,
    and with the gRPC threads busy every handoff waits, starving SQLite's single writer.
    """
    if dialect == "postgresql":
        _copy_rows(conn, table, columns, rows)
        return
    start = 0
    for size in statement_sizes(len(rows)):
        sql = _multi_insert_sql(table, tuple(columns), size)
        conn.exec_driver_sql(sql, tuple(chain.from_iterable(rows[start : start + size])))
        start += size


def statement_sizes(count: int) -> Iterator[int]:
    """Full statements, then the rest in powers of two: few statement shapes, all cached."""
    full, rest = divmod(count, ROWS_PER_STATEMENT)
    yield from [ROWS_PER_STATEMENT] * full
    bit = 1 << ROWS_PER_STATEMENT.bit_length()
    while rest:
        bit >>= 1
        if rest & bit:
            yield bit
            rest -= bit


@functools.lru_cache(maxsize=64)
def _multi_insert_sql(table: str, columns: tuple[str, ...], rows: int) -> str:
    one = "(" + ", ".join(["?"] * len(columns)) + ")"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES " + ", ".join([one] * rows)


def _copy_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """PostgreSQL's COPY: several times cheaper per row than any INSERT through psycopg.

    In binary format: neither psycopg nor the server turns values into text and back
    (bytea in text COPY is hex, twice the bytes, escaped on one side and parsed on the other).
    """
    cursor: Any = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    with cursor, cursor.copy(sql) as copy:
        copy.set_types(_copy_types(table, tuple(columns)))
        for row in rows:
            copy.write_row(row)


_PG_TYPES = {
    BigInteger: "int8",
    Integer: "int4",
    Text: "text",
    LargeBinary: "bytea",
    Float: "float8",
}


@functools.lru_cache(maxsize=16)
def _copy_types(table: str, columns: tuple[str, ...]) -> list[str]:
    """The PostgreSQL type of each column, from the schema (binary COPY must name them)."""
    found = metadata.tables[table].c
    return [_PG_TYPES[type(found[name].type)] for name in columns]
