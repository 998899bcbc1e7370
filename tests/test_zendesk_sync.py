"""A Zendesk sync against the loopback fake: organizations matched to accounts, the 90-day support series
rebuilt from ticket timestamps, incremental syncs from the export cursor, ratings as CSAT answers with the
detractor comment routed to the CSM, and a sync that stops half-way resuming where it stopped. On SQLite
and PostgreSQL; every time comes from a fixed clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from adapters.connectors.runs import SyncOutcome, run_sync
from adapters.connectors.sources_config import ZendeskConfig
from adapters.connectors.zendesk.client import ZendeskClient
from adapters.connectors.zendesk.sync import ZendeskSync
from bot.feedback.routing import Routing
from storage.db import Database
from storage.models import Account, CrmLink, FeedbackItem, Person, SupportTicket, SurveyResponse, UsageMetric
from tests.factories import usage_series
from tests.fakes.zendesk import EMAIL, TOKEN, FakeZendesk, ManualClock

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
ROUTING = Routing(cs_channel=None, cx_channel=None, cs_to_cx_tags=frozenset(), strongly_negative=-0.6)


def ago(days: int, hours: int = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


@pytest.fixture
async def zendesk() -> AsyncIterator[FakeZendesk]:
    fake = FakeZendesk(clock=ManualClock(start=NOW - timedelta(hours=1)))
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


async def seed(db: Database) -> None:
    async with db.transaction() as session:
        ana = Person(email="ana@example.com", name="Ana Lima", role="csm")
        session.add(ana)
        await session.flush()
        for external_id, name, domain in (
            ("acme", "Acme", "acme.com"),
            ("globex", "Globex", "globex.io"),
            ("initech", "Initech", None),
        ):
            session.add(
                Account(
                    external_id=external_id, name=name, name_key=name.lower(), domain=domain, owner_id=ana.id
                )
            )


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


async def sync(
    db: Database,
    zendesk: FakeZendesk,
    *,
    now: datetime = NOW,
    full: bool = False,
    dry_run: bool = False,
    config: ZendeskConfig | None = None,
    page_size: int = 1000,
    sleeps: Sleeps | None = None,
    client_class: type[ZendeskClient] = ZendeskClient,
) -> SyncOutcome:
    async with client_class(
        zendesk.url, EMAIL, TOKEN, sleep=sleeps if sleeps is not None else Sleeps(), page_size=page_size
    ) as client:
        connector = ZendeskSync(
            db, client, config or ZendeskConfig(), clock=lambda: now, default_timezone="UTC", routing=ROUTING
        )

        async def work(tally: Any, lease: Any) -> None:
            await connector.run(tally, lease, full=full, dry_run=dry_run)

        return await run_sync(db, "zendesk", work, full=full, dry_run=dry_run, clock=lambda: now)


def portfolio(zendesk: FakeZendesk) -> dict[str, str]:
    acme = zendesk.add_organization("Acme Corp", external_id="acme", domain_names=["acme.com"])
    globex = zendesk.add_organization("Globex", external_id="globex")
    zendesk.add_organization("Umbrella", external_id="umbrella")
    tickets = {
        "old_open": zendesk.add_ticket(acme, created_at=ago(100)),
        "solved": zendesk.add_ticket(acme, created_at=ago(10), status="solved", solved_at=ago(5)),
        "urgent": zendesk.add_ticket(acme, created_at=ago(3), priority="urgent"),
        "long_gone": zendesk.add_ticket(acme, created_at=ago(200), status="closed", solved_at=ago(150)),
        "deleted": zendesk.add_ticket(acme, created_at=ago(2), tags=["escalated"]),
        "merged": zendesk.add_ticket(acme, created_at=ago(20)),
        "same_day": zendesk.add_ticket(globex, created_at=ago(4, 3), status="solved", solved_at=ago(4, 1)),
    }
    zendesk.delete_ticket(tickets["deleted"])
    zendesk.merge_ticket(tickets["merged"], tickets["old_open"])
    zendesk.add_rating(
        tickets["solved"], "bad", "Nobody followed up and the export is still broken", created_at=ago(5)
    )
    zendesk.add_rating(tickets["urgent"], "good", created_at=ago(1))
    return tickets


async def test_a_first_sync_rebuilds_ninety_days_of_support_series(
    db: Database, zendesk: FakeZendesk
) -> None:
    await seed(db)
    portfolio(zendesk)
    outcome = await sync(db, zendesk)
    assert outcome.error is None, outcome.error
    assert [p["record"] for p in outcome.tally.problems] == [
        f"organization {_id(zendesk, 'Umbrella')} (Umbrella)"
    ]

    open_tickets = await usage_series(db, "acme", "open_tickets")
    assert len(open_tickets) == 90 and min(open_tickets) == TODAY - timedelta(days=89)
    assert open_tickets[TODAY - timedelta(days=50)] == 1  # the one opened 100 days ago
    assert open_tickets[TODAY - timedelta(days=7)] == 2  # ... and the one solved 5 days ago
    assert open_tickets[TODAY - timedelta(days=5)] == 1  # solved that day: not open at its end
    assert open_tickets[TODAY] == 2  # the old one and the urgent one; deleted and merged never count
    assert await usage_series(db, "acme", "tickets_created") == {
        TODAY - timedelta(days=10): 1,
        TODAY - timedelta(days=3): 1,
    }
    assert await usage_series(db, "acme", "escalations") == {TODAY - timedelta(days=3): 1}
    globex = await usage_series(db, "globex", "open_tickets")
    assert set(globex.values()) == {0.0} and len(globex) == 90  # opened and solved the same day
    assert await usage_series(db, "globex", "tickets_created") == {TODAY - timedelta(days=4): 1}
    assert await usage_series(db, "initech", "open_tickets") == {}  # no organization: nothing claimed

    async with db.sessions() as session:
        kept = set((await session.execute(select(SupportTicket.ticket_id))).scalars())
        answers = (
            (await session.execute(select(SurveyResponse).order_by(SurveyResponse.score))).scalars().all()
        )
        items = (await session.execute(select(FeedbackItem))).scalars().all()
    assert len(kept) == 4  # the long-solved, deleted and merged ones are not kept
    assert [(a.kind, a.score, a.comment) for a in answers] == [
        ("csat", 1, "Nobody followed up and the export is still broken"),
        ("csat", 5, None),
    ]
    assert answers[0].sentiment is not None and answers[0].sentiment < 0
    assert [item.text for item in items] == ["Nobody followed up and the export is still broken"]
    assert outcome.tally.counts["feedback_items"] == 1


def _id(zendesk: FakeZendesk, name: str) -> str:
    return next(str(org_id) for org_id, org in zendesk.organizations.items() if org["name"] == name)


async def test_an_incremental_sync_reads_only_what_changed_and_moves_the_series_on(
    db: Database, zendesk: FakeZendesk
) -> None:
    await seed(db)
    tickets = portfolio(zendesk)
    await sync(db, zendesk)
    tomorrow = NOW + timedelta(days=1)
    zendesk.clock = ManualClock(start=tomorrow - timedelta(minutes=30))
    zendesk.update_ticket(tickets["urgent"], status="solved", solved_at=tomorrow - timedelta(minutes=30))
    zendesk.add_ticket(
        _id(zendesk, "Globex"), created_at=tomorrow - timedelta(minutes=40), tags=["escalated"]
    )
    before = len(zendesk.of("incremental"))
    outcome = await sync(db, zendesk, now=tomorrow)
    assert outcome.error is None
    exports = zendesk.of("incremental")[before:]
    assert all("cursor" in call.query and "start_time" not in call.query for call in exports)
    assert outcome.tally.counts["tickets"] == 2
    day = tomorrow.date()
    assert (await usage_series(db, "acme", "open_tickets"))[day] == 1
    assert (await usage_series(db, "globex", "open_tickets"))[day] == 1
    assert (await usage_series(db, "globex", "escalations"))[day] == 1
    # Days that left the window keep their values as history.
    assert len(await usage_series(db, "acme", "open_tickets")) == 91


async def test_organizations_match_by_domain_or_crm_id_and_one_account_gets_one(
    db: Database, zendesk: FakeZendesk
) -> None:
    await seed(db)
    async with db.transaction() as session:
        globex = (
            await session.execute(select(Account.id).where(Account.external_id == "globex"))
        ).scalar_one()
        session.add(
            CrmLink(connector="hubspot", crm_id="9001", account_id=globex, linked_at=NOW, seen_at=NOW)
        )
    first = zendesk.add_organization("Acme Corp", domain_names=["www-old.example", "acme.com"])
    zendesk.add_organization("Acme again", domain_names=["acme.com"])
    outcome = await sync(db, zendesk, config=ZendeskConfig(match="domain"))
    problems = [p["problem"] for p in outcome.tally.problems]
    assert problems == [f"acme.com: its account is linked to organization {first}"]

    crm = zendesk.add_organization("Globex Inc", fields={"hubspot_company_id": 9001})
    outcome = await sync(db, zendesk, config=ZendeskConfig(match="crm_id", crm_id_field="hubspot_company_id"))
    async with db.sessions() as session:
        links = dict(
            (
                await session.execute(
                    select(CrmLink.crm_id, CrmLink.account_id).where(CrmLink.connector == "zendesk")
                )
            )
            .tuples()
            .all()
        )
    assert links[crm] == globex and len(links) == 2


async def test_a_sync_that_stops_half_way_resumes_after_the_last_page_written(
    db: Database, zendesk: FakeZendesk
) -> None:
    await seed(db)
    acme = zendesk.add_organization("Acme Corp", external_id="acme")
    for n in range(10):
        zendesk.add_ticket(acme, created_at=ago(30 - n))

    class FailingOnThirdPage(ZendeskClient):
        """The fake answers 503 to every try of the third export page."""

        pages = 0

        async def ticket_page(self, **where: Any) -> Any:
            FailingOnThirdPage.pages += 1
            if FailingOnThirdPage.pages == 3:
                zendesk.fail_next(4, 503)
            return await super().ticket_page(**where)

    outcome = await sync(db, zendesk, page_size=3, client_class=FailingOnThirdPage)
    assert outcome.error is not None and "503" in outcome.error
    async with db.sessions() as session:
        kept = len((await session.execute(select(SupportTicket.ticket_id))).scalars().all())
    assert kept == 6  # two pages of three, each written with its cursor
    resumed_from = len(zendesk.requests)
    outcome = await sync(db, zendesk, page_size=3)
    assert outcome.error is None
    first_export = next(call for call in zendesk.requests[resumed_from:] if "incremental" in call.path)
    assert "cursor" in first_export.query and "start_time" not in first_export.query
    assert (await usage_series(db, "acme", "open_tickets"))[TODAY] == 10


async def test_a_rate_limit_is_waited_out_and_a_revoked_token_stops_the_sync_by_name(
    db: Database, zendesk: FakeZendesk
) -> None:
    await seed(db)
    zendesk.add_organization("Acme Corp", external_id="acme")
    zendesk.rate_limit_next(1, retry_after=7)
    sleeps = Sleeps()
    assert (await sync(db, zendesk, sleeps=sleeps)).error is None
    assert 7 in sleeps
    zendesk.expire_token()
    outcome = await sync(db, zendesk)
    assert outcome.error is not None and "ZENDESK_API_TOKEN" in outcome.error and TOKEN not in outcome.error


async def test_a_dry_run_reads_everything_and_writes_nothing(db: Database, zendesk: FakeZendesk) -> None:
    await seed(db)
    portfolio(zendesk)
    outcome = await sync(db, zendesk, dry_run=True)
    assert outcome.error is None and outcome.tally.counts["tickets"] > 0
    async with db.sessions() as session:
        for model in (SupportTicket, UsageMetric, SurveyResponse, FeedbackItem):
            assert (await session.execute(select(model))).first() is None
        links = (await session.execute(select(CrmLink))).first()
    assert links is None
