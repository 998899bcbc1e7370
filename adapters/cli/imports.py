"""``touchpoint import KIND FILE``: load a CSV export of people, accounts, usage, surveys, milestones or
success plan outcomes."""

from __future__ import annotations

import enum
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from adapters.cli.support import console, err_console, fail, open_database, run
from bot.core.import_rules import import_options
from bot.feedback.routing import routing_from_settings
from bot.feedback.surveys import SURVEY_FRESH_DAYS, feedback_from_surveys
from bot.settings import get_settings
from storage.importer import (
    ImportFailedError,
    ImportResult,
    ImportValidationError,
    ProgressCallback,
    import_file,
)


class ImportKind(enum.StrEnum):
    """The kinds ``touchpoint import`` accepts (the keys of ``storage.importer.KINDS``)."""

    PEOPLE = "people"
    ACCOUNTS = "accounts"
    USAGE = "usage"
    SURVEYS = "surveys"
    MILESTONES = "milestones"
    OUTCOMES = "outcomes"


_PHASES = {"checking": "Checking", "writing": "Importing"}


@contextmanager
def _progress_bar(file: Path) -> Iterator[ProgressCallback | None]:
    """A progress bar by bytes read, on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            label = f"{_PHASES.get(phase, phase.capitalize())} {file.name}"
            tasks[phase] = bar.add_task(label, total=total)
        bar.update(tasks[phase], completed=done)

    with bar:
        yield update


def summary(result: ImportResult) -> str:
    """``Imported 1,234 usage rows from usage.csv: 1,000 new, 200 updated, 34 unchanged.``"""
    noun = "row" if result.rows == 1 else "rows"
    return (
        f"Imported {result.rows:,} {result.kind} {noun} from {result.file}: "
        f"{result.inserted:,} new, {result.updated:,} updated, {result.unchanged:,} unchanged."
    )


def import_command(
    kind: ImportKind = typer.Argument(..., help="What the file holds.", case_sensitive=False),
    file: Path = typer.Argument(..., help="CSV file, UTF-8, with a header row.", show_default=False),
) -> None:
    """Import a CSV file: all rows or, when any row is wrong, none (the problems are listed).

    After a survey import, detractor answers with a comment from the last 30 days go to their CSMs as
    feedback items (once per answer)."""
    settings = get_settings()
    try:
        options = import_options(settings.default_timezone)
    except ValueError as exc:
        raise fail(f"TOUCHPOINT_DEFAULT_TIMEZONE: {exc}") from None
    made = 0

    async def body() -> ImportResult:
        nonlocal made
        async with open_database() as db:
            with _progress_bar(file) as progress:
                result = await import_file(db, kind.value, file, progress=progress, options=options)
            if kind is ImportKind.SURVEYS:
                now = datetime.now(UTC)
                made = await feedback_from_surveys(
                    db,
                    since=now - timedelta(days=SURVEY_FRESH_DAYS),
                    now=now,
                    routing=routing_from_settings(settings),
                )
            return result

    try:
        result = run(body())
    except ImportValidationError as exc:
        for line in exc.lines():
            err_console.print(line, soft_wrap=True, markup=False, highlight=False)
        noun = "problem" if exc.total == 1 else "problems"
        raise fail(f"Nothing was imported: {exc.total:,} {noun} in {file}.") from None
    except ImportFailedError as exc:
        raise fail(str(exc)) from None
    console.print(summary(result), soft_wrap=True, markup=False, highlight=False)
    if made:
        noun = "comment" if made == 1 else "comments"
        console.print(
            f"Sent {made:,} detractor {noun} to their CSMs as feedback.",
            soft_wrap=True,
            markup=False,
            highlight=False,
        )
