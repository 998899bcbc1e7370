"""Slack and Teams served by one Touchpoint at once, with fake Slack and Bot Connector servers, the
delivery worker and the seeded team (test fixture): what a conversation across both platforms needs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import update
from structlog.testing import capture_logs

from adapters.runtime import build_senders
from adapters.slack.app import SlackAdapter
from adapters.teams.app import TeamsAdapter
from adapters.teams.delivery import RateLimiter, RetryPolicy, Sender
from adapters.web import SLACK_PATH, TEAMS_PATH, build_web_app
from bot.core.dispatch import Bot
from bot.delivery import DeliveryWorker
from bot.settings import Settings
from handlers import build_bot
from storage.db import Database
from storage.models import Person
from tests import blockkit
from tests.adaptivecards import card_problems, message_problems
from tests.factories import MAYA, NOW, PRIYA, SAM, Team, seed_team
from tests.fakes.slack import FakeSlack
from tests.fakes.teams import FakeConnector
from tests.slack_env import CRASH_EVENTS
from tests.slack_requests import SIGNING_SECRET, SignedRequest
from tests.teams_activities import CHANNEL_ID, user
from tests.teams_env import FakeTime, clear_teams_environment, own_logging

MAYA_SLACK = "UMAYA0001"
SAM_SLACK = "USAM00001"  # the admin
PRIYA_TEAMS = user("priya", "Priya Raman", PRIYA)


@dataclass
class LoopEnv:
    db: Database
    slack: FakeSlack
    teams: FakeConnector
    server: TestServer
    http: aiohttp.ClientSession
    slack_adapter: SlackAdapter
    worker: DeliveryWorker
    bot: Bot
    acks: list[Any]
    teams_answers: list[dict[str, Any]]
    # What the bot and the worker take for now: NOW until a test moves it.
    now: datetime = NOW

    def clock(self) -> datetime:
        return self.now

    async def to_slack(self, request: SignedRequest) -> None:
        async with self.http.post(
            self.server.make_url(SLACK_PATH), data=request.body.encode(), headers=request.headers
        ) as response:
            assert response.status == 200
            text = await response.text()
        if text.startswith("{"):
            self.acks.append(json.loads(text))
        assert await self.slack_adapter.drain(10.0)

    async def to_teams(self, activity: dict[str, Any]) -> Any:
        async with self.http.post(
            self.server.make_url(TEAMS_PATH),
            data=json.dumps(activity),
            headers={"Content-Type": "application/json"},
        ) as response:
            assert response.status in (200, 201, 202), await response.text()
            raw = await response.read()
        body = json.loads(raw) if raw else None
        if (
            isinstance(body, dict)
            and isinstance(body.get("value"), dict)
            and body["value"].get("type") == "AdaptiveCard"
        ):
            self.teams_answers.append(body["value"])
        return body

    async def deliver(self) -> int:
        return await self.worker.run_once()


class _Moment:
    """The clock of the bot and the worker: the environment's ``now``."""

    env: LoopEnv | None = None

    def __call__(self) -> datetime:
        return self.env.now if self.env is not None else NOW


@asynccontextmanager
async def loop_env(db: Database, tmp_path: Path, *, cs_channel: str | None = None) -> AsyncIterator[LoopEnv]:
    slack = FakeSlack()
    await slack.start()
    slack.add_user(MAYA_SLACK, MAYA)
    slack.add_user(SAM_SLACK, SAM)
    teams = FakeConnector()
    await teams.start()
    settings = Settings(
        database_url="sqlite+aiosqlite://",
        config_file=tmp_path / "no-config.toml",
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        teams_enabled=True,
        feedback_cx_channel=f"teams:{CHANNEL_ID}",
        feedback_cs_channel=cs_channel,
    )
    moment = _Moment()
    bot = build_bot(db, settings, clock=moment)
    slack_adapter = SlackAdapter(bot, settings)
    time = FakeTime()
    teams_adapter = TeamsAdapter(
        bot,
        settings,
        sender=Sender(
            retry=RetryPolicy(), limiter=RateLimiter(clock=time.clock, sleep=time.sleep), sleep=time.sleep
        ),
    )
    server = TestServer(build_web_app(slack=slack_adapter, teams=teams_adapter), host="127.0.0.1")
    await server.start_server()
    http = aiohttp.ClientSession()
    worker = DeliveryWorker(db, build_senders(settings, teams=teams_adapter), clock=moment, pacing={})
    env = LoopEnv(db, slack, teams, server, http, slack_adapter, worker, bot, acks=[], teams_answers=[])
    moment.env = env
    try:
        with own_logging(), capture_logs() as logs:
            yield env
            assert await slack_adapter.drain(10.0)
        crashes = [entry for entry in logs if entry.get("event") in CRASH_EVENTS]
        assert not crashes, crashes
        for call in slack.calls:
            blockkit.check_api_call(call.method, call.body)
        for ack in env.acks:
            blockkit.check_ack(ack)
        problems = [p for call in teams.calls for p in message_problems(call.body)]
        problems += [p for card in env.teams_answers for p in card_problems(card)]
        assert not problems, problems
    finally:
        await http.close()
        await server.close()
        await slack.close()
        await teams.close()


@pytest.fixture
async def team(db: Database, monkeypatch: pytest.MonkeyPatch) -> Team:
    clear_teams_environment(monkeypatch)
    team = await seed_team(db)
    async with db.transaction() as session:
        await session.execute(update(Person).where(Person.id == team.maya).values(slack_user_id=MAYA_SLACK))
        await session.execute(update(Person).where(Person.id == team.sam).values(slack_user_id=SAM_SLACK))
        await session.execute(
            update(Person).where(Person.id == team.priya).values(teams_user_id=PRIYA_TEAMS.aad)
        )
    return team
