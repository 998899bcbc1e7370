"""Storage basics on every backend: migrations, constraints, time zones and the upsert helper."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.migrate import is_current, upgrade
from storage.models import Account, Person, SurveyResponse, UsageMetric
from storage.names import name_key
from storage.upsert import upsert


async def _person(db: Database, email: str = "ana@example.test") -> int:
    async with db.transaction() as s:
        p = Person(email=email, name="Ana", role="csm", timezone="UTC")
        s.add(p)
        await s.flush()
        return p.id


async def test_migrations_are_current_and_idempotent(db: Database) -> None:
    assert await is_current(db)
    await upgrade(db)  # a second run changes nothing
    assert await is_current(db)


async def test_email_is_unique(db: Database) -> None:
    await _person(db)
    with pytest.raises(IntegrityError):
        await _person(db)


async def test_datetimes_come_back_aware_utc(db: Database) -> None:
    pid = await _person(db)
    async with db.transaction() as s:
        s.add(Account(external_id="A1", name="Acme", name_key="acme", owner_id=pid))
    async with db.transaction() as s:
        acct = (await s.execute(select(Account))).scalar_one()
        when = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
        s.add(SurveyResponse(account_id=acct.id, kind="nps", score=3, submitted_at=when, natural_key="k1"))
    async with db.sessions() as s:
        got = (await s.execute(select(SurveyResponse.submitted_at))).scalar_one()
    assert got == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert got.tzinfo is not None


async def test_upsert_updates_by_natural_key(db: Database) -> None:
    pid = await _person(db)
    async with db.transaction() as s:
        s.add(Account(external_id="A1", name="Acme", name_key="acme", owner_id=pid))
    async with db.transaction() as s:
        account_id = (await s.execute(select(Account.id))).scalar_one()
        rows = [
            {"account_id": account_id, "day": date(2026, 1, d), "metric": "active_users", "value": d}
            for d in range(1, 11)
        ]
        await upsert(s, UsageMetric, rows, key=["account_id", "day", "metric"])
    async with db.transaction() as s:
        await upsert(
            s,
            UsageMetric,
            [{"account_id": account_id, "day": date(2026, 1, 1), "metric": "active_users", "value": 99.0}],
            key=["account_id", "day", "metric"],
        )
    async with db.sessions() as s:
        count = (await s.execute(select(func.count()).select_from(UsageMetric))).scalar_one()
        first = (
            await s.execute(select(UsageMetric.value).where(UsageMetric.day == date(2026, 1, 1)))
        ).scalar_one()
    assert count == 10
    assert first == 99.0


def test_name_key_ignores_case_accents_and_spacing() -> None:
    assert name_key("  Société   Générale ") == "societe generale"
    assert name_key("ACME Corp") == name_key("acme corp")


async def test_migrations_match_the_models(db: Database) -> None:
    """A model changed without a migration (or the reverse) shows up here, on both backends."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.models import Base

    async with db.engine.connect() as connection:
        diff = await connection.run_sync(
            lambda conn: compare_metadata(MigrationContext.configure(conn), Base.metadata)
        )
    assert diff == []
