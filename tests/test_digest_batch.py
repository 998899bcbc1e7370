"""Digests firing together are built together: the same outbox rows and outcomes as one at a time, with
the CSM digests of a group built in one batch; and the batcher that gathers the jobs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from bot.core.context import BotContext
from bot.digests.build import build_digest
from bot.serialize import reply_to_dict
from scheduler.digest_batch import DigestBatcher, run_digests
from scheduler.jobs import DigestOutcome, DigestRun
from storage.db import Database
from storage.models import DigestSubscription, OutboxMessage, Person
from tests.factories import Team, seed_team, settings_for

FIRED = datetime(2026, 11, 25, 14, 0, 5, tzinfo=UTC)  # 09:00 in New York, 5 seconds late


async def subscribe(db: Database, **fields: object) -> int:
    async with db.transaction() as session:
        subscription = DigestSubscription(
            cadence="daily", at_time="09:00", timezone="America/New_York", **fields
        )
        session.add(subscription)
        await session.flush()
        return subscription.id


async def outbox(db: Database) -> dict[str, OutboxMessage]:
    async with db.sessions() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    return {row.idempotency_key: row for row in rows}


@pytest.fixture
async def team(db: Database) -> Team:
    team = await seed_team(db)
    async with db.transaction() as session:
        await session.execute(update(Person).where(Person.id == team.maya).values(slack_user_id="U0MAYA"))
    return team


def context(db: Database) -> BotContext:
    return BotContext(db=db, settings=settings_for(db), clock=lambda: FIRED)


async def test_a_group_is_queued_like_one_at_a_time(db: Database, team: Team) -> None:
    maya = await subscribe(db, platform="slack", person_id=team.maya, scope="mine")
    leo_on_teams = await subscribe(db, platform="teams", person_id=team.leo, scope="mine")
    channel = await subscribe(db, platform="slack", channel="C0TEAM", created_by_id=team.jonas, scope="team")
    no_slack_id = await subscribe(db, platform="slack", person_id=team.sam, scope="mine")
    stopped = await subscribe(db, platform="slack", person_id=team.maya, scope="mine", active=False)
    ctx = context(db)
    # Each digest built on its own first (queuing it moves the subscription's "since").
    expected: dict[int, dict[str, object]] = {}
    async with db.sessions() as session:
        for subscription_id in (maya, channel):
            subscription = await session.get(DigestSubscription, subscription_id)
            assert subscription is not None
            alone = await build_digest(ctx, subscription, now=FIRED)
            assert alone is not None
            expected[subscription_id] = reply_to_dict(alone.reply)

    runs = await run_digests(ctx, [channel, maya, leo_on_teams, no_slack_id, stopped, 999], now=FIRED)

    assert {i: r.outcome for i, r in runs.items()} == {
        maya: DigestOutcome.ENQUEUED,
        leo_on_teams: DigestOutcome.ENQUEUED,
        channel: DigestOutcome.ENQUEUED,
        no_slack_id: DigestOutcome.NO_RECIPIENT,
        stopped: DigestOutcome.INACTIVE,
        999: DigestOutcome.INACTIVE,
    }
    assert runs[maya].period == "2026-11-25"
    rows = await outbox(db)
    assert set(rows) == {f"digest:{i}:2026-11-25" for i in (maya, leo_on_teams, channel)}
    async with db.sessions() as session:
        for subscription_id in (maya, channel):
            subscription = await session.get(DigestSubscription, subscription_id)
            assert subscription is not None and subscription.last_sent_period == "2026-11-25"
            payload = rows[f"digest:{subscription_id}:2026-11-25"].payload
            assert {k: v for k, v in payload.items() if k != "images"} == expected[subscription_id]
    assert rows[f"digest:{maya}:2026-11-25"].address["target"] == "U0MAYA"
    assert rows[f"digest:{channel}:2026-11-25"].address["target"] == "C0TEAM"

    again = await run_digests(ctx, [maya, channel], now=FIRED)
    assert {r.outcome for r in again.values()} == {DigestOutcome.ALREADY_QUEUED}
    assert len(await outbox(db)) == 3


async def test_the_batcher_runs_jobs_firing_together_once() -> None:
    batches: list[list[int]] = []

    async def run(ids: list[int]) -> dict[int, DigestRun]:
        batches.append(ids)
        return {i: DigestRun(i, DigestOutcome.ENQUEUED, "2026-11-25") for i in ids if i != 3}

    batcher = DigestBatcher(run, window=0.01)
    first = await asyncio.gather(batcher.submit(2), batcher.submit(1), batcher.submit(3), batcher.submit(2))
    assert batches == [[1, 2, 3]]
    assert [r.outcome for r in first] == [
        DigestOutcome.ENQUEUED,
        DigestOutcome.ENQUEUED,
        DigestOutcome.INACTIVE,  # the batch said nothing of it
        DigestOutcome.ENQUEUED,
    ]
    await batcher.submit(4)
    assert batches == [[1, 2, 3], [4]]


async def test_a_failed_batch_fails_each_job_in_it() -> None:
    async def run(ids: list[int]) -> dict[int, DigestRun]:
        raise RuntimeError("database went away")

    batcher = DigestBatcher(run, window=0.01)
    results = await asyncio.gather(batcher.submit(1), batcher.submit(2), return_exceptions=True)
    assert [str(r) for r in results] == ["database went away", "database went away"]
