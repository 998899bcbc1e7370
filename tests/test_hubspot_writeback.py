"""Writing health back to HubSpot companies, against the fake HubSpot over HTTP: only what changed, in
batches, a refused company reported and tried again, a dry run that sends nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.connectors.config import HubSpotConfig
from storage.db import Database
from tests.factories import TODAY, add_snapshot
from tests.fakes.hubspot import FakeHubSpot, ManualClock
from tests.hubspot_env import accounts, clock, hubspot, sync

__all__ = ["clock", "hubspot"]  # fixtures

pytestmark = pytest.mark.usefixtures("db")

WRITE_BACK = HubSpotConfig(write_back=True)
PROPERTIES = ("score", "band", "trend", "drivers", "date")


def define_write_back(fake: FakeHubSpot) -> None:
    for value in PROPERTIES:
        fake.define(
            "companies", f"touchpoint_health_{value}", "number" if value in ("score", "trend") else "string"
        )


def written(fake: FakeHubSpot, company: str) -> dict[str, str | None]:
    properties = fake.record("companies", company).properties
    return {value: properties.get(f"touchpoint_health_{value}") for value in PROPERTIES}


async def test_health_is_written_back_once_and_again_when_it_changes(
    db: Database, hubspot: FakeHubSpot, clock: ManualClock
) -> None:
    define_write_back(hubspot)
    acme = hubspot.add("companies", {"name": "Acme"})
    bolt = hubspot.add("companies", {"name": "Bolt"})
    await sync(db, hubspot, clock, full=True)
    found = await accounts(db)
    reason = "active users down 54% in 30 days"
    await add_snapshot(db, found[acme].id, TODAY - timedelta(days=30), 60.0)
    await add_snapshot(db, found[acme].id, TODAY, 31.0, components=(("usage", 20.0, 0.5, reason),))

    outcome = await sync(db, hubspot, clock, full=False, config=WRITE_BACK)

    assert outcome.tally.counts["written"] == 2
    assert written(hubspot, acme) == {
        "score": "31",
        "band": "red",
        "trend": "-29",
        "drivers": reason,
        "date": TODAY.isoformat(),
    }
    assert written(hubspot, bolt)["band"] == "unknown"
    batches = hubspot.of("POST", "/batch/update")
    assert len(batches) == 1

    again = await sync(db, hubspot, clock, full=False, config=WRITE_BACK)
    assert again.tally.counts.get("written", 0) == 0
    assert len(hubspot.of("POST", "/batch/update")) == 1  # nothing changed: nothing sent

    await add_snapshot(db, found[bolt].id, TODAY, 80.0)
    third = await sync(db, hubspot, clock, full=False, config=WRITE_BACK)
    assert third.tally.counts["written"] == 1
    assert written(hubspot, bolt)["band"] == "green"
    assert [item["id"] for item in hubspot.of("POST", "/batch/update")[-1].json["inputs"]] == [bolt]


async def test_a_refused_company_is_reported_and_tried_again(
    db: Database, hubspot: FakeHubSpot, clock: ManualClock
) -> None:
    define_write_back(hubspot)
    acme = hubspot.add("companies", {"name": "Acme"})
    gone = hubspot.add("companies", {"name": "Gone"})
    await sync(db, hubspot, clock, full=True)
    await add_snapshot(db, (await accounts(db))[acme].id, TODAY, 50.0)
    hubspot.archive("companies", gone)  # the incremental sync does not see archives: the write fails

    outcome = await sync(db, hubspot, clock, full=False, config=WRITE_BACK)

    assert outcome.tally.counts["written"] == 1 and outcome.tally.counts["write_failed"] == 1
    [problem] = [p for p in outcome.tally.problems if p["field"] == "write-back"]
    assert problem["record"] == f"company {gone}" and "tried again on the next sync" in problem["problem"]
    assert written(hubspot, acme)["band"] == "yellow"

    retry = await sync(db, hubspot, clock, full=False, config=WRITE_BACK)
    assert retry.tally.counts["write_failed"] == 1 and retry.tally.counts["written"] == 0


async def test_a_dry_run_sends_nothing(db: Database, hubspot: FakeHubSpot, clock: ManualClock) -> None:
    define_write_back(hubspot)
    acme = hubspot.add("companies", {"name": "Acme"})
    await sync(db, hubspot, clock, full=True)
    await add_snapshot(db, (await accounts(db))[acme].id, TODAY, 50.0)
    outcome = await sync(db, hubspot, clock, full=False, dry_run=True, config=WRITE_BACK)
    assert outcome.tally.counts["written"] == 1
    assert hubspot.of("POST", "/batch/update") == []
    assert written(hubspot, acme)["band"] is None
