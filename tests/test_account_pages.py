"""One page of ``renewals`` and ``risk`` from SQL, with the count and ARR of the whole list."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from storage import queries
from storage.db import Database
from tests.factories import TODAY, add_account, add_person, add_snapshot


async def seed_renewals(db: Database) -> dict[str, int]:
    owner = await add_person(db, "owner@example.com", "Olive Owner", "csm")
    ids = {}
    plan = [  # name, renews in days, ARR
        ("Delta", 5, 1000),
        ("Alpha", 5, 2000),  # same day as Delta: by name
        ("Echo", 1, None),  # no ARR: counts, adds nothing
        ("Bravo", 40, 500),
        ("Charlie", 90, 250),
        ("Late", 91, 9999),  # outside the window
        ("Past", -1, 9999),
    ]
    for n, (name, days, arr) in enumerate(plan):
        ids[name] = await add_account(
            db, f"R-{n}", name, owner_id=owner, arr=arr, renewal=TODAY + timedelta(days=days)
        )
    return ids


async def test_renewals_page_counts_all_and_loads_one_page(db: Database) -> None:
    await seed_renewals(db)
    end = TODAY + timedelta(days=90)
    async with db.sessions() as session:
        everything = await queries.accounts_renewing(session, TODAY, end)
        first = await queries.renewals_page(session, TODAY, end, offset=0, limit=2)
        second = await queries.renewals_page(session, TODAY, end, offset=2, limit=2)
        beyond = await queries.renewals_page(session, TODAY, end, offset=10, limit=2)
    assert [r.name for r in everything] == ["Echo", "Alpha", "Delta", "Bravo", "Charlie"]
    assert [r.name for r in first.rows] == ["Echo", "Alpha"]
    assert [r.name for r in second.rows] == ["Delta", "Bravo"]
    assert first.rows[1].owner_name == "Olive Owner"
    for page in (first, second, beyond):
        assert (page.total, page.arr) == (5, Decimal(3750))
    assert beyond.rows == []


async def test_renewals_page_of_nothing(db: Database) -> None:
    async with db.sessions() as session:
        page = await queries.renewals_page(session, TODAY, TODAY + timedelta(days=90), offset=0, limit=10)
    assert (page.rows, page.total, page.arr) == ([], 0, Decimal(0))


async def test_risk_page_is_the_at_risk_list_worst_first(db: Database) -> None:
    owner = await add_person(db, "owner@example.com", "Olive Owner", "csm")
    plan = [  # name, segment, ARR, score today, score 30 days ago
        ("Red One", "enterprise", 100, 20.0, 25.0),  # red
        ("Red Two", "Enterprise", 200, 35.0, None),  # red, no history
        ("Falling", "smb", 300, 60.0, 75.0),  # down 15
        ("Dipping", "smb", 400, 62.0, 70.0),  # down 8 only: not at risk
        ("Steady", "smb", 500, 80.0, 80.0),
        ("Also Red", "smb", None, 20.0, 90.0),  # red and falling: once; same score as Red One
        ("Unknown", "smb", 600, None, 90.0),  # no score: not red, not falling
    ]
    for n, (name, segment, arr, score, past) in enumerate(plan):
        account = await add_account(db, f"K-{n}", name, owner_id=owner, segment=segment, arr=arr)
        await add_snapshot(db, account, TODAY, score)
        if past is not None:
            await add_snapshot(db, account, TODAY - timedelta(days=30), past)
    rules = {"fall_points": 10.0, "fall_days": 30}
    async with db.sessions() as session:
        ids = await queries.at_risk_account_ids(session, TODAY, segment=None, **rules)
        page = await queries.at_risk_page(session, TODAY, segment=None, offset=0, limit=10, **rules)
        first_two = await queries.at_risk_page(session, TODAY, segment=None, offset=0, limit=2, **rules)
        enterprise = await queries.at_risk_page(
            session, TODAY, segment="ENTERPRISE", offset=0, limit=10, **rules
        )
    assert sorted(r.id for r in page.rows) == sorted(ids)
    assert [r.name for r in page.rows] == ["Also Red", "Red One", "Red Two", "Falling"]
    assert (page.total, page.arr) == (4, Decimal(600))
    assert [r.name for r in first_two.rows] == ["Also Red", "Red One"]
    assert (first_two.total, first_two.arr) == (4, Decimal(600))
    assert [r.name for r in enterprise.rows] == ["Red One", "Red Two"]
    assert (enterprise.total, enterprise.arr) == (2, Decimal(300))
