"""Applying Alembic migrations from code, on the async engine, for SQLite and PostgreSQL alike.

On PostgreSQL the upgrade runs under a transaction-level advisory lock: replicas starting together on
a fresh database would otherwise run the same DDL at once and fail (duplicate tables, deadlocks). The
first takes the lock and migrates; the others wait for it, then find the schema current and do
nothing. SQLite needs no lock: its writers are serialised by the database file itself.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage.db import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The advisory lock's key: any constant shared by every replica (here "tp-migr" as a 64-bit number).
MIGRATION_LOCK_KEY = 0x74702D6D69677272


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema of ``db`` up to ``revision`` (no-op when it is already there)."""

    def run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    async with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Held until this transaction ends, so the lock goes with the migration's commit.
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        await connection.run_sync(run)


async def current_revision(db: Database) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with db.engine.connect() as connection:
        return await connection.run_sync(read)


async def is_current(db: Database) -> bool:
    return await current_revision(db) == head_revision()
