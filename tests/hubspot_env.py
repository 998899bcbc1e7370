"""HubSpot test helpers: the fake HubSpot on a loopback port (fixture), one sync against it, and what the
database holds after."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime

import pytest
from sqlalchemy import select

from adapters.connectors.config import HubSpotConfig
from adapters.connectors.hubspot.client import HubSpotClient
from adapters.connectors.hubspot.sync import NAME, HubSpotSync
from adapters.connectors.runs import Lease, SyncOutcome, SyncTally, run_sync
from storage.db import Database
from storage.models import Account, CrmLink
from tests.factories import NOW
from tests.fakes.hubspot import FakeHubSpot, ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=NOW)


@pytest.fixture
async def hubspot(clock: ManualClock) -> AsyncIterator[FakeHubSpot]:
    fake = FakeHubSpot(clock=clock)
    await fake.start()
    yield fake
    await fake.close()


async def sync(
    db: Database,
    fake: FakeHubSpot,
    clock: Callable[[], datetime],
    *,
    full: bool,
    dry_run: bool = False,
    config: HubSpotConfig | None = None,
    page_size: int = 100,
) -> SyncOutcome:
    async with HubSpotClient(
        fake.url, fake.token, page_size=page_size, search_page_size=min(page_size, 200), sleep=_no_wait
    ) as client:
        worker = HubSpotSync(db, client, config or HubSpotConfig(), clock=clock)

        async def work(tally: SyncTally, lease: Lease) -> None:
            await worker.run(tally, lease, full=full, dry_run=dry_run)

        return await run_sync(db, NAME, work, full=full, dry_run=dry_run, clock=clock)


async def _no_wait(_seconds: float) -> None:
    return None


async def accounts(db: Database) -> dict[str, Account]:
    async with db.sessions() as session:
        rows = (await session.execute(select(Account))).scalars().all()
    return {a.external_id: a for a in rows}


async def links(db: Database) -> dict[str, tuple[int, str, str | None]]:
    async with db.sessions() as session:
        rows = (await session.execute(select(CrmLink))).scalars().all()
    return {link.crm_id: (link.account_id, link.state, link.merged_into) for link in rows}
