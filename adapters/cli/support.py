"""What every CLI command shares: opening the configured database (migrated first) and running async code."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from alembic.util import CommandError
from rich.console import Console

from adapters.checks import SetupProblem
from adapters.checks.database import SETTING as DATABASE_SETTING
from adapters.checks.database import newer_schema_problem, ping
from bot.log import configure as configure_logging
from bot.settings import get_settings
from storage.db import Database
from storage.migrate import upgrade

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's async body to completion, with logging set up from the settings."""
    settings = get_settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    return asyncio.run(coro)


@asynccontextmanager
async def open_database(url: str | None = None, *, migrate: bool = True) -> AsyncIterator[Database]:
    """The configured database, with migrations applied first (every command that needs it does this).
    One that cannot be reached, or whose schema is newer than this version, is a SetupProblem."""
    db = Database(url or get_settings().database_url)
    try:
        await ping(db)
        if migrate:
            try:
                await upgrade(db)
            except CommandError:
                newer = await newer_schema_problem(db)
                if newer is None:
                    raise
                raise SetupProblem(f"{DATABASE_SETTING}: {newer}") from None
        yield db
    finally:
        await db.dispose()


def today() -> date:
    """Today in TOUCHPOINT_DEFAULT_TIMEZONE: the day health, demo data and summaries are counted on."""
    zone = get_settings().default_timezone
    try:
        return datetime.now(ZoneInfo(zone)).date()
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise fail(f"Unknown time zone in TOUCHPOINT_DEFAULT_TIMEZONE: {zone}") from exc


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` to stderr and return the Exit to raise: ``raise fail("...")``."""
    err_console.print(message, style="red", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)
