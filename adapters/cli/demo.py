"""``touchpoint demo-data``: fill an empty database with the invented demo portfolio of ``storage.demo``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Annotated, Final

import typer

from adapters.cli.progress import Advance, progress_bar
from adapters.cli.support import console, fail, open_database, run, today
from bot.feedback.sentiment import score
from bot.health.model import load_health_model
from bot.health.service import recompute
from storage.db import Database
from storage.demo import (
    DEMO_ADMIN_EMAIL,
    DEMO_CSM_EMAIL,
    DEMO_CX_EMAIL,
    DEMO_MANAGER_EMAIL,
    DemoDataError,
    DemoSummary,
    database_has_accounts,
    generate_demo_data,
)

ALREADY_HAS_DATA: Final = "Database already has data; demo data not loaded."
HEALTH_BACKFILL_DAYS: Final = 30

# Called after the demo data is written, with the database and "today": computes the health snapshots of
# the last HEALTH_BACKFILL_DAYS days, so the demo opens with scores, bands and 7/30-day trends.
HealthBackfill = Callable[[Database, date], Awaitable[object]]


async def load_demo_data(
    db: Database,
    *,
    accounts: int,
    seed: int,
    today: date,
    if_empty: bool = False,
    backfill_health: HealthBackfill | None = None,
) -> DemoSummary | None:
    """Generate the demo portfolio, then run the health backfill if one is given.

    With ``if_empty``, a database that already has accounts is left alone and None is returned (also when
    another process filled it between the check and the write); without it, that raises DemoDataError.
    """
    if if_empty and await database_has_accounts(db):
        return None
    try:
        summary = await generate_demo_data(db, tone=score, accounts=accounts, seed=seed, today=today)
    except DemoDataError:
        if if_empty:
            return None
        raise
    if backfill_health is not None:
        await backfill_health(db, today)
    return summary


def _print_summary(summary: DemoSummary) -> None:
    trajectories = ", ".join(f"{name} {count}" for name, count in sorted(summary.trajectories.items()))
    lines = [
        f"Demo data loaded (seed {summary.seed}, history up to {summary.today.isoformat()}):",
        f"  {summary.accounts} accounts ({trajectories})",
        f"  {summary.people} people, {summary.usage_metrics} usage rows, "
        f"{summary.survey_responses} survey answers,",
        f"  {summary.milestones} milestones, {summary.follow_ups} follow-ups",
        f"Demo CSM: {DEMO_CSM_EMAIL}",
        f"Also: manager {DEMO_MANAGER_EMAIL}, CX {DEMO_CX_EMAIL}, admin {DEMO_ADMIN_EMAIL}",
    ]
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


async def backfill_history(db: Database, today: date, advance: Advance | None = None) -> None:
    """Health for each of the last HEALTH_BACKFILL_DAYS days, so trends show from the first look;
    ``advance`` hears of each day done."""
    model = load_health_model()
    for back in range(HEALTH_BACKFILL_DAYS, -1, -1):
        await recompute(db, today - timedelta(days=back), model=model)
        if advance is not None:
            advance(1)


def demo_data_command(
    accounts: Annotated[int, typer.Option("--accounts", min=1, help="How many accounts to invent.")] = 60,
    seed: Annotated[
        int, typer.Option("--seed", help="The same seed on the same day gives the same data.")
    ] = 7,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing, successfully, when the database already has data.")
    ] = False,
) -> None:
    """Fill an empty database with an invented portfolio: people, accounts and 90 days of history."""
    history_ends = today()

    async def body() -> DemoSummary | None:
        async with open_database() as db:
            with progress_bar() as steps:
                invented = steps.task(f"Inventing {accounts} accounts", 1)
                history = steps.task("Computing their health history", HEALTH_BACKFILL_DAYS + 1)

                async def backfill(db: Database, today: date) -> None:
                    invented(1)
                    await backfill_history(db, today, history)

                return await load_demo_data(
                    db,
                    accounts=accounts,
                    seed=seed,
                    today=history_ends,
                    if_empty=if_empty,
                    backfill_health=backfill,
                )

    try:
        summary = run(body())
    except DemoDataError as exc:
        raise fail(f"{exc} Run with --if-empty to skip quietly.") from exc
    if summary is None:
        console.print(ALREADY_HAS_DATA, markup=False, highlight=False)
        return
    _print_summary(summary)
