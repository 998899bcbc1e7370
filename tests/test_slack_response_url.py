"""Answers through response_url share one connection pool, closed when the server shuts down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import adapters.slack.app as slack_app
from adapters.web import build_web_app, drain_slack
from tests.slack_env import MAYA, SlackEnv, build_demo_file, demo_copy, slack_env
from tests.slack_requests import slash_command


@pytest.fixture(scope="module")
def demo_file(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_file(sqlite_template, tmp_path_factory.mktemp("slack-demo"))


@pytest.fixture
async def env(demo_file: Path, tmp_path: Path) -> AsyncIterator[SlackEnv]:
    async with demo_copy(demo_file, tmp_path) as db, slack_env(db, tmp_path) as e:
        yield e


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[aiohttp.ClientSession | None]:
    """The session each response_url answer was sent with."""
    used: list[aiohttp.ClientSession | None] = []

    class Recording(slack_app.AsyncWebhookClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            used.append(self.session)

    monkeypatch.setattr(slack_app, "AsyncWebhookClient", Recording)
    return used


async def answer(env: SlackEnv, text: str, count: int) -> None:
    ack = await env.post(slash_command(text, user_id=MAYA, response_url=env.fake.response_url()))
    assert ack.status == 200
    await env.fake.wait_for("response_url", count)
    await env.settle()


async def test_answers_share_one_session_until_shutdown(
    env: SlackEnv, sessions: list[aiohttp.ClientSession | None]
) -> None:
    await answer(env, "my", 1)
    await answer(env, "risk", 2)
    assert len(sessions) == 2
    first, second = sessions
    assert first is not None and first is second and not first.closed

    app: web.Application = build_web_app(slack=env.adapter)
    await drain_slack(env.adapter)(app)  # what the server's cleanup runs on shutdown
    assert first.closed

    # An answer still due after that (a straggler) gets a fresh pool rather than failing.
    await answer(env, "renewals", 3)
    assert sessions[2] is not None and sessions[2] is not first and not sessions[2].closed
    await env.adapter.close()
    assert sessions[2].closed
