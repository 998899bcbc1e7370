"""Reading HubSpot into Touchpoint, against the fake HubSpot API over HTTP, on SQLite and PostgreSQL:
full and incremental syncs, matching accounts imported from CSV, bad records, archived and merged
companies, renewal deals, a run that dies half way and resumes, dry runs and one sync at a time."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal

import pytest
from aiohttp import web
from sqlalchemy import select

from adapters.connectors.config import HUBSPOT_DEFAULTS, HubSpotConfig
from adapters.connectors.hubspot.sync import NAME
from adapters.connectors.runs import Lease, SyncBusy, SyncTally, run_sync
from storage import connectors as store
from storage.db import Database
from storage.models import ArrChange, SyncStatus
from tests.factories import add_account, add_person
from tests.fakes.hubspot import FakeHubSpot, ManualClock
from tests.hubspot_env import accounts, clock, hubspot, links, sync

__all__ = ["clock", "hubspot"]  # fixtures

pytestmark = pytest.mark.usefixtures("db")


async def test_a_full_sync_reads_companies_owners_and_arr(
    db: Database, hubspot: FakeHubSpot, clock: ManualClock
) -> None:
    maya = await add_person(db, "maya.chen@example.com", "Maya Chen", "csm")
    owner = hubspot.add_owner("Maya.Chen@example.com", "Maya", "Chen")
    stranger = hubspot.add_owner("new.hire@example.com", "New", "Hire")
    acme = hubspot.add(
        "companies", {"name": "Acme Rockets", "annualrevenue": "438000", "hubspot_owner_id": owner}
    )
    bolt = hubspot.add(
        "companies", {"name": "Bolt Labs", "annualrevenue": "12500.50", "hubspot_owner_id": stranger}
    )
    hubspot.add("companies", {"name": "Cedar Co", "annualrevenue": None})

    outcome = await sync(db, hubspot, clock, full=True)

    assert outcome.status is SyncStatus.OK
    assert outcome.tally.counts["read"] == 3 and outcome.tally.counts["created"] == 3
    found = await accounts(db)
    assert found[acme].name == "Acme Rockets" and found[acme].owner_id == maya
    assert found[acme].arr == Decimal("438000")
    assert found[bolt].owner_id is None and found[bolt].arr == Decimal("12500.50")
    problems = list(outcome.tally.problems)
    assert problems == [
        {
            "record": f"company {bolt}",
            "field": "hubspot_owner_id",
            "problem": f"owner {stranger} (new.hire@example.com) is not a Touchpoint person: import them "
            "with touchpoint import people; their accounts keep their current owner meanwhile",
        }
    ]
    assert set(await links(db)) == {
        acme,
        bolt,
        found[next(iter(k for k in found if k not in (acme, bolt)))].external_id,
    }
    async with db.sessions() as session:
        sources = (await session.execute(select(ArrChange.source))).scalars().all()
    assert sorted(sources) == ["crm", "crm"]

    again = await sync(db, hubspot, clock, full=True)
    assert again.tally.counts["unchanged"] == 3
    assert again.tally.counts["created"] == again.tally.counts["updated"] == 0
    reports = await store.last_runs(db)
    assert [(r.connector, r.status, r.full, r.counts["unchanged"]) for r in reports] == [
        ("hubspot", "ok", True, 3)
    ]


async def test_accounts_imported_from_csv_are_matched_not_duplicated(
    db: Database, hubspot: FakeHubSpot, clock: ManualClock
) -> None:
    hubspot.define("companies", "touchpoint_id")
    company = hubspot.add(
        "companies", {"name": "Acme Rockets Inc", "touchpoint_id": "A-1", "annualrevenue": "5"}
    )
    imported = await add_account(db, "A-1", "Acme Rockets", owner_id=None, segment="enterprise")
    config = HubSpotConfig(external_id="touchpoint_id")

    outcome = await sync(db, hubspot, clock, full=True, config=config)

    assert outcome.tally.counts["updated"] == 1 and outcome.tally.counts["created"] == 0
    found = await accounts(db)
    assert list(found) == ["A-1"]
    assert (
        found["A-1"].name == "Acme Rockets Inc" and found["A-1"].segment == "enterprise"
    )  # not mapped: kept
    assert (await links(db))[company] == (imported, "active", None)

    # Once linked, the company finds its account by the link even when the external id property changes.
    clock.advance(timedelta(minutes=10))
    hubspot.modify("companies", company, {"touchpoint_id": "A-2", "name": "Acme Rockets Group"})
    await sync(db, hubspot, clock, full=False, config=config)
    assert {k: a.name for k, a in (await accounts(db)).items()} == {"A-1": "Acme Rockets Group"}

    # A second company claiming the same account is reported, not merged into it.
    other = hubspot.add("companies", {"name": "Acme Clone", "touchpoint_id": "A-1"})
    clash = await sync(db, hubspot, clock, full=False, config=config)
    assert clash.tally.counts["skipped"] == 1
    assert list(clash.tally.problems) == [
        {
            "record": f"company {other}",
            "field": "touchpoint_id",
            "problem": f"account A-1 is already linked to HubSpot company {company}",
        }
    ]


async def test_bad_records_are_skipped_and_named_the_rest_is_written(
    db: Database, hubspot: FakeHubSpot, clock: ManualClock
) -> None:
    hubspot.define("companies", "contract_end", "date")
    good = hubspot.add("companies", {"name": "Good Co", "annualrevenue": "100", "contract_end": "2027-01-14"})
    nameless = hubspot.add("companies", {"name": "", "annualrevenue": "100"})
    negative = hubspot.add("companies", {"name": "Minus Co", "annualrevenue": "-5"})
    baddate = hubspot.add("companies", {"name": "Late Co", "contract_end": "next spring"})
    config = HubSpotConfig(properties={**HUBSPOT_DEFAULTS, "renewal_date": "contract_end"})

    outcome = await sync(db, hubspot, clock, full=True, config=config)

    assert outcome.status is SyncStatus.OK
    assert outcome.tally.counts["created"] == 1 and outcome.tally.counts["skipped"] == 3
    assert {(p["record"], p["field"]) for p in outcome.tally.problems} == {
        (f"company {nameless}", "name"),
        (f"company {negative}", "annualrevenue"),
        (f"company {baddate}", "contract_end"),
    }
    assert "must be 0 or more" in next(
        p["problem"] for p in outcome.tally.problems if p["field"] == "annualrevenue"
    )
    assert (await accounts(db))[good].renewal_date == date(2027, 1, 14)


async def test_an_incremental_sync_reads_only_what_changed_and_resumes_after_a_failure(
    db: Database, hubspot: FakeHubSpot, clock: ManualClock
) -> None:
    ids = [hubspot.add("companies", {"name": f"Company {n:02d}"}) for n in range(6)]
    await sync(db, hubspot, clock, full=True)
    clock.advance(timedelta(minutes=10))
    for n, company in enumerate(ids):
        hubspot.modify("companies", company, {"name": f"Renamed {n:02d}"})
    # The third page's search fails on every try: the run stops, and what the first two pages wrote
    # (with the cursor after them) stays.
    answered_pages = 2
    original_search = hubspot._search
    answered = 0

    async def flaky(request):  # type: ignore[no-untyped-def]
        nonlocal answered
        answered += 1
        if answered > answered_pages:
            return web.json_response({"status": "error", "message": "Service unavailable"}, status=503)
        return await original_search(request)

    hubspot._search = flaky  # type: ignore[method-assign]
    await hubspot.close()
    await hubspot.start()  # the routes are bound when the server starts
    first = await sync(db, hubspot, clock, full=False, page_size=2)
    assert first.status is SyncStatus.FAILED and "503" in (first.error or "")
    done = first.tally.counts["updated"]
    assert 0 < done < 6
    names = {a.name for a in (await accounts(db)).values()}
    assert names == {f"Renamed {n:02d}" for n in range(done)} | {f"Company {n:02d}" for n in range(done, 6)}

    hubspot._search = original_search  # type: ignore[method-assign]
    await hubspot.close()
    await hubspot.start()
    second = await sync(db, hubspot, clock, full=False, page_size=2)
    assert second.status is SyncStatus.OK
    assert {a.name for a in (await accounts(db)).values()} == {f"Renamed {n:02d}" for n in range(6)}
    assert second.tally.counts["updated"] == 6 - done  # what the first run did not reach, nothing twice
    assert len(await accounts(db)) == 6


async def test_archived_and_merged_companies_keep_their_accounts(
    db: Database, hubspot: FakeHubSpot, clock: ManualClock
) -> None:
    keep = hubspot.add("companies", {"name": "Keep Co"})
    gone = hubspot.add("companies", {"name": "Gone Co"})
    archived = hubspot.add("companies", {"name": "Old Co"})
    await sync(db, hubspot, clock, full=True)
    clock.advance(timedelta(minutes=10))
    hubspot.merge("companies", keep, gone)
    hubspot.archive("companies", archived)

    outcome = await sync(db, hubspot, clock, full=True)

    assert outcome.tally.counts["merged"] == 1 and outcome.tally.counts["archived"] == 1
    found = await accounts(db)
    assert set(found) == {keep, gone, archived}  # history kept: nothing deleted
    states = await links(db)
    assert states[gone][1:] == ("merged", keep)
    assert states[archived][1:] == ("archived", None)
    assert states[keep][1:] == ("active", None)


async def test_renewal_deals_set_the_renewal_date(
    db: Database, hubspot: FakeHubSpot, clock: ManualClock
) -> None:
    company = hubspot.add("companies", {"name": "Acme"})
    other = hubspot.add("companies", {"name": "Other"})
    deals = [
        (
            {"dealtype": "existingbusiness", "closedate": "2027-03-01T00:00:00Z", "hs_is_closed": "false"},
            company,
        ),
        (
            {
                "dealtype": "existingbusiness",
                "closedate": "2027-01-14T00:00:00.000Z",
                "hs_is_closed": "false",
            },
            company,
        ),
        (
            {"dealtype": "existingbusiness", "closedate": "2026-12-01T00:00:00Z", "hs_is_closed": "true"},
            company,
        ),
        ({"dealtype": "newbusiness", "closedate": "2026-12-24T00:00:00Z", "hs_is_closed": "false"}, other),
    ]
    for properties, target in deals:
        deal = hubspot.add("deals", {"dealname": "Renewal", "pipeline": "default", **properties})
        hubspot.associate("deals", deal, "companies", target)

    outcome = await sync(db, hubspot, clock, full=True)

    found = await accounts(db)
    assert found[company].renewal_date == date(2027, 1, 14)  # the earliest open renewal
    assert found[other].renewal_date is None  # a new-business deal is not a renewal
    assert outcome.tally.counts["renewal_dates"] == 1


async def test_a_dry_run_writes_nothing(db: Database, hubspot: FakeHubSpot, clock: ManualClock) -> None:
    hubspot.add("companies", {"name": "Acme", "annualrevenue": "10"})
    outcome = await sync(db, hubspot, clock, full=True, dry_run=True)
    assert outcome.tally.counts["created"] == 1
    assert await accounts(db) == {} and await links(db) == {}
    async with db.sessions() as session:
        assert await store.cursor(session, NAME, "companies") is None
    assert [(r.dry_run, r.status) for r in await store.last_runs(db)] == [(True, "ok")]


async def test_one_sync_at_a_time(db: Database, hubspot: FakeHubSpot, clock: ManualClock) -> None:
    hubspot.add("companies", {"name": "Acme"})
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(tally: SyncTally, lease: Lease) -> None:
        entered.set()
        await release.wait()

    first = asyncio.create_task(run_sync(db, NAME, slow, full=True, dry_run=False, clock=clock, holder="one"))
    await entered.wait()
    with pytest.raises(SyncBusy, match="already running"):
        await sync(db, hubspot, clock, full=False)
    release.set()
    assert (await first).status is SyncStatus.OK
    assert (await sync(db, hubspot, clock, full=False)).status is SyncStatus.OK


async def test_a_refused_token_fails_the_run_with_a_message_and_no_token(
    db: Database, hubspot: FakeHubSpot, clock: ManualClock
) -> None:
    hubspot.token_expired = True
    outcome = await sync(db, hubspot, clock, full=True)
    assert outcome.status is SyncStatus.FAILED
    assert outcome.error is not None and "HUBSPOT_ACCESS_TOKEN" in outcome.error
    assert hubspot.token not in outcome.error
    [report] = await store.last_runs(db)
    assert report.status == "failed" and report.error == outcome.error
