"""Reading Salesforce into Touchpoint, against the fake org over HTTP, on SQLite and PostgreSQL: a full
sync of Accounts, Users and renewal Opportunities, an incremental one, deleted and merged Accounts, bad
records, write-back, and the daily API limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal

import pytest

from adapters.connectors.config import SalesforceConfig
from adapters.connectors.runs import Lease, SyncOutcome, SyncTally, run_sync
from adapters.connectors.salesforce.client import SalesforceClient
from adapters.connectors.salesforce.sync import NAME, SalesforceSync
from storage.db import Database
from storage.models import RenewalOutcome, SyncStatus
from tests.factories import NOW, TODAY, add_person, add_snapshot
from tests.fakes.hubspot import ManualClock
from tests.fakes.salesforce import FakeSalesforce
from tests.hubspot_env import accounts, links

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=NOW)


@pytest.fixture
async def org(clock: ManualClock) -> AsyncIterator[FakeSalesforce]:
    fake = FakeSalesforce(clock=clock)
    await fake.start()
    yield fake
    await fake.close()


async def _no_wait(_seconds: float) -> None:
    return None


async def sync(
    db: Database,
    org: FakeSalesforce,
    clock: ManualClock,
    *,
    full: bool,
    dry_run: bool = False,
    config: SalesforceConfig | None = None,
) -> SyncOutcome:
    async with SalesforceClient(
        org.url, org.client_id, org.client_secret, sleep=_no_wait, batch_size=200
    ) as client:
        worker = SalesforceSync(db, client, config or SalesforceConfig(), clock=clock)

        async def work(tally: SyncTally, lease: Lease) -> None:
            await worker.run(tally, lease, full=full, dry_run=dry_run)

        return await run_sync(db, NAME, work, full=full, dry_run=dry_run, clock=clock)


async def test_a_full_sync_reads_accounts_owners_and_renewals(
    db: Database, org: FakeSalesforce, clock: ManualClock
) -> None:
    maya = await add_person(db, "maya.chen@example.com", "Maya Chen", "csm")
    user = org.add("User", {"Email": "Maya.Chen@example.com", "Name": "Maya Chen"})
    acme = org.add("Account", {"Name": "Acme Rockets", "AnnualRevenue": 438000, "OwnerId": user})
    bolt = org.add("Account", {"Name": "Bolt Labs", "AnnualRevenue": 90000})
    nameless = org.add("Account", {"Name": "", "AnnualRevenue": 5})
    org.add(
        "Opportunity",
        {
            "Name": "Acme renewal",
            "AccountId": acme,
            "Type": "Renewal",
            "StageName": "Negotiation",
            "CloseDate": "2027-01-14",
            "Amount": 450000,
        },
    )
    org.add(
        "Opportunity",
        {
            "Name": "Bolt renewal",
            "AccountId": bolt,
            "Type": "Existing Customer - Downgrade",
            "StageName": "Closed Won",
            "CloseDate": "2026-11-20",
            "Amount": 60000,
        },
    )
    org.add(
        "Opportunity",
        {
            "Name": "New logo",
            "AccountId": acme,
            "Type": "New Customer",
            "StageName": "Prospecting",
            "CloseDate": "2026-12-01",
            "Amount": 1,
        },
    )

    outcome = await sync(db, org, clock, full=True)

    assert outcome.status is SyncStatus.OK
    assert outcome.tally.counts["created"] == 2 and outcome.tally.counts["skipped"] == 1
    assert [(p["record"], p["field"]) for p in outcome.tally.problems] == [(f"Account {nameless}", "Name")]
    found = await accounts(db)
    assert found[acme].name == "Acme Rockets" and found[acme].owner_id == maya
    assert found[acme].arr == Decimal(438000)
    assert found[acme].renewal_date == date(2027, 1, 14)  # the open renewal, not the new-logo deal
    async with db.sessions() as session:
        outcomes = (await session.execute(RenewalOutcome.__table__.select())).all()
    assert [(o.source_id, o.result, o.arr_before, o.arr_after) for o in outcomes] == [
        (outcomes[0].source_id, "downgraded", Decimal(90000), Decimal(60000))
    ]


async def test_an_incremental_sync_reads_changes_deletions_and_merges(
    db: Database, org: FakeSalesforce, clock: ManualClock
) -> None:
    keep = org.add("Account", {"Name": "Keep Co"})
    gone = org.add("Account", {"Name": "Gone Co"})
    deleted = org.add("Account", {"Name": "Old Co"})
    renamed = org.add("Account", {"Name": "Renamed Co"})
    await sync(db, org, clock, full=True)
    clock.advance(timedelta(minutes=10))
    org.merge(keep, gone)
    org.delete("Account", deleted)
    org.modify("Account", renamed, {"Name": "Renamed Co Ltd"})

    outcome = await sync(db, org, clock, full=False)

    assert outcome.status is SyncStatus.OK
    assert outcome.tally.counts["merged"] == 1 and outcome.tally.counts["archived"] == 1
    assert outcome.tally.counts["updated"] == 1
    found = await accounts(db)
    assert set(found) == {keep, gone, deleted, renamed}  # nothing deleted in Touchpoint
    assert found[renamed].name == "Renamed Co Ltd"
    states = await links(db)
    assert states[gone][1:] == ("merged", keep) and states[deleted][1:] == ("archived", None)
    queries = [c.query.get("q", "") for c in org.of("GET", "/queryAll")]
    assert any("SystemModstamp >=" in q for q in queries), queries


async def test_health_is_written_back_to_custom_fields(
    db: Database, org: FakeSalesforce, clock: ManualClock
) -> None:
    for value, kind in (
        ("Score", "double"),
        ("Band", "string"),
        ("Trend", "double"),
        ("Drivers", "string"),
        ("Date", "date"),
    ):
        org.define("Account", f"Touchpoint_Health_{value}__c", kind)
    acme = org.add("Account", {"Name": "Acme"})
    await sync(db, org, clock, full=True)
    account = (await accounts(db))[acme]
    await add_snapshot(db, account.id, TODAY, 72.0)

    outcome = await sync(db, org, clock, full=False, config=SalesforceConfig(write_back=True))

    assert outcome.tally.counts["written"] == 1
    record = org.record("Account", acme)
    assert record["Touchpoint_Health_Score__c"] == 72 and record["Touchpoint_Health_Band__c"] == "green"
    assert record["Touchpoint_Health_Date__c"] == TODAY.isoformat()
    again = await sync(db, org, clock, full=False, config=SalesforceConfig(write_back=True))
    assert again.tally.counts.get("written", 0) == 0
    assert len(org.of("PATCH", "/composite/sobjects")) == 1


async def test_the_daily_limit_stops_the_sync_with_a_message(
    db: Database, org: FakeSalesforce, clock: ManualClock
) -> None:
    org.add("Account", {"Name": "Acme"})
    org.usage, org.limit = 9_900, 10_000
    outcome = await sync(db, org, clock, full=True)
    assert outcome.status is SyncStatus.FAILED
    assert outcome.error is not None and "daily API requests" in outcome.error
    assert org.client_secret not in outcome.error
