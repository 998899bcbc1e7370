"""Outbox sends to Teams retry in one layer, the outbox's: a throttled conversation is tried once, goes
back to the outbox for its Retry-After, and the rest of the batch is sent at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from adapters.teams.sender import TeamsSender, person_target
from bot.delivery import DeliveryWorker
from bot.serialize import address_to_dict, reply_to_dict
from bot.types import Address, Platform, Reply, Text
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus, Person
from tests.factories import LEO, MAYA, Team, seed_team
from tests.teams_activities import CHANNEL_ID, bot_added, user
from tests.teams_env import TeamsEnv, teams_env

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
MAYA_T = user("maya", "Maya Chen", MAYA)
LEO_T = user("leo", "Leo Park", LEO)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def team(db: Database) -> Team:
    team = await seed_team(db)
    async with db.transaction() as session:
        await session.execute(update(Person).where(Person.email == MAYA).values(teams_user_id=MAYA_T.aad))
    return team


@pytest.fixture
async def env(db: Database, tmp_path: Path, team: Team) -> AsyncIterator[TeamsEnv]:
    async for e in teams_env(db, tmp_path):
        await e.post(bot_added(MAYA_T, service_url=e.service_url))
        await e.post(bot_added(LEO_T, service_url=e.service_url, place="channel"))
        assert len(e.fake.of("send")) == 2  # the two welcomes
        yield e


def teams_message(key: str, target: str) -> outbox.NewMessage:
    return outbox.NewMessage(
        idempotency_key=key,
        purpose="test",
        platform=Platform.TEAMS.value,
        address=address_to_dict(Address(platform=Platform.TEAMS, target=target)),
        payload=reply_to_dict(Reply(summary=key, blocks=(Text(key),))),
    )


async def test_a_throttled_conversation_goes_back_to_the_outbox_and_the_batch_goes_on(
    env: TeamsEnv, team: Team
) -> None:
    to_maya = person_target(team.maya)
    await outbox.enqueue(
        env.db,
        [
            teams_message("maya-1", to_maya),
            teams_message("channel-1", CHANNEL_ID),
            teams_message("maya-2", to_maya),
        ],
        now=NOW,
    )
    env.fake.fail_next("send", 429, retry_after="30")
    clock = Clock(NOW)
    worker = DeliveryWorker(env.db, {Platform.TEAMS: TeamsSender(env.adapter)}, clock=clock, sleep=_no_sleep)
    sleeps_before = list(env.sleeps)

    assert await worker.run_once() == 1
    sends = env.fake.of("send", ok_only=False)[2:]
    assert [(c.conversation_id, c.failed) for c in sends] == [
        (MAYA_T.personal_chat, True),
        (CHANNEL_ID, False),
    ]
    assert env.sleeps == sleeps_before, "nothing waited in the process for the throttled conversation"
    async with env.db.sessions() as session:
        rows = {
            key: (status, attempts, at)
            for key, status, attempts, at in (
                await session.execute(
                    select(
                        OutboxMessage.idempotency_key,
                        OutboxMessage.status,
                        OutboxMessage.attempts,
                        OutboxMessage.next_attempt_at,
                    )
                )
            ).all()
        }
    retry_at = NOW + timedelta(seconds=30)
    assert rows["maya-1"] == (OutboxStatus.PENDING.value, 1, retry_at)  # tried once, back for Retry-After
    assert rows["maya-2"] == (OutboxStatus.PENDING.value, 0, retry_at)  # same conversation: held, not tried
    assert rows["channel-1"][0] == OutboxStatus.SENT.value

    clock.now = retry_at + timedelta(seconds=1)
    assert await worker.run_once() == 2
    delivered = [c.conversation_id for c in env.fake.of("send")[2:]]
    assert delivered == [CHANNEL_ID, MAYA_T.personal_chat, MAYA_T.personal_chat]


async def _no_sleep(seconds: float) -> None:
    """Pacing waits (half a second between two sends to one conversation) pass at once here."""


async def test_a_local_rate_limit_is_no_attempt(env: TeamsEnv) -> None:
    """Past 7 sends a second to one conversation the process holds back without asking Teams; those
    messages wait in the outbox with no attempt counted, so waiting never makes one dead."""
    await outbox.enqueue(env.db, [teams_message(f"burst-{i}", CHANNEL_ID) for i in range(9)], now=NOW)
    clock = Clock(NOW)
    worker = DeliveryWorker(env.db, {Platform.TEAMS: TeamsSender(env.adapter)}, clock=clock, pacing={})
    assert await worker.run_once() == 6  # the welcome used one of the seven
    async with env.db.sessions() as session:
        waiting = (
            await session.execute(
                select(OutboxMessage.attempts, OutboxMessage.next_attempt_at).where(
                    OutboxMessage.status == OutboxStatus.PENDING.value
                )
            )
        ).all()
    assert [attempts for attempts, _ in waiting] == [0, 0, 0]
    assert {at for _, at in waiting} == {NOW + timedelta(seconds=1)}
    assert len(env.fake.of("send", ok_only=False)) == 2 + 6  # Teams was never asked for the other three
