"""PostgreSQL for the benchmark: a private schema, so concurrent test runs on the same
database (which drop and create logsieve's tables in `public`) do not collide with it."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy.engine import make_url


def _connect(url: str) -> Any:
    import psycopg

    parsed = make_url(url)
    return psycopg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password or None,
        dbname=parsed.database or "postgres",
        connect_timeout=3,
        autocommit=True,
    )


class PgSchema:
    """`open()` creates schema logsieve_bench_<pid> and returns a URL whose search_path is it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.schema = f"logsieve_bench_{os.getpid()}"
        self.problem: str | None = None
        self._opened = False

    def open(self) -> str | None:
        """The schema-scoped URL, or None (see `problem`) when PostgreSQL is unreachable."""
        try:
            with _connect(self.url) as conn:
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")  # our own identifier
        except Exception as exc:
            where = make_url(self.url).render_as_string(hide_password=True)
            self.problem = f"skipped: PostgreSQL unreachable at {where}: {exc}".strip()
            return None
        self._opened = True
        scoped = make_url(self.url).update_query_dict({"options": f"-csearch_path={self.schema}"})
        return scoped.render_as_string(hide_password=False)

    def close(self) -> None:
        if self._opened:
            with _connect(self.url) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
            self._opened = False
