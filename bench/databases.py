"""The databases benchmarks run in: a fresh, empty one per run, removed afterwards whatever happens."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import asyncpg
from sqlalchemy.engine import make_url

POSTGRES_ADMIN_URL: Final = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextlib.asynccontextmanager
async def bench_database(backend: str, *, admin_url: str = POSTGRES_ADMIN_URL) -> AsyncIterator[str]:
    """A fresh, empty database for one benchmark run, removed afterwards whatever happens (errors,
    Ctrl-C): a SQLite file in a temporary directory, or a PostgreSQL database ``touchpoint_bench_<random>``
    on the server of ``admin_url``. Yields its SQLAlchemy URL."""
    if backend == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="touchpoint_bench_"))
        try:
            yield f"sqlite+aiosqlite:///{directory / 'bench.db'}"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    if backend != "postgresql":
        raise ValueError(f"unknown backend {backend!r}")
    name = f"touchpoint_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield str(
            make_url(admin_url).set(drivername="postgresql+asyncpg", database=name).render_as_string(False)
        )
    finally:
        # Shielded: a second Ctrl-C must not leave the database behind.
        await asyncio.shield(_drop_postgres_database(admin_url, name))


async def _drop_postgres_database(admin_url: str, name: str) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
