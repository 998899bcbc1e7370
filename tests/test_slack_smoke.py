from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import Database
from tests.slack_env import MAYA, SlackEnv, seed_demo, slack_env
from tests.slack_requests import slash_command


@pytest.fixture
async def env(sqlite_db: Database, tmp_path: Path) -> AsyncIterator[SlackEnv]:
    await seed_demo(sqlite_db)
    async with slack_env(sqlite_db, tmp_path) as e:
        yield e


async def test_slash_command_answers_privately(env: SlackEnv) -> None:
    response = await env.post(
        slash_command("account acme rockets", user_id=MAYA, response_url=env.fake.response_url())
    )
    assert response.status == 200
    calls = await env.fake.wait_for("response_url")
    body = calls[0].body
    assert body["response_type"] == "ephemeral"
    assert body["blocks"][0]["type"] == "header"
    assert "Acme Rockets" in body["blocks"][0]["text"]["text"]
