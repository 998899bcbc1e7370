"""``touchpoint summary``: the portfolio at a glance, in the terminal."""

from __future__ import annotations

from datetime import date

from rich.table import Table

from adapters.cli.support import console
from bot.format import band_mark, day_text, money, score_text
from bot.health.portfolio import BAND_ORDER, portfolio_summary
from storage.db import Database


async def print_summary(db: Database, *, today: date) -> None:
    summary = await portfolio_summary(db, today=today)
    churned = f" ({summary.churned} churned, not counted)" if summary.churned else ""
    console.print(
        f"[bold]Touchpoint portfolio[/bold]: {summary.accounts} accounts{churned}, {summary.people} people"
    )
    if summary.day is None:
        console.print("No health computed yet: run `touchpoint health recompute`.")
        return
    table = Table(title=f"Health on {day_text(summary.day)}")
    table.add_column("Band")
    table.add_column("Accounts", justify="right")
    table.add_column("ARR", justify="right")
    for band in BAND_ORDER:
        count = summary.count_by_band.get(band.value, 0)
        if count:
            table.add_row(
                f"{band_mark(band)} {band.value}", str(count), money(summary.arr_by_band.get(band.value))
            )
    console.print(table)
    if summary.red_renewing:
        risk = Table(title="Red accounts renewing in the next 90 days")
        for column in ("Account", "Score", "ARR", "Renewal", "Owner"):
            risk.add_column(column)
        for item in summary.red_renewing:
            risk.add_row(
                item.name,
                score_text(item.score),
                money(item.arr),
                day_text(item.renewal_date),
                item.owner or "unassigned",
            )
        console.print(risk)
