"""Gross and net revenue retention from the ARR history and renewal outcomes: the cohort, the formulas,
the `retention` command and the team digest's line."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.success.retention import period, retention
from storage.db import Database
from storage.models import ArrChange, RenewalOutcome
from tests.factories import MAYA, NOW, actor_for, add_account, add_person, ask, make_bot, seed_team, text_of

pytestmark = pytest.mark.usefixtures("db")

# NOW is Wednesday 25 November 2026: the quarter to date runs from 30 September (its ARR) to today.


async def history(db: Database, account_id: int, *changes: tuple[str, int]) -> None:
    async with db.transaction() as session:
        previous: Decimal | None = None
        for day, arr in changes:
            value = Decimal(arr)
            session.add(
                ArrChange(
                    account_id=account_id,
                    day=date.fromisoformat(day),
                    arr=value,
                    previous_arr=previous,
                    source="import",
                    recorded_at=NOW,
                )
            )
            previous = value


async def portfolio(db: Database) -> dict[str, int]:
    owner = await add_person(db, "maya.chen@example.com", "Maya Chen", "csm")
    ids = {}
    for name, churned in (
        ("Steady", None),
        ("Shrinking", None),
        ("Growing", None),
        ("Leaving", date(2026, 11, 10)),
        ("Newcomer", None),
        ("Downgraded", None),
        ("Gone Before", date(2026, 9, 15)),
    ):
        ids[name] = await add_account(db, name.lower(), name, owner_id=owner, churned_on=churned)
    await history(db, ids["Steady"], ("2026-09-01", 100_000))
    await history(db, ids["Shrinking"], ("2026-09-01", 50_000), ("2026-10-15", 40_000))
    await history(db, ids["Growing"], ("2026-09-01", 30_000), ("2026-11-01", 45_000))
    await history(db, ids["Leaving"], ("2026-09-01", 20_000))
    await history(db, ids["Newcomer"], ("2026-10-05", 10_000))
    await history(db, ids["Downgraded"], ("2026-09-01", 40_000))
    await history(db, ids["Gone Before"], ("2026-08-01", 70_000))
    async with db.transaction() as session:
        session.add(
            RenewalOutcome(
                source="hubspot",
                source_id="deal-1",
                account_id=ids["Downgraded"],
                closed_on=date(2026, 11, 20),
                result="downgraded",
                arr_before=Decimal(40_000),
                arr_after=Decimal(25_000),
                recorded_at=NOW,
            )
        )
    return ids


def test_periods() -> None:
    assert period("quarter", date(2026, 11, 25)).start == date(2026, 9, 30)
    assert period("quarter", date(2026, 1, 1)).start == date(2025, 12, 31)
    assert period("quarter", date(2026, 1, 1)).label == "Q1 2026 to date"
    assert period("year", date(2026, 11, 25)).start == date(2025, 12, 31)
    with pytest.raises(ValueError, match="quarter or year"):
        period("month", date(2026, 11, 25))


async def test_grr_and_nrr_from_history_churn_and_renewals(db: Database) -> None:
    await portfolio(db)
    async with db.sessions() as session:
        found = await retention(session, "quarter", NOW.date())
    assert found.accounts == 5  # not the newcomer, not the account churned before the quarter
    assert found.starting == Decimal(240_000)
    assert [a.name for a in found.churned] == ["Leaving"] and found.churn == Decimal(20_000)
    assert [a.name for a in found.contracted] == ["Downgraded", "Shrinking"]
    assert found.contraction == Decimal(25_000)
    assert [a.name for a in found.expanded] == ["Growing"] and found.expansion == Decimal(15_000)
    assert found.grr == pytest.approx(195 / 240)
    assert found.nrr == pytest.approx(210 / 240)


async def test_the_retention_command_names_the_accounts(db: Database) -> None:
    await portfolio(db)
    bot = make_bot(db)
    actor = await actor_for(db, "maya.chen@example.com")
    reply = await ask(bot, actor, "retention")
    text = text_of(reply)
    assert "Retention, Q4 2026 to date" in text
    assert "GRR 81.2%" in text or "GRR 81.3%" in text
    assert "NRR 87.5%" in text
    assert "Churned -$20k (1 account)" in text and "Leaving: $20k → $0" in text
    assert "Downgraded: $40k → $25k" in text
    assert "GRR = (starting ARR − churn − contraction)" in text
    wrong = await ask(bot, actor, "retention month")
    assert "retention year" in text_of(wrong)


async def test_no_arr_yet_says_so(db: Database) -> None:
    await seed_team(db)
    bot = make_bot(db)
    reply = await ask(bot, await actor_for(db, MAYA), "retention year")
    assert "nothing to measure yet" in text_of(reply)
