"""log_origin in bulk: the resources and scopes of a request, stored and looked up at once.

A request may carry thousands of distinct resources (one per pod, say). One transaction and
a few statements for all of them, instead of a transaction each, keeps the cost of a request
proportional to its records.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence

from sqlalchemy import Connection

from gateway.store._bulk import statement_sizes
from gateway.store._claims import raw_rows

SKIP_STORED = "ON CONFLICT (digest) DO NOTHING"
# The whole list is one array parameter on PostgreSQL; SQLite gets chunks of bound pairs.
INSERT_POSTGRES = (
    "INSERT INTO log_origin (digest, origin)"
    f" SELECT * FROM unnest(%s::bytea[], %s::bytea[]) {SKIP_STORED}"
)
SELECT_POSTGRES = "SELECT digest, id FROM log_origin WHERE digest = ANY(%s)"


def digest(origin: bytes) -> bytes:
    return hashlib.blake2b(origin, digest_size=16).digest()


def store_origins(conn: Connection, dialect: str, origins: Sequence[bytes]) -> dict[bytes, int]:
    """Insert the distinct `origins` not stored yet; the id of each, inside the caller's
    transaction."""
    by_digest = {digest(origin): origin for origin in origins}
    # One order for every writer: two gateways inserting overlapping origins cannot deadlock.
    digests = sorted(by_digest)
    if dialect == "postgresql":
        conn.exec_driver_sql(INSERT_POSTGRES, (digests, [by_digest[d] for d in digests]))
        found = raw_rows(conn, SELECT_POSTGRES, (digests,))
    else:
        found = _sqlite_store(conn, digests, by_digest)
    return {by_digest[bytes(key)]: int(origin_id) for key, origin_id in found}


def _sqlite_store(
    conn: Connection, digests: list[bytes], by_digest: dict[bytes, bytes]
) -> list[tuple[bytes, int]]:
    found: list[tuple[bytes, int]] = []
    start = 0
    for size in statement_sizes(len(digests)):
        chunk = digests[start : start + size]
        pairs = tuple(value for d in chunk for value in (d, by_digest[d]))
        conn.exec_driver_sql(_sqlite_insert(size), pairs)
        found += raw_rows(conn, _sqlite_select(size), tuple(chunk))
        start += size
    return found


@functools.lru_cache(maxsize=32)
def _sqlite_insert(rows: int) -> str:
    values = ", ".join(["(?, ?)"] * rows)
    return f"INSERT INTO log_origin (digest, origin) VALUES {values} {SKIP_STORED}"


@functools.lru_cache(maxsize=32)
def _sqlite_select(rows: int) -> str:
    return f"SELECT digest, id FROM log_origin WHERE digest IN ({', '.join(['?'] * rows)})"
