"""``touchpoint check``: every check ``touchpoint serve`` makes at start-up (settings, configuration
file, database, migrations, Slack ``auth.test``, Teams credentials), as a table of what is fine and
what is wrong with its fix. Exit status 0 only when nothing is wrong."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from adapters.checks.run import Check, Status, run_checks
from adapters.checks.settings import settings_problems
from adapters.cli.support import console, run
from bot.settings import get_settings

STYLES = {Status.OK: "green", Status.PROBLEM: "bold red", Status.OFF: "dim", Status.SKIPPED: "yellow"}
LATER = ("config file", "database", "migrations", "slack", "teams")


def check_command() -> None:
    """Check everything `touchpoint serve` needs, with the fix for each problem.

    The settings, the configuration file, the database and its migrations, Slack (auth.test) and Teams
    (a Bot Framework token for the app). Exit status 0 only when nothing is wrong."""
    try:
        settings = get_settings()
    except ValidationError as error:
        checks = [Check("settings", Status.PROBLEM, line) for line in settings_problems(error)]
        checks += [Check(name, Status.SKIPPED, "fix the settings first") for name in LATER]
    else:
        source = "the environment and .env" if Path(".env").exists() else "the environment"
        checks = [Check("settings", Status.OK, f"read from {source}"), *run(run_checks(settings))]
    print_checks(checks)
    if any(check.failed for check in checks):
        raise typer.Exit(1)


def print_checks(checks: list[Check]) -> None:
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("Check")
    table.add_column("Result")
    table.add_column("Details", overflow="fold")
    for check in checks:
        table.add_row(check.name, Text(check.status.value, style=STYLES[check.status]), Text(check.detail))
    console.print(table)
    problems = sum(check.failed for check in checks)
    if problems:
        noun = "problem" if problems == 1 else "problems"
        console.print(f"{problems} {noun}: fix, then run touchpoint check again.", highlight=False)
    else:
        console.print("Everything touchpoint serve needs is in order.", highlight=False)
