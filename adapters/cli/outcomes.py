"""``touchpoint outcomes check``: run the nightly success-plan check now."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from adapters.cli.progress import progress_bar
from adapters.cli.support import console, open_database, run, today
from bot.format import plural

outcomes_app = typer.Typer(help="Success-plan outcomes.", no_args_is_help=True)


@outcomes_app.command("check")
def check_command() -> None:
    """Mark open measurable outcomes achieved or missed from today's data, as the nightly job does, and
    queue the owners' messages about achievements (`serve` delivers them). Safe to run again."""
    from scheduler.outcome_jobs import accounts_to_check, check_outcomes

    async def body() -> str:
        async with open_database() as db:
            with progress_bar() as steps:
                advance = steps.task("Checking success plans", await accounts_to_check(db))
                check = await check_outcomes(db, day=today(), now=datetime.now(UTC), progress=advance)
        return (
            f"Checked {plural(check.accounts, 'account')} with open measurable outcomes: "
            f"{check.achieved} achieved, {check.missed} missed; "
            f"{plural(check.demonstrated, 'message')} to their owners queued."
        )

    console.print(run(body()), markup=False, highlight=False)
