"""Replicas starting together on a fresh PostgreSQL database migrate it once, one after the other."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import Database
from storage.migrate import current_revision, head_revision, upgrade


@pytest.fixture
async def fresh_postgres(postgres_url: str | None) -> AsyncIterator[str]:
    """An empty PostgreSQL database of its own (no migrations applied), dropped afterwards."""
    if postgres_url is None:
        pytest.skip("needs TOUCHPOINT_TEST_DATABASE_URL")
    name = f"touchpoint_fresh_{uuid.uuid4().hex[:10]}"
    admin = Database(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.engine.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
        async with admin.engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def test_concurrent_upgrades_of_a_fresh_database_all_succeed(fresh_postgres: str) -> None:
    replicas = [Database(fresh_postgres) for _ in range(4)]
    try:
        # Without the lock the replicas fail on each other's DDL, or wait on each other for ever.
        together = asyncio.gather(*(upgrade(db) for db in replicas), return_exceptions=True)
        results = await asyncio.wait_for(together, timeout=60)
        assert [r for r in results if isinstance(r, BaseException)] == []
        assert await current_revision(replicas[0]) == head_revision()
    finally:
        for db in replicas:
            await db.dispose()


async def test_the_lock_is_not_taken_on_sqlite(sqlite_db: Database) -> None:
    await upgrade(sqlite_db)  # already current: a no-op, and no advisory lock function is called
    assert await current_revision(sqlite_db) == head_revision()
