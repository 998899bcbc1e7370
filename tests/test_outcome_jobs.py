"""The nightly outcome check on a real database: outcomes the data shows reached become achieved (their
owner hears once), those past due become missed, the rest stay open; batches cover every account; a second
run, or two at once, change and send nothing more. And ``touchpoint outcomes check`` runs the same now."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import select, update
from typer.testing import CliRunner

from adapters.cli.outcomes import outcomes_app
from bot.core.context import BotContext
from bot.settings import get_settings
from scheduler.outcome_jobs import OutcomeCheck, check_outcomes
from scheduler.runner import OUTCOMES_JOB, Scheduler
from storage.db import Database
from storage.models import Account, AuditEvent, OutboxMessage, Outcome, Person, UsageMetric
from tests.factories import NOW, TODAY, Team, add_account, add_person, day, seed_team, settings_for


@pytest.fixture
async def team(db: Database) -> Team:
    team = await seed_team(db)
    async with db.transaction() as session:
        await session.execute(update(Person).where(Person.id == team.maya).values(slack_user_id="UMAYA"))
        await session.execute(update(Person).where(Person.id == team.leo).values(slack_user_id="ULEO"))
    return team


async def add_outcome(db: Database, account_id: int, title: str, **values: object) -> int:
    fields: dict[str, object] = {
        "metric": "active_users",
        "comparison": "at_least",
        "target": 200.0,
        "baseline": 100.0,
        "start_date": day(-60),
        "due_date": day(60),
        "status": "open",
    }
    fields.update(values)
    async with db.transaction() as session:
        outcome = Outcome(account_id=account_id, title=title, **fields)
        session.add(outcome)
        await session.flush()
        return outcome.id


async def active_users(db: Database, account_id: int, value: float) -> None:
    async with db.transaction() as session:
        for offset in range(7):
            session.add(
                UsageMetric(account_id=account_id, day=day(-offset), metric="active_users", value=value)
            )


async def statuses(db: Database) -> dict[str, tuple[str, float | None, bool]]:
    async with db.sessions() as session:
        rows = (await session.scalars(select(Outcome).order_by(Outcome.id))).all()
    return {r.title: (r.status, r.achieved_value, r.demonstrated_at is not None) for r in rows}


async def outbox_keys(db: Database) -> list[str]:
    async with db.sessions() as session:
        return list((await session.scalars(select(OutboxMessage.idempotency_key))).all())


async def run(db: Database) -> OutcomeCheck:
    return await check_outcomes(db, day=TODAY, now=NOW)


async def test_reached_missed_and_open_outcomes(db: Database, team: Team) -> None:
    await active_users(db, team.acme_rockets, 210)
    await active_users(db, team.brightwater, 150)
    reached = await add_outcome(db, team.acme_rockets, "200 weekly active users")
    await add_outcome(db, team.brightwater, "On its way", start_date=day(-30), due_date=day(30))
    await add_outcome(db, team.brightwater, "Ran out of time", start_date=day(-90), due_date=day(-1))
    await add_outcome(db, team.brightwater, "Sponsor sign-off", metric=None, target=None, baseline=None)
    check = await run(db)
    assert check == OutcomeCheck(accounts=2, achieved=1, missed=1, demonstrated=1)
    assert await statuses(db) == {
        "200 weekly active users": ("achieved", 210.0, True),
        "On its way": ("open", None, False),
        "Ran out of time": ("missed", None, False),
        "Sponsor sign-off": ("open", None, False),  # manual: a person marks it
    }
    assert await outbox_keys(db) == [f"outcome-achieved:{reached}"]
    async with db.sessions() as session:
        row = await session.get(Outcome, reached)
        assert row is not None and (row.achieved_at, row.achieved_by_id) == (NOW, None)
        events = (await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
    assert sorted((e.action, e.platform, e.actor_label) for e in events) == [
        ("outcome.achieved", "scheduler", "nightly outcome check"),
        ("outcome.missed", "scheduler", "nightly outcome check"),
    ]


async def test_a_churned_accounts_plan_is_over(db: Database, team: Team) -> None:
    await active_users(db, team.acme_rockets, 210)
    await add_outcome(db, team.acme_rockets, "200 weekly active users")
    await add_outcome(db, team.acme_rockets, "Ran out of time", start_date=day(-90), due_date=day(-1))
    async with db.transaction() as session:
        await session.execute(
            update(Account)
            .where(Account.id == team.acme_rockets)
            .values(lifecycle_stage="churned", churned_on=day(-2))
        )
    assert await run(db) == OutcomeCheck()
    assert {status for status, _, _ in (await statuses(db)).values()} == {"open"}
    assert await outbox_keys(db) == []


async def test_running_again_changes_and_sends_nothing(db: Database, team: Team) -> None:
    await active_users(db, team.acme_rockets, 210)
    await add_outcome(db, team.acme_rockets, "200 weekly active users")
    await add_outcome(
        db, team.acme_rockets, "Ran out of time", start_date=day(-90), due_date=day(-1), target=500
    )
    first = await run(db)
    second = await check_outcomes(db, day=TODAY, now=NOW + timedelta(hours=1))
    assert (first.achieved, first.missed, first.demonstrated) == (1, 1, 1)
    assert second == OutcomeCheck()
    assert len(await outbox_keys(db)) == 1


async def test_two_runs_at_once_send_one_message(db: Database, team: Team) -> None:
    await active_users(db, team.acme_rockets, 210)
    await add_outcome(db, team.acme_rockets, "200 weekly active users")
    checks = await asyncio.gather(run(db), run(db))
    assert sum(c.achieved for c in checks) == 1
    assert sum(c.demonstrated for c in checks) == 1
    assert len(await outbox_keys(db)) == 1


async def test_batches_cover_every_account(db: Database, team: Team) -> None:
    owner = await add_person(db, "kim@example.com", "Kim Lee", "csm")
    accounts = [await add_account(db, f"B-{n}", f"Batch {n}", owner_id=owner) for n in range(5)]
    for account_id in accounts:
        await active_users(db, account_id, 300)
        await add_outcome(db, account_id, "200 weekly active users")
    check = await check_outcomes(db, day=TODAY, now=NOW, batch=2)
    assert (check.accounts, check.achieved) == (5, 5)
    assert {status for status, _, _ in (await statuses(db)).values()} == {"achieved"}
    assert check.demonstrated == 0  # Kim cannot be reached: tried again on later runs


async def test_the_scheduler_runs_the_check_after_the_health_recompute(db: Database, team: Team) -> None:
    scheduler = Scheduler(BotContext(db=db, settings=settings_for(db), clock=lambda: NOW))
    await scheduler.start(paused=True)
    try:
        job = scheduler.aps.get_job(OUTCOMES_JOB)
        assert job is not None
        assert job.next_run_time == datetime(2026, 11, 26, 2, 30, tzinfo=UTC)
        await active_users(db, team.acme_rockets, 210)
        await add_outcome(db, team.acme_rockets, "200 weekly active users")
        assert await scheduler._outcomes() is True
        assert await scheduler._outcomes() is False
    finally:
        scheduler.shutdown()


# ----------------------------------------------------------------------------------------------- CLI


@pytest.fixture
def database(tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    path = tmp_path / "touchpoint.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOUCHPOINT_DATABASE_URL", url)
    monkeypatch.setenv("TOUCHPOINT_CONFIG_FILE", str(tmp_path / "touchpoint.toml"))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_the_cli_runs_the_check_now(database: str) -> None:
    async def seed() -> None:
        today = datetime.now(UTC).date()  # the CLI counts on the real today
        db = Database(database)
        try:
            team = await seed_team(db)
            async with db.transaction() as session:
                await session.execute(
                    update(Person).where(Person.id == team.maya).values(slack_user_id="UMAYA")
                )
                for offset in range(7):
                    usage = UsageMetric(
                        account_id=team.acme_rockets,
                        day=today - timedelta(days=offset),
                        metric="active_users",
                        value=210,
                    )
                    session.add(usage)
            title = "200 weekly active users"
            await add_outcome(
                db, team.acme_rockets, title, start_date=today, due_date=today + timedelta(days=60)
            )
        finally:
            await db.dispose()

    asyncio.run(seed())
    app = typer.Typer()
    app.add_typer(outcomes_app, name="outcomes")
    result = CliRunner().invoke(app, ["outcomes", "check"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # log lines first, then the answer
    assert said.endswith(
        "Checked 1 account with open measurable outcomes: 1 achieved, 0 missed; "
        "1 message to their owners queued."
    )
    again = CliRunner().invoke(app, ["outcomes", "check"])
    assert " ".join(again.output.split()).endswith("0 achieved, 0 missed; 0 messages to their owners queued.")
