"""``touchpoint health``: recompute the daily health snapshots, and show one account's breakdown."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy import select

from adapters.cli.support import console, fail, open_database, run, today
from bot.health.model import HealthConfigError, HealthModel, load_health_model
from bot.health.service import AccountHealth, account_breakdown, recompute, recompute_range
from storage.db import Database
from storage.models import Account, Band
from storage.names import name_key

health_app = typer.Typer(help="Account health scores.", no_args_is_help=True)

BAND_STYLES = {Band.GREEN: "green", Band.YELLOW: "yellow", Band.RED: "red", Band.UNKNOWN: "dim"}


def _model(config: Path | None) -> HealthModel:
    try:
        return load_health_model(config)
    except HealthConfigError as exc:
        raise fail(str(exc)) from exc


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
                summaries = await recompute_range(db, start, until, model=model)
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


@health_app.command("show")
def show_command(
    account: str = typer.Argument(..., help="External id or exact name (any case) of the account."),
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
        render(found, health)

    run(body())


async def find_account(db: Database, query: str) -> Account:
    """The account whose external id is ``query``, else whose name is ``query`` ignoring case and accents."""
    async with db.sessions() as session:
        by_id = (await session.execute(select(Account).where(Account.external_id == query.strip()))).scalar()
        if by_id is not None:
            return by_id
        matches = list(
            (
                await session.execute(
                    select(Account)
                    .where(Account.name_key == name_key(query))
                    .order_by(Account.external_id)
                    .limit(6)
                )
            ).scalars()
        )
    if not matches:
        raise fail(f"No account with external id or name {query!r}.")
    if len(matches) > 1:
        listed = ", ".join(f"{a.name} ({a.external_id})" for a in matches[:5])
        raise fail(f"Several accounts are named {query!r}: {listed}. Use the external id.")
    return matches[0]


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
