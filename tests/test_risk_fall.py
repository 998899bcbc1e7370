"""The fall stored on each health snapshot (points lost against 30 days earlier) and ``risk`` reading it,
on SQLite and PostgreSQL: what the recompute and the migration store, and the at-risk rule (red, or
down 10+ in 30 days) from stored falls and from rows written without one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url

from bot.health.falls import refresh_falls
from bot.health.model import HealthModel
from bot.health.service import recompute
from storage import queries
from storage.db import Database
from storage.migrate import upgrade
from storage.models import HealthSnapshot, UsageMetric
from storage.types import JSONType, UTCDateTime
from storage.upsert import upsert
from tests.factories import TODAY, add_account, add_person, add_snapshot

RULE = {"fall_points": 10.0, "fall_days": 30}
EARLIER = TODAY - timedelta(days=30)
LENIENT = HealthModel.from_mapping({"min_confidence": 0})
# name, segment, ARR, stage, score today, score 30 days before
PLAN: list[tuple[str, str, int | None, str | None, float | None, float | None]] = [
    ("Red", "Enterprise", 100, None, 30.0, 35.0),  # red (below 40)
    ("Ten Down", "smb", 200, None, 60.3, 70.3),  # down exactly 10: at risk
    ("Nine Down", "smb", 400, None, 61.0, 70.0),  # down 9: not at risk
    ("New", "smb", 800, None, 55.0, None),  # nothing 30 days before: not falling
    ("Steady", "enterprise", 1600, None, 80.0, 80.0),
    ("Gone", "smb", 3200, "churned", 20.0, 90.0),  # red and falling, but churned
    ("Unscored", "smb", 6400, None, None, 90.0),  # no score: not red, not falling
    ("Plunge", "ENTERPRISE", None, None, 45.0, 95.0),  # down 50, no ARR
]


async def seed(db: Database) -> dict[str, int]:
    owner = await add_person(db, "owner@example.com", "Olive Owner", "csm")
    ids = {}
    for n, (name, segment, arr, stage, score, past) in enumerate(PLAN):
        ids[name] = await add_account(
            db, f"F-{n}", name, owner_id=owner, segment=segment, arr=arr, stage=stage
        )
        await add_snapshot(db, ids[name], TODAY, score)  # written before the earlier day, as a backfill may
        if past is not None:
            await add_snapshot(db, ids[name], EARLIER, past)
    return ids


async def falls(db: Database, day: date) -> dict[int, float | None]:
    async with db.sessions() as session:
        rows = await session.execute(
            select(HealthSnapshot.account_id, HealthSnapshot.fall).where(HealthSnapshot.day == day)
        )
        return {account_id: fall for account_id, fall in rows}


@pytest.mark.parametrize("stored", [True, False], ids=["stored", "worked-out"])
async def test_risk_follows_the_rule_from_stored_falls_and_without_them(db: Database, stored: bool) -> None:
    ids = await seed(db)
    if stored:
        async with db.transaction() as session:
            await refresh_falls(session, TODAY)
        got = await falls(db, TODAY)
        assert got[ids["Ten Down"]] == pytest.approx(10.0)
        assert got[ids["Nine Down"]] == 9.0 and got[ids["Plunge"]] == 50.0
        assert got[ids["New"]] is None and got[ids["Unscored"]] is None
    else:
        assert set((await falls(db, TODAY)).values()) == {None}
    async with db.sessions() as session:
        page = await queries.at_risk_page(session, TODAY, segment=None, offset=0, limit=10, **RULE)
        first = await queries.at_risk_page(session, TODAY, segment=None, offset=0, limit=2, **RULE)
        second = await queries.at_risk_page(session, TODAY, segment=None, offset=2, limit=2, **RULE)
        beyond = await queries.at_risk_page(session, TODAY, segment=None, offset=9, limit=2, **RULE)
        enterprise = await queries.at_risk_page(
            session, TODAY, segment="enterprise", offset=0, limit=10, **RULE
        )
        ids_at_risk = await queries.at_risk_account_ids(session, TODAY, segment=None, **RULE)
    # Worst first: by score, then name.
    assert [r.name for r in page.rows] == ["Red", "Plunge", "Ten Down"]
    assert sorted(ids_at_risk) == sorted(r.id for r in page.rows)
    assert [r.name for r in first.rows] == ["Red", "Plunge"] and [r.name for r in second.rows] == ["Ten Down"]
    for each in (page, first, second, beyond):
        assert (each.total, each.arr) == (3, Decimal(300))
    assert beyond.rows == []
    assert [r.name for r in enterprise.rows] == ["Red", "Plunge"]
    assert (enterprise.total, enterprise.arr) == (2, Decimal(100))


async def test_a_stored_fall_is_what_risk_reads(db: Database) -> None:
    ids = await seed(db)
    async with db.transaction() as session:
        await refresh_falls(session, TODAY)
        # Steady's stored fall says 12 (its scores say 0): the stored value answers, not the scores.
        await session.execute(
            update(HealthSnapshot)
            .where(HealthSnapshot.account_id == ids["Steady"], HealthSnapshot.day == TODAY)
            .values(fall=12.0)
        )
    async with db.sessions() as session:
        page = await queries.at_risk_page(session, TODAY, segment=None, offset=0, limit=10, **RULE)
        # Another span than the stored one is worked out from the scores (down 10+ in 7 days: nobody).
        week = await queries.at_risk_page(
            session, TODAY, fall_points=10.0, fall_days=7, segment=None, offset=0, limit=10
        )
    assert [r.name for r in page.rows] == ["Red", "Plunge", "Ten Down", "Steady"]
    assert [r.name for r in week.rows] == ["Red"]


async def add_usage(db: Database, account_id: int, values: dict[str, float], days: range) -> None:
    rows = [
        {"account_id": account_id, "day": TODAY - timedelta(days=n), "metric": metric, "value": value}
        for n in days
        for metric, value in values.items()
    ]
    async with db.transaction() as session:
        await upsert(session, UsageMetric, rows, key=["account_id", "day", "metric"])


async def test_the_recompute_stores_the_fall_and_keeps_later_ones_current(db: Database) -> None:
    fading = await add_account(db, "R-1", "Fading", owner_id=None)
    fresh = await add_account(db, "R-2", "Fresh", owner_id=None)
    await add_usage(db, fading, {"licensed_seats": 100, "active_users": 90}, range(31, 70))
    await add_usage(db, fading, {"licensed_seats": 100, "active_users": 20}, range(0, 31))
    await add_usage(db, fresh, {"licensed_seats": 100, "active_users": 80}, range(0, 10))
    await add_snapshot(db, fading, EARLIER, 99.0)  # replaced below by the recompute of that day
    await recompute(db, TODAY, model=LENIENT)
    async with db.sessions() as session:
        scores = dict(
            (
                await session.execute(
                    select(HealthSnapshot.day, HealthSnapshot.score).where(
                        HealthSnapshot.account_id == fading
                    )
                )
            ).all()
        )
    today = await falls(db, TODAY)
    assert scores[TODAY] is not None
    assert today[fading] == 99.0 - scores[TODAY]
    assert today[fresh] is None  # nothing 30 days before

    await recompute(db, EARLIER, model=LENIENT)  # the earlier day again: today's fall follows it
    async with db.sessions() as session:
        scores = dict(
            (
                await session.execute(
                    select(HealthSnapshot.day, HealthSnapshot.score).where(
                        HealthSnapshot.account_id == fading
                    )
                )
            ).all()
        )
    assert scores[EARLIER] != 99.0
    assert (await falls(db, TODAY))[fading] == scores[EARLIER] - scores[TODAY]
    assert (await falls(db, EARLIER))[fading] is None


# ------------------------------------------------------------------------------------------ migration

# Change marks as a whole: SQLite bumps one row per account, PostgreSQL adds one per transaction.
MARKS = text("SELECT count(*), coalesce(sum(mark), 0) FROM change_mark")
SNAPSHOT = sa.table(  # health_snapshot as it was at 0009c, before the fall
    "health_snapshot",
    sa.column("account_id", sa.Integer()),
    sa.column("day", sa.Date()),
    sa.column("score", sa.Float()),
    sa.column("band", sa.String()),
    sa.column("confidence", sa.Float()),
    sa.column("components", JSONType),
    sa.column("computed_at", UTCDateTime()),
)


@pytest.fixture(params=["sqlite", "postgresql"])
async def unmigrated(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str | None
) -> AsyncIterator[Database]:
    """An empty database of its own, nothing migrated: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
        try:
            yield database
        finally:
            await database.dispose()
        return
    if postgres_url is None:
        pytest.skip("PostgreSQL tests need TOUCHPOINT_TEST_DATABASE_URL")
    name = f"touchpoint_fall_{uuid.uuid4().hex[:10]}"
    admin = Database(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.engine.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        database = Database(make_url(postgres_url).set(database=name).render_as_string(hide_password=False))
        try:
            yield database
        finally:
            await database.dispose()
        async with admin.engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def triggers(db: Database) -> list[tuple[Any, ...]]:
    sql = (
        "SELECT name, 'O' FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'health_snapshot'"
        if db.is_sqlite
        else "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'health_snapshot'::regclass "
        "AND NOT tgisinternal"
    )
    async with db.engine.connect() as connection:
        return sorted(tuple(row) for row in await connection.execute(text(sql)))


async def old_account(db: Database, external_id: str, name: str) -> int:
    """An account row as the schema of 0009c has it (the model has columns added since)."""
    async with db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO account (external_id, name, name_key, created_at, updated_at) "
                "VALUES (:e, :n, :k, :t, :t)"
            ),
            {"e": external_id, "n": name, "k": name.lower(), "t": datetime(2026, 11, 1, tzinfo=UTC)},
        )
        found = await session.execute(
            text("SELECT id FROM account WHERE external_id = :e"), {"e": external_id}
        )
        return int(found.scalar_one())


async def test_the_migration_fills_the_fall_of_existing_rows(unmigrated: Database) -> None:
    db = unmigrated
    await upgrade(db, "0009c")
    before = await triggers(db)
    assert before
    a = await old_account(db, "M-1", "Falling")
    b = await old_account(db, "M-2", "Rising")
    written = datetime(2026, 11, 25, 2, tzinfo=UTC)
    rows = [  # (account, days before today, score)
        (a, 0, 60.3),
        (a, 30, 70.3),
        (a, 45, 80.0),
        (b, 0, 50.0),
        (b, 30, None),
        (b, 1, 52.0),
        (b, 31, 40.0),
    ]
    async with db.transaction() as session:
        await session.execute(
            SNAPSHOT.insert(),
            [
                {
                    "account_id": account,
                    "day": TODAY - timedelta(days=ago),
                    "score": score,
                    "band": "yellow" if score else "unknown",
                    "confidence": 1.0,
                    "components": {},
                    "computed_at": written,
                }
                for account, ago, score in rows
            ],
        )
        marks = (await session.execute(MARKS)).one()
    await upgrade(db)
    async with db.sessions() as session:
        assert (await session.execute(MARKS)).one() == marks
    got = await falls(db, TODAY)
    assert got[a] == pytest.approx(10.0) and got[b] is None  # b had no score 30 days before
    assert (await falls(db, TODAY - timedelta(days=1)))[b] == -12.0  # rose 12
    assert (await falls(db, TODAY - timedelta(days=30)))[a] is None  # nothing at 60 days
    async with db.sessions() as session:
        page = await queries.at_risk_page(session, TODAY, segment=None, offset=0, limit=10, **RULE)
    assert [r.name for r in page.rows] == ["Falling"]
    assert await triggers(db) == before  # the change-mark triggers are still there, and enabled
    await add_snapshot(db, b, TODAY + timedelta(days=1), 50.0)
    async with db.sessions() as session:
        assert (await session.execute(MARKS)).one() != marks
