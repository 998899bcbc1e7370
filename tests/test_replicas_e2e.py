"""Two real ``touchpoint serve`` processes on one fresh PostgreSQL database, posting to a fake Slack
and a fake Bot Connector: one is killed with SIGKILL right after Slack took a message and before it
could record it. The survivor takes its messages over once the lease ends, finds that message on
Slack by its metadata instead of posting it again, and every message and the digest arrive once."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.serialize import address_to_dict, reply_to_dict
from bot.types import Address, Platform, Reply, Text
from storage import outbox
from storage.db import Database
from storage.migrate import upgrade
from storage.models import DigestSubscription, OutboxMessage, OutboxStatus, ScheduledRun
from tests.factories import seed_team
from tests.fakes.slack import Call, FakeSlack
from tests.fakes.teams import FakeConnector
from tests.replicas import Replica, fresh_database, replica_environment, start_replica, until_serving
from tests.teams_activities import CHANNEL_ID, bot_added, user

SLACK_MESSAGES = 12
TEAMS_MESSAGES = 4
CRASH_AT_POST = 4  # the replica that makes this post dies right after Slack took it
LEASE_SECONDS = "5"
MAYA_T = user("maya", "Maya Chen", "maya.chen@example.com")
LEO_T = user("leo", "Leo Park", "leo.park@example.com")


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeSlack, FakeConnector]]:
    slack, teams = FakeSlack(), FakeConnector()
    await slack.start()
    await teams.start()
    try:
        yield slack, teams
    finally:
        await slack.close()
        await teams.close()


def slack_message(key: str, target: str) -> outbox.NewMessage:
    return outbox.NewMessage(
        idempotency_key=key,
        purpose="test",
        platform=Platform.SLACK.value,
        address=address_to_dict(Address(platform=Platform.SLACK, target=target)),
        payload=reply_to_dict(Reply(summary=key, blocks=(Text(key),))),
    )


def teams_message(key: str, conversation: str) -> outbox.NewMessage:
    return outbox.NewMessage(
        idempotency_key=key,
        purpose="test",
        platform=Platform.TEAMS.value,
        address=address_to_dict(Address(platform=Platform.TEAMS, target=conversation)),
        payload=reply_to_dict(Reply(summary=key, blocks=(Text(key),))),
    )


def slack_keys(fake: FakeSlack) -> Counter[str]:
    return Counter(m["metadata"]["event_payload"]["outbox_key"] for m in fake.posted() if "metadata" in m)


def teams_texts(fake: FakeConnector, keys: list[str]) -> Counter[str]:
    bodies = [json.dumps(call.body) for call in fake.of("send")]
    return Counter(key for key in keys for body in bodies if key in body)


async def install(replica: Replica, fake: FakeConnector) -> None:
    """Touchpoint is added to Maya's personal chat and to a team channel (the references get stored)."""
    async with aiohttp.ClientSession() as http:
        for activity in (
            bot_added(MAYA_T, service_url=fake.service_url),
            bot_added(LEO_T, service_url=fake.service_url, place="channel"),
        ):
            async with http.post(f"{replica.url}/api/messages", json=activity) as response:
                assert response.status < 300, await response.text()


async def test_a_replica_killed_mid_delivery_loses_nothing_and_repeats_nothing(
    postgres_url: str | None, fakes: tuple[FakeSlack, FakeConnector], tmp_path: Path
) -> None:
    slack, teams = fakes
    async with fresh_database(postgres_url) as url:
        db = Database(url)
        replicas: list[Replica] = []
        try:
            await upgrade(db)
            team = await seed_team(db)
            now = datetime.now(UTC)
            fired = now - timedelta(minutes=10)  # missed while "down": caught up when the replicas start
            async with db.transaction() as session:
                digest = DigestSubscription(
                    platform="slack",
                    channel="C0DIGEST",
                    created_by_id=team.jonas,
                    scope="team",
                    cadence="daily",
                    at_time=fired.strftime("%H:%M"),
                    timezone="UTC",
                    created_at=now - timedelta(days=2),
                )
                session.add(digest)
                await session.flush()
                digest_id = digest.id

            def crash_here(call: Call) -> bool:
                return call.method == "chat.postMessage" and len(slack.posted()) == CRASH_AT_POST

            slack.hang_when(crash_here)
            logged = asyncio.Condition()  # any replica's log line wakes the waits below
            for n in (1, 2):
                env = replica_environment(
                    url,
                    SLACK_BOT_TOKEN=f"xoxb-replica-{n}",
                    SLACK_SIGNING_SECRET="replica-test-secret",
                    TOUCHPOINT_SLACK_API_URL=slack.api_url,
                    TOUCHPOINT_TEAMS_ENABLED="true",
                    TOUCHPOINT_DELIVERY_LEASE_SECONDS=LEASE_SECONDS,
                    TOUCHPOINT_SLACK_MESSAGES_PER_MINUTE="6000",
                    TOUCHPOINT_CONFIG_FILE=str(tmp_path / "none.toml"),
                )
                replicas.append(await start_replica(f"replica-{n}", env, tmp_path, changed=logged))
            for replica in replicas:
                await until_serving(replica)
            await install(replicas[0], teams)
            # One of them catches the missed digest up and queues it.
            await replicas[0].wait_for(lambda: any(r.of("digest_enqueued") for r in replicas), seconds=60)

            slack_keys_queued = [f"slack-{i}" for i in range(SLACK_MESSAGES)]
            teams_keys = [f"teams-{i}" for i in range(TEAMS_MESSAGES)]
            conversations = [CHANNEL_ID, MAYA_T.personal_chat]
            await outbox.enqueue(
                db,
                [slack_message(key, f"C{i % 5:04d}") for i, key in enumerate(slack_keys_queued)]
                + [teams_message(key, conversations[i % 2]) for i, key in enumerate(teams_keys)],
                now=datetime.now(UTC),
            )
            async with db.sessions() as session:
                expected = set((await session.scalars(select(OutboxMessage.id))).all())

            # The crash: whoever made the post Slack took kills over, at once and without a goodbye.
            await slack.wait_until(lambda: bool(slack.hung), seconds=60)
            [trapped] = slack.hung
            token = trapped.headers["Authorization"].removeprefix("Bearer ")
            victim = next(r for r in replicas if r.name == token.removeprefix("xoxb-"))
            survivor = next(r for r in replicas if r is not victim)
            victim.kill()
            slack.hang_when(None)

            def delivered() -> set[int]:
                return {int(e["outbox_id"]) for r in replicas for e in r.of("delivered")}

            await survivor.wait_for(lambda: expected <= delivered(), seconds=90)

            trapped_key = trapped.body["metadata"]["event_payload"]["outbox_key"]
            digest_key = next(k for k in slack_keys(slack) if k.startswith(f"digest:{digest_id}:"))
            posted = slack_keys(slack)
            assert posted == Counter({key: 1 for key in posted}), "a message was posted twice"
            assert set(slack_keys_queued) | {digest_key} <= set(posted)
            assert teams_texts(teams, teams_keys) == Counter({key: 1 for key in teams_keys})
            found = survivor.of("delivery_found_already_posted")
            assert len(found) == 1, survivor.describe()
            survivor_lookups = [
                c
                for c in slack.of("conversations.history")
                if c.headers["Authorization"].endswith(survivor.name)
            ]
            assert survivor_lookups and trapped_key in posted
            async with db.sessions() as session:
                statuses = Counter((await session.scalars(select(OutboxMessage.status))).all())
                runs = (
                    await session.scalars(
                        select(ScheduledRun).where(ScheduledRun.job == f"digest:{digest_id}")
                    )
                ).all()
            assert set(statuses) == {OutboxStatus.SENT.value}, statuses
            assert len(runs) == 1 and runs[0].finished_at is not None  # one replica built the digest
        finally:
            for replica in replicas:
                await replica.stop()
            await db.dispose()
