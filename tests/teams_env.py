"""A running Touchpoint web server with the Teams adapter, talking to a fake Bot Connector (test fixture).

Time is fake for the adapter's waiting: retries and the rate limiter "sleep" by moving a clock forward
and noting how long they waited (``env.sleeps``), so no test ever really sleeps. When the test ends,
every card the bot sent or returned is checked with :mod:`tests.adaptivecards`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog
from aiohttp.test_utils import TestServer

from adapters.teams.app import TeamsAdapter
from adapters.teams.delivery import RateLimiter, RetryPolicy, Sender
from adapters.web import TEAMS_PATH, build_web_app
from bot.core.dispatch import Bot
from bot.settings import Settings
from handlers import build_bot
from storage.db import Database
from tests.adaptivecards import card_problems, message_problems
from tests.factories import NOW
from tests.fakes.teams import FakeConnector

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
TEAMS_VARIABLES = (
    "MicrosoftAppId",
    "MicrosoftAppPassword",
    "MicrosoftAppType",
    "MicrosoftAppTenantId",
    "TOUCHPOINT_TEAMS_ENABLED",
    "TOUCHPOINT_TEAMS_TENANT_IDS",
)


@contextmanager
def own_logging() -> Iterator[None]:
    """structlog's defaults for the test, whatever an earlier test left configured (a CLI test's
    ``run()`` points it at a stream its runner closes afterwards); the old setup is put back after."""
    saved = structlog.get_config()
    structlog.reset_defaults()
    try:
        yield
    finally:
        structlog.configure(**saved)


def clear_teams_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read the environment: remove every Teams variable for the test."""
    for name in TEAMS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@dataclass
class FakeTime:
    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Answer:
    status: int
    body: Any

    @property
    def card(self) -> dict[str, Any]:
        """The card an ``adaptiveCard/action`` invoke answered with."""
        assert self.status == 200, (self.status, self.body)
        assert self.body["statusCode"] == 200 and self.body["type"] == CARD_TYPE, self.body
        card = self.body["value"]
        assert isinstance(card, dict)
        return card


@dataclass
class TeamsEnv:
    db: Database
    fake: FakeConnector
    server: TestServer
    http: aiohttp.ClientSession
    bot: Bot
    adapter: TeamsAdapter
    time: FakeTime
    answered_cards: list[dict[str, Any]] = field(default_factory=list)

    @property
    def service_url(self) -> str:
        return self.fake.service_url

    @property
    def sleeps(self) -> list[float]:
        return self.time.sleeps

    async def post(
        self,
        activity: dict[str, Any] | str | bytes,
        *,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Answer:
        data = json.dumps(activity) if isinstance(activity, dict) else activity
        response = await self.http.post(
            self.server.make_url(TEAMS_PATH),
            data=data,
            headers={"Content-Type": content_type, **(headers or {})},
        )
        raw = await response.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        if isinstance(body, dict) and body.get("type") == CARD_TYPE:
            self.answered_cards.append(body["value"])
        return Answer(status=response.status, body=body)


async def teams_env(
    db: Database,
    tmp_path: Path,
    *,
    tenant_ids: list[str] | None = None,
    app_id: str | None = None,
    clock: Callable[[], datetime] | None = None,
) -> AsyncIterator[TeamsEnv]:
    with own_logging():
        async for env in _teams_env(db, tmp_path, tenant_ids=tenant_ids, app_id=app_id, clock=clock):
            yield env


async def _teams_env(
    db: Database,
    tmp_path: Path,
    *,
    tenant_ids: list[str] | None,
    app_id: str | None,
    clock: Callable[[], datetime] | None,
) -> AsyncIterator[TeamsEnv]:
    fake = FakeConnector()
    await fake.start()
    settings = Settings(
        database_url="sqlite+aiosqlite://",
        config_file=tmp_path / "no-config.toml",
        microsoft_app_id=app_id,
        microsoft_app_password="test-password" if app_id else None,
        teams_tenant_ids=tenant_ids or [],
        teams_enabled=True,
    )
    bot = build_bot(db, settings, clock=clock or (lambda: NOW))
    time = FakeTime()
    sender = Sender(
        retry=RetryPolicy(),
        limiter=RateLimiter(clock=time.clock, sleep=time.sleep),
        sleep=time.sleep,
    )
    adapter = TeamsAdapter(bot, settings, sender=sender)
    server = TestServer(build_web_app(teams=adapter), host="127.0.0.1")
    await server.start_server()
    http = aiohttp.ClientSession()
    env = TeamsEnv(db=db, fake=fake, server=server, http=http, bot=bot, adapter=adapter, time=time)
    try:
        yield env
    finally:
        await http.close()
        await server.close()
        await fake.close()
    problems = [p for call in fake.calls for p in message_problems(call.body)]
    problems += [p for card in env.answered_cards for p in card_problems(card)]
    assert not problems, "cards Teams would not show as meant:\n" + "\n".join(problems)


def assert_quiet(logs: Sequence[Mapping[str, Any]], caplog: pytest.LogCaptureFixture) -> None:
    """Nothing logged at error level and no traceback: a refused request is a warning at most."""
    loud = [e for e in logs if e.get("log_level") in ("error", "critical", "exception") or "exc_info" in e]
    assert not loud, loud
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, errors
