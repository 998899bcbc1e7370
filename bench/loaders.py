"""Bulk writes of generated rows into one benchmark database.

PostgreSQL with COPY (asyncpg's ``copy_records_to_table``, foreign-key triggers off during the load),
SQLite with ``executemany`` in large transactions (WAL, ``synchronous=OFF`` during the load). Each
loader adapts dates, moments and money to what its driver takes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

import asyncpg
from sqlalchemy.engine import make_url

CHUNK_ROWS: Final = 50_000  # rows per COPY / executemany: bounds the loader's memory


class Loader:
    """Bulk writes into one database; subclasses adapt values to the driver (``day``, ``moment``...)."""

    async def copy(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        raise NotImplementedError

    async def execute(self, sql: str, *params: Any) -> None:
        raise NotImplementedError

    async def finish(self) -> None:
        raise NotImplementedError

    def day(self, value: date) -> Any:
        return value

    def moment(self, value: datetime | None) -> Any:
        return value

    def money(self, value: Decimal | None) -> Any:
        return value


def _chunks(rows: Iterable[tuple[Any, ...]], size: int = CHUNK_ROWS) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class PostgresLoader(Loader):
    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, url: str) -> PostgresLoader:
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await asyncpg.connect(dsn)
        # Foreign keys are checked by triggers: off for this session's load (the data is consistent).
        await connection.execute("SET session_replication_role = replica")
        return cls(connection)

    async def copy(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        count = 0
        for chunk in _chunks(rows):
            await self.connection.copy_records_to_table(table, records=chunk, columns=list(columns))
            count += len(chunk)
        return count

    async def execute(self, sql: str, *params: Any) -> None:
        await self.connection.execute(sql.replace("?", "${}").format(*range(1, len(params) + 1)), *params)

    async def finish(self) -> None:
        try:
            for table in ("person", "account", "survey_response", "milestone", "follow_up", "outcome"):
                await self.connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                )
            await self.connection.execute(
                "SELECT setval(pg_get_serial_sequence('arr_change', 'id'), "
                "(SELECT coalesce(max(id), 0) + 1 FROM arr_change), false)"
            )
            # What autovacuum and the checkpointer would soon do on a live server; done now, so that
            # neither writes gigabytes in the background of the first benchmark's commits.
            await self.connection.execute("VACUUM (ANALYZE)")
            await self.connection.execute("CHECKPOINT")
        finally:
            await self.connection.close()


class SqliteLoader(Loader):
    """sqlite3 directly: the async driver adds a thread hop per call that a bulk load does not need."""

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=OFF")
        self.connection.execute("PRAGMA cache_size=-200000")

    async def copy(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        count = 0
        self.connection.execute("BEGIN")
        for chunk in _chunks(rows, CHUNK_ROWS * 10):
            self.connection.executemany(sql, chunk)
            count += len(chunk)
        self.connection.execute("COMMIT")
        return count

    async def execute(self, sql: str, *params: Any) -> None:
        self.connection.execute(sql, params)

    async def finish(self) -> None:
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self.connection.close()

    def day(self, value: date) -> Any:
        return value.isoformat()

    def moment(self, value: datetime | None) -> Any:
        # SQLAlchemy's SQLite format for a UTCDateTime: naive UTC with microseconds.
        return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def money(self, value: Decimal | None) -> Any:
        return None if value is None else float(value)
