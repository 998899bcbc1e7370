"""The ``touchpoint`` command line."""

from __future__ import annotations

from typing import Annotated

import typer

from adapters.cli.check import check_command
from adapters.cli.demo import demo_data_command
from adapters.cli.errors import TouchpointGroup
from adapters.cli.health import health_app
from adapters.cli.imports import import_command
from adapters.cli.outbox import digest_app, outbox_app
from adapters.cli.outcomes import outcomes_app
from adapters.cli.sentiment import sentiment_app
from adapters.cli.support import ask_verbose, console, fail, open_database, run, today
from adapters.cli.sync import connect_app, sync_app
from adapters.cli.teams import teams_package_command
from adapters.cli.tokens import tokens_app
from bot import __version__
from bot.settings import get_settings

app = typer.Typer(
    name="touchpoint",
    cls=TouchpointGroup,  # a fixable problem is one line and exit status 1, never a traceback
    help="Touchpoint: a Customer Success and Customer Experience assistant for Slack and Microsoft Teams.",
    no_args_is_help=True,
    add_completion=False,
    # Locals in a traceback could include tokens or survey comments: never print them.
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(health_app, name="health")
app.command("import")(import_command)
app.command("demo-data")(demo_data_command)
app.command("teams-package")(teams_package_command)
app.add_typer(outbox_app, name="outbox")
app.add_typer(digest_app, name="digest")
app.add_typer(sentiment_app, name="sentiment")
app.command("check")(check_command)


@app.callback()
def main_options(
    context: typer.Context,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Also print the log's information lines (commands other than serve print only "
            "warnings and errors unless TOUCHPOINT_LOG_LEVEL says otherwise).",
        ),
    ] = False,
) -> None:
    """Options for every command; ``--verbose`` is read where logging is set up (``support.run``)."""
    context.call_on_close(ask_verbose(verbose))


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


@app.command("console")
def console_command(
    as_email: Annotated[
        str | None,
        typer.Option("--as", help="Email of the person to act as (default: TOUCHPOINT_CONSOLE_AS)."),
    ] = None,
) -> None:
    """Talk to Touchpoint in the terminal, as a registered person. Reads piped commands too."""
    from adapters.console.main import run_console

    settings = get_settings()
    email = as_email or settings.console_as
    if not email:
        raise fail("Who are you? Use --as EMAIL (a person imported into Touchpoint).")

    async def body() -> int:
        async with open_database() as db:
            return await run_console(db, settings, email)

    code = run(body())
    if code:
        raise typer.Exit(code)


@app.command("summary")
def summary_command() -> None:
    """Print a portfolio summary: accounts by health band, ARR by band, red accounts renewing soon."""
    from adapters.cli.summary import print_summary

    async def body() -> None:
        async with open_database() as db:
            await print_summary(db, today=today())

    run(body())


SERVE_HELP = """Run the web server, once the start-up checks pass (touchpoint check's, and the port).

\b
It serves, on one port:
  /slack/events   Slack: events, the slash command, buttons and forms (when Slack is configured)
  /api/messages   Microsoft Teams (when Teams is configured)
  /api/v1/...     the ingest API, with a token from touchpoint tokens create (/api/v1/openapi.json)
  /healthz        200 while the process is up
  /readyz         200 when the database, migrations, configuration file and adapters are ready
  /metrics        Prometheus metrics
Slack also through Socket Mode when SLACK_APP_TOKEN is set. Beside them run the scheduler (digests,
reminders, alerts; TOUCHPOINT_SCHEDULER_ENABLED) and the delivery worker (the outbox).
"""


@app.command("serve", help=SERVE_HELP)
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 3978,
) -> None:
    from adapters.checks.run import startup_checks
    from adapters.runtime import run_server

    settings = get_settings()

    async def body() -> None:
        await startup_checks(settings, host=host, port=port)
        await run_server(settings, host=host, port=port)

    run(body(), service=True)


# Registered last, so they come after the commands above in --help.
app.add_typer(tokens_app, name="tokens")
app.add_typer(outcomes_app, name="outcomes")
app.add_typer(connect_app, name="connect")
app.add_typer(sync_app, name="sync")
