"""The HubSpot sync benchmark: ``touchpoint sync hubspot`` in a child process against the fake HubSpot API
(``tests/fakes/hubspot.py``) served by this process on a loopback port.

The fake holds the dataset's portfolio as HubSpot would after a CSV import: a company per account
(its external id in the custom property ``touchpoint_id``, which ``[connectors.hubspot]`` matches on;
one in ten with another ARR), an owner per person (1,000), and two renewal deals per company (one
open, one closed: 40,000), listed 100 to a page. Figures:

- a full sync (companies, archived ones, deals: renewal dates and outcomes): time with the process
  start, and peak memory (VmHWM); targets 60 s and 300 MB;
- an incremental sync after 100 companies changed: the sync's own time (the child prints it; the
  process start is the rest), target 2 s.

The sync writes links, ARR changes and renewal data into the benchmark database; nothing later reads
them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from bench.batch_children import child_env, run_child, time_and_peak
from bench.common import BenchContext, Figure
from storage.db import Database
from storage.models import Account, Person
from tests.fakes.hubspot import FakeHubSpot, ManualClock

FULL_TARGET_SECONDS = 60.0
FULL_TARGET_MB = 300
INCREMENTAL_TARGET_SECONDS = 2.0
CHANGED = 100
CONFIG = """[connectors.hubspot]
every = "off"
external_id = "touchpoint_id"
"""
_TOOK = re.compile(r" in (\d+\.\d+) s ")


async def _seed(fake: FakeHubSpot, db: Database) -> tuple[list[str], int]:
    """Companies, owners and deals of the dataset's portfolio; the company ids and the owner count."""
    async with db.sessions() as session:
        people = (await session.execute(select(Person.id, Person.email))).all()
        accounts = (
            await session.execute(select(Account.external_id, Account.name, Account.arr, Account.owner_id))
        ).all()
    owner_of = {person_id: fake.add_owner(email) for person_id, email in people}
    fake.define("companies", "touchpoint_id")
    companies = []
    for number, (external_id, name, arr, owner_id) in enumerate(accounts):
        value = arr or Decimal(0)
        if number % 10 == 0:
            value = value + 1000
        properties = {
            "name": name,
            "touchpoint_id": external_id,
            "annualrevenue": str(value),
            "hubspot_owner_id": owner_of.get(owner_id) if owner_id else None,
        }
        companies.append(fake.add("companies", properties))
    for number, company in enumerate(companies):
        for closed in (False, True):
            deal = fake.add(
                "deals",
                {
                    "dealname": "Renewal",
                    "dealtype": "existingbusiness",
                    "pipeline": "default",
                    "closedate": f"2027-{number % 12 + 1:02d}-15T00:00:00Z"
                    if not closed
                    else f"2026-{number % 11 + 1:02d}-10T00:00:00Z",
                    "hs_is_closed": "true" if closed else "false",
                    "hs_is_closed_won": "true" if closed and number % 7 else "false",
                    "amount": "25000",
                },
            )
            fake.associate("deals", deal, "companies", company)
    return companies, len(owner_of)


async def run(ctx: BenchContext) -> list[Figure]:
    db = Database(ctx.url)
    # The records were last changed a day ago; the changes after the full sync happen now. (A sync
    # keeps its cursor by the wall clock, less a margin, so the fake's times must be real ones.)
    fake = FakeHubSpot(clock=ManualClock(datetime.now(UTC) - timedelta(days=1)))
    await fake.start()
    try:
        companies, owners = await _seed(fake, db)
        config = ctx.workdir / "touchpoint.toml"
        config.write_text(CONFIG, encoding="utf-8")
        env = {
            **child_env(ctx.url),
            "HUBSPOT_ACCESS_TOKEN": fake.token,
            "TOUCHPOINT_HUBSPOT_API_URL": fake.url,
            "TOUCHPOINT_CONFIG_FILE": str(config),
            "COLUMNS": "250",  # the summary on one line
        }
        full = await run_child(["touchpoint", "sync", "hubspot", "--full"], cwd=ctx.workdir, env=env)
        full.check("touchpoint sync hubspot --full")
        fake.clock = lambda: datetime.now(UTC)
        for company in companies[:CHANGED]:
            name = fake.record("companies", company).properties["name"]
            fake.modify("companies", company, {"name": f"{name} Ltd"})
        incremental = await run_child(["touchpoint", "sync", "hubspot"], cwd=ctx.workdir, env=env)
        incremental.check("touchpoint sync hubspot")
    finally:
        await fake.close()
        await db.dispose()
    took = _TOOK.search(incremental.stdout)
    sync_seconds = float(took.group(1)) if took else incremental.seconds
    figures = time_and_peak(
        ctx.backend,
        f"HubSpot full sync: {len(companies):,} companies, {owners:,} owners, {2 * len(companies):,} deals",
        full.seconds,
        FULL_TARGET_SECONDS,
        f"process start included; {_summary(full.stdout)}",
        "HubSpot full sync: peak memory",
        full.max_rss_bytes,
        FULL_TARGET_MB,
        "VmHWM of the sync process",
        runs=1,
    )
    figures.append(
        Figure(
            name=f"HubSpot incremental sync: {CHANGED} companies changed",
            backend=ctx.backend,
            target=f"< {INCREMENTAL_TARGET_SECONDS:.0f} s",
            measured=f"{sync_seconds:.2f} s",
            passed=sync_seconds < INCREMENTAL_TARGET_SECONDS,
            note=f"the sync itself; {incremental.seconds:.1f} s with the process start; "
            f"{_summary(incremental.stdout)}",
        )
    )
    return figures


def _summary(stdout: str) -> str:
    first = stdout.strip().splitlines()[:1]
    return first[0].split(" · ", 1)[-1][:300] if first else ""
