"""Shared fixtures: a migrated, empty database per test, on SQLite always and on PostgreSQL when
``TOUCHPOINT_TEST_DATABASE_URL`` names a server (each run creates and drops its own database there).

``--clock=2028-02-29T12:00:00+00:00`` (or ``TOUCHPOINT_TEST_CLOCK``) runs the whole suite with the wall
clock moved to that moment (it keeps ticking): a test that passes only on the day it was written fails
there. ``make test-clock`` runs the suite at the dates that catch such tests (see ``tests/clock_dates.py``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import Database
from storage.migrate import upgrade
from storage.models import Base

PG_ENV = "TOUCHPOINT_TEST_DATABASE_URL"
CLOCK_ENV = "TOUCHPOINT_TEST_CLOCK"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock",
        default=os.environ.get(CLOCK_ENV) or None,
        help="run with the wall clock moved to this ISO moment (with a zone), e.g. 2028-02-29T12:00:00+00:00",
    )


def pytest_configure(config: pytest.Config) -> None:
    moment = config.getoption("--clock")
    if not moment:
        return
    try:
        destination = datetime.fromisoformat(moment)
    except ValueError:
        raise pytest.UsageError(f"--clock: {moment!r} is not an ISO date and time") from None
    if destination.tzinfo is None:
        raise pytest.UsageError(f"--clock: {moment!r} needs a time zone offset, e.g. +00:00")
    # Subprocesses (the CLI tests run ``touchpoint``, pytest-xdist its workers) move their clock by the
    # same offset. A worker inherits it, and its clock is moved already: it must not measure it again.
    if "TESTS_CLOCK_OFFSET" not in os.environ:
        os.environ["TESTS_CLOCK_OFFSET"] = str(destination.timestamp() - time.time())
        os.environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(Path(__file__).parent / "clock"), os.environ.get("PYTHONPATH")])
        )
    traveller = time_machine.travel(destination, tick=True)
    traveller.start()
    config.add_cleanup(traveller.stop)


def pytest_report_header(config: pytest.Config) -> str | None:
    moment = config.getoption("--clock")
    return f"wall clock moved to {moment}" if moment else None


def _async_pg_url(raw: str) -> str:
    url = make_url(raw)
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+asyncpg")
    return url.render_as_string(hide_password=False)


async def _create_pg_database(server_url: str, name: str) -> None:
    admin = Database(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()


async def _drop_pg_database(server_url: str, name: str) -> None:
    admin = Database(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A fresh, migrated PostgreSQL database for this run, or None when no server is configured."""
    raw = os.environ.get(PG_ENV)
    if not raw:
        yield None
        return
    server_url = _async_pg_url(raw)
    name = f"touchpoint_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_create_pg_database(server_url, name))
    except Exception as exc:  # a configured server that cannot be reached is a failure, not a skip
        pytest.fail(f"{PG_ENV} is set but the PostgreSQL server cannot be used: {exc}", pytrace=False)
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_migrate(url))
    yield url
    asyncio.run(_drop_pg_database(server_url, name))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies, so migrations run once per session."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


async def _truncate_all(db: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
    async with db.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, postgres_url: str | None
) -> AsyncIterator[Database]:
    """A migrated, empty database: a copy of the SQLite template, or the run's PostgreSQL database emptied."""
    if request.param == "sqlite":
        path = tmp_path / "touchpoint.db"
        shutil.copyfile(sqlite_template, path)
        database = Database(f"sqlite+aiosqlite:///{path}")
    else:
        if postgres_url is None:
            pytest.skip(f"PostgreSQL tests need {PG_ENV}")
        database = Database(postgres_url)
        await _truncate_all(database)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def sqlite_db(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Database]:
    """Only SQLite, for tests about behaviour that does not depend on the backend."""
    path = tmp_path / "touchpoint.db"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """CLI tests configure structlog to write to their captured stream; reset it so a later test
    never logs to a stream that is already closed."""
    yield
    import structlog

    structlog.reset_defaults()
