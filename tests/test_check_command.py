"""``touchpoint check`` through the real command: a table of every check with its fix, exit status 0
only when nothing is wrong. Slack is the fake Web API (``auth.test``), Microsoft a fake sign-in endpoint;
both run in this test's event loop, so the command runs as an asynchronous subprocess."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.microsoft_login import APP_ID, SECRET, FakeMicrosoftLogin
from tests.fakes.slack import FakeSlack
from tests.test_cli_errors import clean_env
from tests.test_console import touchpoint_executable


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeSlack, FakeMicrosoftLogin]]:
    slack, login = FakeSlack(), FakeMicrosoftLogin()
    await slack.start()
    await login.start()
    yield slack, login
    await slack.close()
    await login.close()


def env_for(
    tmp_path: Path, sqlite_template: Path, slack: FakeSlack, login: FakeMicrosoftLogin
) -> dict[str, str]:
    shutil.copyfile(sqlite_template, tmp_path / "touchpoint.db")  # migrated
    env = clean_env(tmp_path)
    env.update(
        COLUMNS="250",
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="secret",
        TOUCHPOINT_SLACK_API_URL=slack.api_url,
        MicrosoftAppId=APP_ID,
        MicrosoftAppPassword=SECRET,
        TOUCHPOINT_TEAMS_LOGIN_URL=login.url,
    )
    return env


async def check(tmp_path: Path, env: dict[str, str]) -> tuple[int, list[str], str]:
    process = await asyncio.create_subprocess_exec(
        touchpoint_executable(),
        "check",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        out, err = await process.communicate()
    rows = [" ".join(line.replace("│", " ").split()) for line in out.decode().splitlines()]
    return process.returncode or 0, rows, err.decode()


async def test_everything_in_order(
    tmp_path: Path, sqlite_template: Path, fakes: tuple[FakeSlack, FakeMicrosoftLogin]
) -> None:
    slack, login = fakes
    code, rows, err = await check(tmp_path, env_for(tmp_path, sqlite_template, slack, login))
    assert (code, err) == (0, "")
    assert rows[2:] == [
        "settings ok read from the environment",
        f"config file ok {tmp_path / 'touchpoint.toml'} not found: built-in defaults",
        f"database ok sqlite at {tmp_path / 'touchpoint.db'}",
        "migrations ok at the latest revision",
        "slack ok workspace Acme CS (T0001ACME) as bot user UBOT0001; HTTP at /slack/events",
        f"teams ok app {APP_ID} (MultiTenant) gets a Bot Framework token",
        "Everything touchpoint serve needs is in order.",
    ]
    assert len(slack.of("auth.test")) == 1 and len(login.requests) == 1


async def test_a_refused_slack_token_and_a_config_typo(
    tmp_path: Path, sqlite_template: Path, fakes: tuple[FakeSlack, FakeMicrosoftLogin]
) -> None:
    slack, login = fakes
    slack.fail_next("auth.test", 200, error="invalid_auth")
    (tmp_path / "touchpoint.toml").write_text("[feedback]\ntheme_dayz = 7\n", encoding="utf-8")
    code, rows, err = await check(tmp_path, env_for(tmp_path, sqlite_template, slack, login))
    assert (code, err) == (1, "")
    assert (
        "slack problem SLACK_BOT_TOKEN: Slack refused the token (invalid_auth); copy the Bot User OAuth "
        "Token (xoxb-...) from the Slack app's Install App page"
    ) in rows
    assert any(
        row.startswith("config file problem ") and "feedback.theme_dayz: unknown key" in row for row in rows
    )
    assert f"teams ok app {APP_ID} (MultiTenant) gets a Bot Framework token" in rows
    assert rows[-1] == "2 problems: fix, then run touchpoint check again."


async def test_bad_settings_are_listed_and_the_rest_skipped(
    tmp_path: Path, sqlite_template: Path, fakes: tuple[FakeSlack, FakeMicrosoftLogin]
) -> None:
    env = env_for(tmp_path, sqlite_template, *fakes)
    env.update(TOUCHPOINT_LOG_LEVEL="LOUD", MicrosoftAppType="Bad")
    code, rows, err = await check(tmp_path, env)
    assert (code, err) == (1, "")
    assert (
        "settings problem TOUCHPOINT_LOG_LEVEL: 'LOUD' is not a log level; write DEBUG, INFO, WARNING or "
        "ERROR" in rows
    )
    assert any(row.startswith("settings problem MicrosoftAppType: 'Bad' is not an app type") for row in rows)
    assert "slack skipped fix the settings first" in rows
    assert fakes[0].calls == [] and fakes[1].requests == []
