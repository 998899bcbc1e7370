"""What every CLI command shares: opening the configured database (migrated first) and running async code."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from contextvars import ContextVar
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

# ``touchpoint --verbose``, set by the command group for the one command it runs.
_verbose: ContextVar[bool] = ContextVar("touchpoint_verbose", default=False)

console = Console()
err_console = Console(stderr=True)


def run(coro: Coroutine[Any, Any, T], *, service: bool = False) -> T:
    """Run a command's async body to completion, with logging set up for it (:func:`log_choice`).

    ``service`` is for ``serve``: a service's log is its output. A person running any other command
    wants its answer and the warnings, not the information lines."""
    settings = get_settings()
    level, json = log_choice(settings.log_level, settings.log_json, verbose=verbose_asked(), service=service)
    configure_logging(level=level, json=json)
    return asyncio.run(coro)


def log_choice(
    level: str | None, json: bool | None, *, verbose: bool, service: bool
) -> tuple[str, bool | None]:
    """The log level and format of a command, from TOUCHPOINT_LOG_LEVEL and TOUCHPOINT_LOG_JSON (None
    when unset) and ``--verbose``.

    ``serve`` logs at INFO, as JSON unless on a terminal. Other commands log warnings and errors only,
    as readable lines; ``--verbose`` (or a level set explicitly) adds the information lines, and JSON
    only when TOUCHPOINT_LOG_JSON asks for it.
    """
    chosen = level or ("INFO" if service else "WARNING")
    if verbose and logging.getLevelName(chosen) > logging.INFO:
        chosen = "INFO"
    if json is None and not service:
        json = False
    return chosen, json


def verbose_asked() -> bool:
    """Whether ``--verbose`` was given to the ``touchpoint`` command being run."""
    return _verbose.get()


def ask_verbose(verbose: bool) -> Callable[[], None]:
    """Note ``touchpoint --verbose`` for the command about to run; call the answer when it is done."""
    token = _verbose.set(verbose)
    return lambda: _verbose.reset(token)


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
