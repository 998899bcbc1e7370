"""Running a question's filter against the database: every condition, order, limit and total, on the
seeded team (today 2026-11-25), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import update

from bot.ask.filter import Filter, Owner, Trend
from bot.ask.run import find, totals
from storage.db import Database
from storage.models import HealthSnapshot
from tests.factories import TODAY, Team, day, seed_team


@pytest.fixture
async def team(db: Database) -> Team:
    return await seed_team(db)


TEAM_NAMES = {
    "Acme Rockets",
    "Acme Robotics",
    "Café Lumière Studios",
    "Brightwater Logistics",
    "Grünfeld Maschinenbau",
    "Nimbus Freight",
}


async def names(db: Database, flt: Filter, *, asker: int | None = None, today: date = TODAY) -> list[str]:
    async with db.sessions() as session:
        found = await find(session, flt, asker_id=asker, today=today, offset=0, limit=10)
    return [row.name for row in found.rows]


async def test_health_conditions(db: Database, team: Team) -> None:
    assert await names(db, Filter(bands=frozenset({"red"}))) == ["Acme Rockets", "Grünfeld Maschinenbau"]
    assert await names(db, Filter(score_max=40.0)) == ["Acme Rockets", "Grünfeld Maschinenbau"]
    assert await names(db, Filter(score_min=80.0, score_max=90.0)) == ["Brightwater Logistics"]
    # Down 10 or more against 30 days earlier: 81 -> 37 and 70 -> 55 (not 35 -> 31, not 95 -> 92).
    fell = Filter(trend=Trend("down", 10.0, 30))
    assert await names(db, fell) == ["Acme Rockets", "Café Lumière Studios"]
    assert await names(db, Filter(trend=Trend("down", 10.0, 30), sort="fall_desc")) == [
        "Acme Rockets",
        "Café Lumière Studios",
    ]
    assert await names(db, Filter(trend=Trend("up", 1.0, 30))) == []
    # Worst first puts an account without health last.
    worst = await names(db, Filter(sort="score_asc"))
    assert worst[:2] == ["Grünfeld Maschinenbau", "Acme Rockets"] and worst[-1] == "Nimbus Freight"


async def test_owners(db: Database, team: Team) -> None:
    red = frozenset({"red"})
    assert await names(db, Filter(owner=Owner("me"), bands=red), asker=team.maya) == ["Acme Rockets"]
    assert await names(db, Filter(owner=Owner("person", team.leo, "Leo Park"))) == [
        "Brightwater Logistics",
        "Grünfeld Maschinenbau",
    ]
    # Jonas manages Maya: his team's accounts are hers (he owns none himself).
    assert set(await names(db, Filter(owner=Owner("team")), asker=team.jonas)) == {
        "Acme Rockets",
        "Acme Robotics",
        "Café Lumière Studios",
    }
    assert await names(db, Filter(owner=Owner("me")), asker=None) == []


async def test_account_fields_order_and_limit(db: Database, team: Team) -> None:
    window = Filter(renewal_from=TODAY, renewal_to=day(45), sort="renewal_asc")
    assert await names(db, window) == ["Brightwater Logistics", "Acme Rockets"]
    big = Filter(arr_min=100_000.0, sort="arr_desc")
    assert await names(db, big) == ["Brightwater Logistics", "Acme Rockets", "Acme Robotics"]
    assert await names(db, Filter(arr_max=12_000.0)) == ["Grünfeld Maschinenbau", "Nimbus Freight"]
    assert await names(db, Filter(segments=frozenset({"Enterprise"}))) == [
        "Acme Rockets",
        "Brightwater Logistics",
    ]
    assert await names(db, Filter(tiers=frozenset({"GOLD"}))) == ["Acme Robotics", "Acme Rockets"]
    assert await names(db, Filter(stages=frozenset({"onboarding"}))) == ["Grünfeld Maschinenbau"]
    assert await names(db, Filter(stages=frozenset({"churned"}))) == []

    top = Filter(sort="arr_desc", limit=2)
    async with db.sessions() as session:
        found = await find(session, top, asker_id=None, today=TODAY, offset=0, limit=10)
        count, arr = await totals(session, top, asker_id=None, today=TODAY)
    assert [row.name for row in found.rows] == ["Brightwater Logistics", "Acme Rockets"]
    assert (found.total, found.arr) == (2, Decimal(1_048_000)) == (count, arr)


async def test_a_trend_over_the_stored_span_reads_the_stored_fall(db: Database, team: Team) -> None:
    """Snapshots written with their ``fall`` (as the health run writes them) answer from it; rows
    without one are still worked out from the earlier snapshot, and another span always is."""
    async with db.transaction() as session:
        await session.execute(
            update(HealthSnapshot)
            .where(HealthSnapshot.day == TODAY, HealthSnapshot.account_id == team.acme_rockets)
            .values(fall=44.0)  # 81 -> 37, stored
        )
        await session.execute(
            update(HealthSnapshot)
            .where(HealthSnapshot.day == TODAY, HealthSnapshot.account_id == team.brightwater)
            .values(fall=-12.0)  # stored as risen 12: only the stored value says so
        )
    # Acme from its stored fall, Café (no stored fall) worked out.
    assert await names(db, Filter(trend=Trend("down", 10.0, 30))) == ["Acme Rockets", "Café Lumière Studios"]
    assert await names(db, Filter(trend=Trend("up", 10.0, 30))) == ["Brightwater Logistics"]
    assert await names(db, Filter(trend=Trend("down", 44.0, 30))) == ["Acme Rockets"]
    assert await names(db, Filter(trend=Trend("down", 44.1, 30))) == []


async def test_activity_conditions(db: Database, team: Team) -> None:
    assert await names(db, Filter(detractor=True)) == ["Acme Rockets"]
    # With an owner the condition is written another way (a probe per owned account): the same answer.
    assert await names(db, Filter(owner=Owner("me"), detractor=True), asker=team.maya) == ["Acme Rockets"]
    assert await names(db, Filter(owner=Owner("me"), detractor=True), asker=team.leo) == []
    # Café's overdue step is snoozed to a later day; Acme Robotics' overdue follow-up too.
    assert await names(db, Filter(overdue_milestones=True)) == ["Acme Rockets", "Grünfeld Maschinenbau"]
    assert await names(db, Filter(overdue_followups=True)) == ["Acme Rockets", "Brightwater Logistics"]
    assert await names(db, Filter(untouched_days=30)) == ["Nimbus Freight"]
    assert await names(db, Filter(outcomes_at_risk=True)) == []


async def test_totals_and_paging(db: Database, team: Team) -> None:
    async with db.sessions() as session:
        assert await totals(session, Filter(bands=frozenset({"red"})), asker_id=None, today=TODAY) == (
            2,
            Decimal(450_000),
        )
        everything = await find(
            session, Filter(sort="arr_desc"), asker_id=None, today=TODAY, offset=4, limit=4
        )
        # Past the end (a stale More button): the first page again.
        stale = await find(session, Filter(), asker_id=None, today=TODAY, offset=40, limit=4)
    assert [row.name for row in everything.rows] == ["Grünfeld Maschinenbau", "Nimbus Freight"]
    assert everything.total == 6 and everything.offset == 4
    assert stale.offset == 0 and {row.name for row in stale.rows} <= TEAM_NAMES
