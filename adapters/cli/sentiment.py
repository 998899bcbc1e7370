"""``touchpoint sentiment backfill``: score the survey comments and feedback texts stored without a tone,
or, with ``--all``, every stored text again (after the tone model changed).

Imports and new feedback are scored as they arrive; this is for what was stored before that, or written
around the importer, or scored by an older model. Rows are read in batches by id (keyset), each batch
scored and written in its own
transaction, so an interrupted run keeps its progress and a second run carries on where it stopped.
Backfilling only stores the tone: it does not route old feedback again.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Final

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from sqlalchemy import ColumnElement, func, select, update

from adapters.cli.support import console, err_console, open_database, run
from bot.feedback.sentiment import score
from storage.db import Database
from storage.models import FeedbackItem, SurveyResponse

DEFAULT_BATCH: Final = 2_000

# (what is being scored, rows done, rows in all): called after every batch.
BackfillProgress = Callable[[str, int, int], None]

sentiment_app = typer.Typer(help="The tone of survey comments and feedback texts.", no_args_is_help=True)


@dataclass(frozen=True, slots=True)
class BackfillCounts:
    """Rows given a tone; texts that are only whitespace stay without one."""

    survey_responses: int = 0
    feedback_items: int = 0


@dataclass(frozen=True, slots=True)
class _Target:
    label: str
    model: Any  # SurveyResponse or FeedbackItem: both have id, sentiment and a text column
    text: Any
    kept: tuple[Any, ...] = ()  # columns written back as they were (the tone is not a change of the item)


TARGETS: Final = (
    _Target("survey comments", SurveyResponse, SurveyResponse.comment),
    _Target("feedback texts", FeedbackItem, FeedbackItem.text, (FeedbackItem.updated_at,)),
)


def _to_score(target: _Target, *, everything: bool) -> list[ColumnElement[bool]]:
    """The rows to score: those without a tone, or with ``everything`` all rows that have a text."""
    unscored = [] if everything else [target.model.sentiment.is_(None)]
    return [
        *unscored,
        target.text.is_not(None),
        func.length(func.trim(target.text)) > 0,
    ]


async def _backfill(
    db: Database, target: _Target, batch_size: int, progress: BackfillProgress | None, *, everything: bool
) -> int:
    wanted = _to_score(target, everything=everything)
    async with db.sessions() as session:
        total = int(await session.scalar(select(func.count()).where(*wanted)) or 0)
    if progress is not None:
        progress(target.label, 0, total)
    done = scored = 0
    last_id = 0
    while True:
        async with db.transaction() as session:
            rows = (
                await session.execute(
                    select(target.model.id, target.text, *target.kept)
                    .where(*wanted, target.model.id > last_id)
                    .order_by(target.model.id)
                    .limit(batch_size)
                )
            ).all()
            if not rows:
                break
            last_id = rows[-1][0]
            values = []
            for row_id, text, *kept in rows:
                tone = score(text)
                if tone is not None:
                    unchanged = {column.key: value for column, value in zip(target.kept, kept, strict=True)}
                    values.append({"id": row_id, "sentiment": tone, **unchanged})
            if values:
                await session.execute(update(target.model), values)
        done += len(rows)
        scored += len(values)
        if progress is not None:
            progress(target.label, min(done, total), total)
    return scored


async def backfill_sentiment(
    db: Database,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: BackfillProgress | None = None,
    everything: bool = False,
) -> BackfillCounts:
    """Score every survey comment and feedback text that has text and no tone yet (with ``everything``,
    every one that has text, again)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    surveys = await _backfill(db, TARGETS[0], batch_size, progress, everything=everything)
    feedback = await _backfill(db, TARGETS[1], batch_size, progress, everything=everything)
    return BackfillCounts(survey_responses=surveys, feedback_items=feedback)


@contextmanager
def _progress_bar() -> Iterator[BackfillProgress | None]:
    """A bar per kind of text, on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    bar = Progress(
        TextColumn("Scoring {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def update_bar(label: str, done: int, total: int) -> None:
        if label not in tasks:
            tasks[label] = bar.add_task(label, total=total)
        bar.update(tasks[label], completed=done)

    with bar:
        yield update_bar


def summary(counts: BackfillCounts) -> str:
    """ "Scored 1,200 survey comments and 35 feedback texts." """
    if not counts.survey_responses and not counts.feedback_items:
        return "Nothing to score: every survey comment and feedback text already has its tone."
    return (
        f"Scored {counts.survey_responses:,} survey {_noun(counts.survey_responses, 'comment')} and "
        f"{counts.feedback_items:,} feedback {_noun(counts.feedback_items, 'text')}."
    )


def _noun(count: int, noun: str) -> str:
    return noun if count == 1 else f"{noun}s"


@sentiment_app.command("backfill")
def backfill_command(
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Rows scored and written per transaction.")
    ] = DEFAULT_BATCH,
    everything: Annotated[
        bool, typer.Option("--all", help="Score every stored text again (after the tone model changed).")
    ] = False,
) -> None:
    """Score the tone of survey comments and feedback texts stored without one (older data), or of all
    of them with --all."""

    async def body() -> BackfillCounts:
        async with open_database() as db:
            with _progress_bar() as progress:
                return await backfill_sentiment(
                    db, batch_size=batch_size, progress=progress, everything=everything
                )

    console.print(summary(run(body())), soft_wrap=True, markup=False, highlight=False)
