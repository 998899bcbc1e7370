"""The ``touchpoint`` command line."""

from __future__ import annotations

import typer

from bot import __version__
from bot.cli_support import console, open_database, run

app = typer.Typer(
    name="touchpoint",
    help="Touchpoint: a Customer Success and Customer Experience assistant for Slack and Microsoft Teams.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.command()
def version() -> None:
    """Print the version."""
    console.print(f"touchpoint {__version__}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations to the configured database (TOUCHPOINT_DATABASE_URL)."""

    async def body() -> None:
        async with open_database():
            pass

    run(body())
    console.print("Database is up to date.")
