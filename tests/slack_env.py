"""A running Touchpoint web server with the Slack adapter, talking to a fake Slack (test fixture).

:func:`slack_env` starts the fake Slack Web API and the real aiohttp server with the adapter on
ephemeral ports. When the test is done it waits for every acknowledged request to finish answering,
then checks every Block Kit payload the bot produced (Web API calls, response_url posts and the
acknowledgement bodies) with :mod:`tests.blockkit`, and that no listener crashed.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from slack_sdk.http_retry import async_handler, builtin_async_handlers
from sqlalchemy import update
from structlog.testing import capture_logs

from adapters.slack.app import SlackAdapter
from adapters.web import SLACK_PATH, build_web_app
from bot.core.dispatch import Bot
from bot.feedback.sentiment import score
from bot.health.model import HealthModel
from bot.health.service import recompute
from bot.settings import Settings
from handlers import build_bot
from storage.db import Database
from storage.demo import (
    DEMO_ADMIN_EMAIL,
    DEMO_CSM_EMAIL,
    DEMO_CX_EMAIL,
    DEMO_MANAGER_EMAIL,
    generate_demo_data,
)
from storage.models import Person
from tests import blockkit
from tests.fakes.slack import FakeSlack
from tests.slack_requests import SIGNING_SECRET, SignedRequest

FIXED_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TODAY = FIXED_NOW.date()

# Slack user ids of the demo portfolio's people (their rows carry them, see link_demo_people).
MAYA = "UMAYA0001"  # CSM, owns Acme Rockets, Acme Robotics, Café Lumière Studios and four more
JONAS = "UJONAS001"  # Maya's manager
PRIYA = "UPRIYA001"  # CX
SAM = "USAM00001"  # admin
DEMO_SLACK_IDS = {
    DEMO_CSM_EMAIL: MAYA,
    DEMO_MANAGER_EMAIL: JONAS,
    DEMO_CX_EMAIL: PRIYA,
    DEMO_ADMIN_EMAIL: SAM,
}
# Errors the adapter and the core log when something crashed instead of answering.
CRASH_EVENTS = frozenset({"slack_listener_failed", "request_failed"})


# -------------------------------------------------------------------------------------------- data


async def seed_demo(db: Database) -> None:
    """The small demo portfolio as of FIXED_NOW, health snapshots 30 and 7 days ago and today (so risk
    and trends have something to show), and Slack ids on the four demo people."""
    await generate_demo_data(db, tone=score, accounts=20, seed=3, today=TODAY)
    for days_ago in (30, 7, 0):
        await recompute(db, TODAY - timedelta(days=days_ago), model=HealthModel())
    await link_demo_people(db)


async def link_demo_people(db: Database) -> None:
    async with db.transaction() as session:
        for email, slack_id in DEMO_SLACK_IDS.items():
            await session.execute(update(Person).where(Person.email == email).values(slack_user_id=slack_id))


def build_demo_file(template: Path, directory: Path) -> Path:
    """A migrated SQLite file holding :func:`seed_demo`'s data, to copy for each test."""
    path = directory / "slack-demo.db"
    shutil.copyfile(template, path)

    async def fill() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await seed_demo(db)
        finally:
            await db.dispose()

    asyncio.run(fill())
    return path


@asynccontextmanager
async def demo_copy(demo_file: Path, directory: Path) -> AsyncIterator[Database]:
    path = directory / "touchpoint.db"
    shutil.copyfile(demo_file, path)
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        yield db
    finally:
        await db.dispose()


# ------------------------------------------------------------------------------------ retry waits


class _QuickSleep:
    """Stands in for the ``asyncio`` module inside slack_sdk's retry handlers: records how long each
    retry asked to wait (Retry-After, back-off) and waits only a moment."""

    def __init__(self, waits: list[float]) -> None:
        self._waits = waits

    async def sleep(self, seconds: float) -> None:
        self._waits.append(seconds)
        await asyncio.sleep(0)


@asynccontextmanager
async def quick_retry_waits() -> AsyncIterator[list[float]]:
    waits: list[float] = []
    modules = (builtin_async_handlers, async_handler)
    saved = [m.asyncio for m in modules]
    for module in modules:
        module.asyncio = _QuickSleep(waits)  # type: ignore[attr-defined]
    try:
        yield waits
    finally:
        for module, original in zip(modules, saved, strict=True):
            module.asyncio = original  # type: ignore[attr-defined]


# -------------------------------------------------------------------------------------- the server


@dataclass
class Answer:
    """The HTTP answer the Touchpoint server gave to one request."""

    status: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


@dataclass
class SlackEnv:
    db: Database
    fake: FakeSlack
    server: TestServer
    http: aiohttp.ClientSession
    bot: Bot
    adapter: SlackAdapter
    logs: list[MutableMapping[str, Any]]
    retry_waits: list[float]
    answers: list[Answer] = field(default_factory=list)
    # Crashes a test provokes on purpose; any other logged crash fails the test.
    expected_crashes: int = 0

    async def post(self, request: SignedRequest, path: str = SLACK_PATH) -> Answer:
        async with self.http.post(
            self.server.make_url(path), data=request.body.encode(), headers=request.headers
        ) as response:
            answer = Answer(status=response.status, text=await response.text())
        self.answers.append(answer)
        return answer

    async def settle(self) -> None:
        """Wait until every acknowledged request has finished its work (no sleeping)."""
        assert await self.adapter.drain(10.0), "the Slack adapter was still busy after 10 s"

    def logged(self, event: str) -> list[MutableMapping[str, Any]]:
        return [entry for entry in self.logs if entry.get("event") == event]

    def check_payloads(self) -> None:
        """Every Block Kit payload recorded so far passes :mod:`tests.blockkit`."""
        for call in self.fake.calls:
            blockkit.check_api_call(call.method, call.body)
        for answer in self.answers:
            if answer.text.startswith("{"):
                blockkit.check_ack(answer.json())

    def check_no_crash(self) -> None:
        crashes = [entry for entry in self.logs if entry.get("event") in CRASH_EVENTS]
        assert len(crashes) == self.expected_crashes, f"unexpected crashes: {crashes}"


def env_settings(fake: FakeSlack, tmp_path: Path, team_ids: list[str] | None) -> Settings:
    return Settings(
        database_url="sqlite+aiosqlite://",
        config_file=tmp_path / "no-config.toml",
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.api_url,
        slack_team_ids=team_ids or [],
    )


@asynccontextmanager
async def slack_env(
    db: Database,
    tmp_path: Path,
    *,
    team_ids: list[str] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> AsyncIterator[SlackEnv]:
    fake = FakeSlack()
    await fake.start()
    for email, slack_id in DEMO_SLACK_IDS.items():
        fake.add_user(slack_id, email)
    bot = build_bot(db, env_settings(fake, tmp_path, team_ids), clock=clock or (lambda: FIXED_NOW))
    adapter = SlackAdapter(bot, bot.context.settings)
    server = TestServer(build_web_app(slack=adapter), host="127.0.0.1")
    await server.start_server()
    http = aiohttp.ClientSession()
    try:
        async with quick_retry_waits() as waits:
            with capture_logs() as logs:
                env = SlackEnv(
                    db=db,
                    fake=fake,
                    server=server,
                    http=http,
                    bot=bot,
                    adapter=adapter,
                    logs=logs,
                    retry_waits=waits,
                )
                yield env
                await env.settle()
                env.check_payloads()
                env.check_no_crash()
    finally:
        await http.close()
        await server.close()
        await fake.close()


def reply_text(body: dict[str, Any]) -> str:
    """All the words of a message or view (fallback text, block texts, fields, button labels), for
    assertions that should not depend on the exact block layout."""
    parts = [str(body.get("text") or "")]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                parts.append(node["text"])
            for value in node.values():
                if isinstance(value, dict | list):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(body.get("blocks") or [])
    if isinstance(body.get("view"), dict):
        walk(body["view"].get("blocks") or [])
        walk(body["view"].get("title") or {})
    return "\n".join(parts)


def buttons(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The buttons of a message, in order."""
    return [
        element
        for block in body.get("blocks") or []
        if block.get("type") == "actions"
        for element in block.get("elements") or []
        if element.get("type") == "button"
    ]


def button(body: dict[str, Any], label: str) -> dict[str, Any]:
    found = [b for b in buttons(body) if b["text"]["text"] == label]
    assert found, f"no button {label!r} in {[b['text']['text'] for b in buttons(body)]}"
    return found[0]
