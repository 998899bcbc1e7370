"""``touchpoint health``: recompute the daily health snapshots, and show one account's breakdown."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from adapters.cli.progress import progress_bar
from adapters.cli.support import console, fail, open_database, run, today
from bot.core.lookup import AccountIndex
from bot.errors import BadArguments
from bot.health.model import HealthModel, load_health_model
from bot.health.service import AccountHealth, RecomputeSummary, account_breakdown, recompute
from storage.db import Database
from storage.models import Account, Band, LifecycleStage

health_app = typer.Typer(help="Account health scores.", no_args_is_help=True)

BAND_STYLES = {Band.GREEN: "green", Band.YELLOW: "yellow", Band.RED: "red", Band.UNKNOWN: "dim"}


def _model(config: Path | None) -> HealthModel:
    """The health model in ``config`` (default: TOUCHPOINT_CONFIG_FILE); an invalid file raises
    HealthConfigError, which the ``touchpoint`` group prints as one line naming the file and key."""
    return load_health_model(config)


DATE_FORMATS = ["%Y-%m-%d"]
DayOption = typer.Option(None, "--day", help="The day, YYYY-MM-DD (default: today).", formats=DATE_FORMATS)
ConfigOption = typer.Option(None, "--config", help="Configuration file (default: TOUCHPOINT_CONFIG_FILE).")


@health_app.command("recompute")
def recompute_command(
    day: datetime | None = DayOption,
    since: datetime | None = typer.Option(
        None,
        "--since",
        help="Also recompute every day from this one, YYYY-MM-DD (backfill).",
        formats=DATE_FORMATS,
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Compute every account's health as of a day and store it (re-running a day replaces its snapshots)."""
    until = day.date() if day else today()
    start = since.date() if since else None
    if start is not None and start > until:
        raise fail(f"--since {start} is after --day {until}.")
    model = _model(config)

    async def body() -> None:
        async with open_database() as db:
            if start is None:
                summaries = [await recompute(db, until, model=model)]
            else:
                summaries = await recompute_days(db, start, until, model=model)
        last = summaries[-1]
        bands = ", ".join(f"{band} {count}" for band, count in last.bands.items()) or "no accounts"
        if len(summaries) == 1:
            console.print(f"Health recomputed for {last.accounts} accounts on {last.day}: {bands}.")
        else:
            console.print(
                f"Health recomputed for {len(summaries)} days, {summaries[0].day} to {last.day}; "
                f"{last.accounts} accounts on {last.day}: {bands}."
            )

    run(body())


async def recompute_days(
    db: Database, start: date, until: date, *, model: HealthModel
) -> list[RecomputeSummary]:
    """Each day from ``start`` to ``until``, oldest first, with a progress bar on a terminal."""
    days = [start + timedelta(days=n) for n in range((until - start).days + 1)]
    summaries = []
    with progress_bar() as steps:
        advance = steps.task("Recomputing health", len(days))
        for day in days:
            summaries.append(await recompute(db, day, model=model))
            advance(1)
    return summaries


@health_app.command("show")
def show_command(
    account: str = typer.Argument(
        ..., help="External id or name of the account: any case or accents, a prefix, or with a typo."
    ),
    day: datetime | None = DayOption,
    config: Path | None = ConfigOption,
) -> None:
    """Show an account's health: score, band, confidence, components, trend and what pulls it down."""
    on = day.date() if day else today()
    model = _model(config)

    async def body() -> None:
        async with open_database() as db:
            found = await find_account(db, account)
            health = await account_breakdown(db, found.id, on, model=model)
        if health is None:
            raise fail(f"No account {account!r}.")
        if found.lifecycle_stage == LifecycleStage.CHURNED.value and not health.stored:
            # Not scored any more: a breakdown computed now from what is left would be a guess.
            when = f" on {found.churned_on}" if found.churned_on else ""
            console.print(
                f"{found.name} ({found.external_id}) churned{when}: its health is no longer scored. "
                "--day with a day it was scored shows the health it had then.",
                highlight=False,
            )
            return
        render(found, health)

    run(body())


async def find_account(db: Database, query: str) -> Account:
    """The account ``query`` names, found as chat finds it (external id; name in any case, accents, a
    prefix or with a typo). Several close matches, or none, end the command with the names to choose."""
    try:
        found = await AccountIndex(db).find(query)
    except BadArguments:
        raise fail("Which account? Give its external id or name.") from None
    if found.match is None:
        if found.candidates:
            listed = ", ".join(f"{c.name} ({c.external_id})" for c in found.candidates)
            raise fail(
                f"Several accounts match {query!r}: {listed}. Use the external id or more of the name."
            )
        nearest = ", ".join(f"{c.name} ({c.external_id})" for c in found.nearest)
        raise fail(f"No account matches {query!r}." + (f" Nearest names: {nearest}." if nearest else ""))
    async with db.sessions() as session:
        account = await session.get(Account, found.match.id)
    if account is None:  # deleted since the index was read
        raise fail(f"No account matches {query!r}.")
    return account


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f}"


def render(account: Account, health: AccountHealth) -> None:
    style = BAND_STYLES.get(health.band, "")
    title = Text(f"{account.name} ({account.external_id}), health on {health.day}: ", style="bold")
    if health.score is None:
        title.append(f"unknown ({health.reason})", style=style)
    else:
        title.append(f"{health.score:.1f} {health.band.value}", style=f"bold {style}")
    console.print(title)
    console.print(
        f"Confidence {health.confidence:.0%}; change vs 7 days ago {_signed(health.trend_7)}, "
        f"vs 30 days ago {_signed(health.trend_30)}.",
        highlight=False,
    )
    if not health.stored:
        console.print(
            "No snapshot stored for that day: computed now (run 'touchpoint health recompute').", style="dim"
        )
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("Component")
    table.add_column("Score", justify="right")
    table.add_column("Weight", justify="right")
    table.add_column("Why", overflow="fold")
    for c in health.components:
        score = "no data" if c.score is None else f"{c.score:.1f}"
        table.add_row(c.label, score, f"{c.weight:g}", c.reason)
    console.print(table)
    if health.drivers:
        console.print("Pulling the score down:", style="bold")
        for n, d in enumerate(health.drivers, 1):
            console.print(
                f"  {n}. {d.label} ({d.score:.1f}, costs {d.impact:.1f} points): {d.reason}",
                highlight=False,
                markup=False,
            )
