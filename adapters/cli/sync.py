"""``touchpoint connect``, ``touchpoint sync CONNECTOR`` and ``touchpoint sync status``: reading a CRM, the
help desk or the product events into Touchpoint by hand, and what the last runs did."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from adapters.cli.progress import progress_bar
from adapters.cli.support import console, fail, open_database, run
from adapters.connectors.errors import ConnectorError
from adapters.connectors.runs import SyncOutcome
from adapters.connectors.schema import mapping_report
from adapters.connectors.setup import CONNECTORS, configured, sync_once
from adapters.connectors.sources_config import ZendeskConfig
from adapters.connectors.zendesk.connect import zendesk_report
from bot.settings import get_settings
from handlers.sync_status import LABELS, counts_text, problem_lines, status_lines
from storage import connectors as store
from storage.models import SyncStatus

sync_app = typer.Typer(
    help="Read accounts from a CRM: `sync hubspot`, `sync salesforce`, `sync status`.", no_args_is_help=True
)
SHOWN_PROBLEMS = 10


def _now() -> datetime:
    return datetime.now(UTC)


connect_app = typer.Typer(
    help="Check a connector's credentials and mapping: `connect hubspot`.", no_args_is_help=True
)


@connect_app.command("hubspot")
def connect_hubspot() -> None:
    """Check the HubSpot token and the [connectors.hubspot] mapping against HubSpot's live properties,
    and print what will map to what and what is missing. Exit status 1 when something is wrong."""
    connect("hubspot")


@connect_app.command("zendesk")
def connect_zendesk() -> None:
    """Check the Zendesk API token (an admin's, which the incremental export needs) and how many
    organizations the [connectors.zendesk] match finds an account for."""
    connect("zendesk")


@connect_app.command("salesforce")
def connect_salesforce() -> None:
    """Check the Salesforce connected app (a token by the client credentials flow) and the
    [connectors.salesforce] mapping against Salesforce's describe of Account, User and Opportunity, and
    print what will map to what and what is missing. Exit status 1 when something is wrong."""
    connect("salesforce")


def connect(connector: str) -> None:

    async def body() -> tuple[list[tuple[str, str, str]], list[str]]:
        target = configured(get_settings(), connector)
        if isinstance(target.config, ZendeskConfig):
            async with open_database() as db:
                return await zendesk_report(db, target, target.config)
        return await mapping_report(target)

    try:
        rows, problems = run(body())
    except ConnectorError as exc:
        raise fail(f"touchpoint: {exc}") from None
    table = Table(title=f"{LABELS.get(connector, connector)}: what maps to what", show_edge=False)
    table.add_column("Touchpoint")
    table.add_column("From")
    table.add_column("State", overflow="fold")
    for field, source, state in rows:
        table.add_row(field, source, state)
    console.print(table)
    for problem in problems:
        console.print(f"✗ {problem}", style="red", markup=False, highlight=False)
    if problems:
        raise typer.Exit(1)
    console.print(f"Ready: `touchpoint sync {connector} --full` reads everything once.", markup=False)


@sync_app.command("status")
def status_command() -> None:
    """The last run of each connector: when, how long, what it read and wrote, and its problems."""

    async def body() -> list[store.RunReport]:
        async with open_database() as db:
            return await store.last_runs(db)

    reports = run(body())
    if not reports:
        console.print("No sync has run yet: `touchpoint sync hubspot --full`.", markup=False)
        return
    for report in reports:
        for line in status_lines(report, problems=SHOWN_PROBLEMS):
            console.print(line, markup=False, highlight=False)


Full = Annotated[bool, typer.Option("--full", help="Read every record, not only those changed.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Read and check everything; write nothing.")]


@sync_app.command("hubspot")
def sync_hubspot(full: Full = False, dry_run: DryRun = False) -> None:
    """Read HubSpot now: companies, owners and (with --full) renewal deals. Incremental (the companies
    changed since the last sync) unless --full."""
    sync_connector("hubspot", full=full, dry_run=dry_run)


@sync_app.command("salesforce")
def sync_salesforce(full: Full = False, dry_run: DryRun = False) -> None:
    """Read Salesforce now: Accounts, users and (with --full) renewal Opportunities. Incremental (the
    Accounts changed since the last sync, deleted and merged ones included) unless --full."""
    sync_connector("salesforce", full=full, dry_run=dry_run)


@sync_app.command("zendesk")
def sync_zendesk(full: Full = False, dry_run: DryRun = False) -> None:
    """Read Zendesk now: organizations, the tickets changed since the last sync (every ticket with
    --full, which rebuilds the 90-day series) and new satisfaction ratings."""
    sync_connector("zendesk", full=full, dry_run=dry_run)


@sync_app.command("segment")
def sync_segment(full: Full = False, dry_run: DryRun = False) -> None:
    """Count the Segment events received since the last count into daily usage metrics now (every
    stored day with --full). `serve` does this every [connectors.segment] every (5 minutes)."""
    sync_connector("segment", full=full, dry_run=dry_run)


# What the progress bar counts, per connector.
READING = {"hubspot": "companies", "salesforce": "Accounts", "zendesk": "tickets", "segment": "accounts"}


def sync_connector(connector: str, *, full: bool, dry_run: bool) -> None:
    if connector not in CONNECTORS:
        raise fail(f"touchpoint: unknown connector {connector!r} (expected one of {', '.join(CONNECTORS)})")
    settings = get_settings()
    planned: list[tuple[str, dict[str, Any]]] = []

    async def body() -> SyncOutcome:
        target = configured(settings, connector)
        async with open_database() as db:
            with progress_bar() as steps:
                advance = steps.task(f"Reading {LABELS[connector]} {READING[connector]}", None)
                return await sync_once(
                    db,
                    target,
                    full=full,
                    dry_run=dry_run,
                    clock=_now,
                    default_timezone=settings.default_timezone,
                    progress=advance,
                    planned=planned,
                )

    try:
        outcome = run(body())
    except ConnectorError as exc:
        raise fail(f"touchpoint: {exc}") from None
    label = f"{LABELS[connector]} sync ({'full' if full else 'incremental'}{', dry run' if dry_run else ''})"
    counts = counts_text(outcome_counts(outcome))
    console.print(
        f"{label}: {outcome.status.value} in {outcome.seconds:.1f} s · {counts}",
        markup=False,
        highlight=False,
    )
    for line in problem_lines(list(outcome.tally.problems)[-SHOWN_PROBLEMS:]):
        console.print(line, markup=False, highlight=False)
    if outcome.tally.problem_total > SHOWN_PROBLEMS:
        console.print("  (`touchpoint sync status` keeps the last 50)", markup=False)
    if dry_run:
        for crm_id, values in planned[:SHOWN_PROBLEMS]:  # a record, or the table of a row
            shown = ", ".join(f"{name}={value!r}" for name, value in values.items())
            console.print(f"  would write {crm_id}: {shown}", markup=False, highlight=False)
        if len(planned) > SHOWN_PROBLEMS:
            console.print(f"  …and {len(planned) - SHOWN_PROBLEMS:,} more", markup=False)
        console.print("Dry run: nothing was written.", markup=False)
    if outcome.status is not SyncStatus.OK:
        raise fail(f"touchpoint: {outcome.error}")


def outcome_counts(outcome: SyncOutcome) -> dict[str, int]:
    return {**outcome.tally.counts, "problems": outcome.tally.problem_total}
