"""Is the configured database there, and is its schema the one this version of Touchpoint expects?

Connection failures become one line naming ``TOUCHPOINT_DATABASE_URL``, where it points (never the
password) and what to do: ``cannot connect to 127.0.0.1:5433 (connection refused); is the database
running?``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import make_url

from adapters.checks.problem import SetupProblem, one_line
from storage.db import Database
from storage.migrate import alembic_config, current_revision, head_revision

SETTING = "TOUCHPOINT_DATABASE_URL"
PING_SECONDS = 5.0
UPGRADE = "run touchpoint db upgrade"


async def ping(db: Database, *, seconds: float = PING_SECONDS) -> None:
    """Connect and run ``SELECT 1``; :class:`SetupProblem` saying why not."""
    problem = sqlite_file_problem(db.url)
    if problem is not None:
        raise SetupProblem(f"{SETTING}: {problem}")
    try:
        async with asyncio.timeout(seconds):
            async with db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as error:
        raise SetupProblem(f"{SETTING}: {connection_problem(db.url, error, seconds=seconds)}") from None


def new_sqlite_file(url: str) -> Path | None:
    """The SQLite file ``url`` names when it does not exist yet (connecting would create it empty)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def sqlite_file_problem(url: str) -> str | None:
    """Why a SQLite file cannot be created, found before connecting (the driver's thread, failing to
    open it, can outlive the event loop and print a traceback of its own)."""
    path = new_sqlite_file(url)
    if path is None:
        return None
    folder = path.parent
    if not folder.is_dir():
        return f"cannot create the SQLite file {path}: no folder {folder}; create it or fix the URL"
    if not os.access(folder, os.W_OK):
        return (
            f"cannot create the SQLite file {path}: the folder {folder} is not writable; fix its permissions"
        )
    return None


def where(url: str) -> str:
    """``host:port/database`` of a server, or a SQLite file's path; never the user or password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or "(in memory)"
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}"


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and what it wraps (SQLAlchemy's ``orig``, then causes and contexts)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        wrapped = getattr(current, "orig", None)
        current = wrapped if isinstance(wrapped, BaseException) else current.__cause__ or current.__context__


def connection_problem(url: str, error: BaseException, *, seconds: float = PING_SECONDS) -> str:
    """Why the database at ``url`` cannot be used, and the fix, as one line."""
    place = where(url)
    parsed = make_url(url)
    for cause in _causes(error):
        if isinstance(cause, TimeoutError):
            return f"no answer from {place} within {seconds:g}s; is the host right, and the port open?"
        if isinstance(cause, ConnectionRefusedError):
            return f"cannot connect to {place} (connection refused); is the database running?"
        if isinstance(cause, socket.gaierror):
            return f"cannot find the host {parsed.host!r}; check the host name in the URL"
        if isinstance(cause, asyncpg.InvalidCatalogNameError):
            name = parsed.database or ""
            return (
                f"the database {name!r} does not exist on {place}; create it (createdb {name}) or fix the URL"
            )
        if isinstance(cause, asyncpg.InvalidPasswordError):
            return f"{place} refused the password of user {parsed.username!r}; check USER:PASSWORD in the URL"
        if isinstance(cause, asyncpg.InvalidAuthorizationSpecificationError):
            return f"{place} refused the connection ({one_line(str(cause))}); check the user in the URL"
        if isinstance(cause, asyncpg.CannotConnectNowError):
            return f"{place} is not accepting connections yet ({one_line(str(cause))}); try again shortly"
        if isinstance(cause, sqlite3.OperationalError) and "unable to open" in str(cause):
            return (
                f"cannot open the SQLite file {place}; does its folder exist, and may Touchpoint write there?"
            )
        if isinstance(cause, OSError) and cause.strerror:
            reason = cause.strerror.lower()
            return f"cannot connect to {place} ({reason}); is the database running, and reachable from here?"
    root = list(_causes(error))[-1]
    return f"cannot use the database at {place} ({type(root).__name__}: {one_line(str(root))[:200]})"


async def migrations_problem(db: Database) -> str | None:
    """None when the schema is at the latest revision; else what is wrong and what to run."""
    current = await current_revision(db)
    head = head_revision()
    if current == head:
        return None
    if current is None:
        return f"the database has no tables yet; {UPGRADE}"
    if not _known(current):
        return (
            f"the database is at revision {current}, which this version of Touchpoint does not know "
            "(a newer version migrated it); run that version or a newer one"
        )
    return f"the database is at revision {current}, the latest is {head}; {UPGRADE}"


async def newer_schema_problem(db: Database) -> str | None:
    """What ``serve`` cannot fix by migrating: a schema from a newer version of Touchpoint."""
    current = await current_revision(db)
    if current is None or _known(current):
        return None
    return await migrations_problem(db)


def _known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False
