"""Who gets in: request signatures, allowed workspaces, malformed bodies, and Slack users to people."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.slack.app import NOT_ALLOWED_WORKSPACE
from bot.errors import NotRegistered
from bot.settings import Settings
from storage.db import Database
from storage.demo import DEMO_CSM_EMAIL
from storage.models import Person
from tests.slack_env import (
    MAYA,
    SlackEnv,
    build_demo_file,
    demo_copy,
    reply_text,
    seed_demo,
    slack_env,
)
from tests.slack_requests import (
    SIGNING_SECRET,
    app_mention,
    block_action,
    home_opened,
    raw,
    slash_command,
    url_verification,
)

OTHER_TEAM = "T0OTHER99"
NOT_REGISTERED = NotRegistered().message


@pytest.fixture(scope="module")
def demo_file(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_file(sqlite_template, tmp_path_factory.mktemp("slack-demo"))


@pytest.fixture
async def env(demo_file: Path, tmp_path: Path) -> AsyncIterator[SlackEnv]:
    async with demo_copy(demo_file, tmp_path) as db, slack_env(db, tmp_path) as e:
        yield e


@pytest.fixture
async def allow_listed(demo_file: Path, tmp_path: Path) -> AsyncIterator[SlackEnv]:
    """Touchpoint installed for one workspace only (TOUCHPOINT_SLACK_TEAM_IDS=T0001ACME)."""
    async with demo_copy(demo_file, tmp_path) as db, slack_env(db, tmp_path, team_ids=["T0001ACME"]) as e:
        yield e


def api_calls(env: SlackEnv) -> list[str]:
    """Calls that did something (Bolt's own auth.test aside)."""
    return [c.method for c in env.fake.calls if c.method != "auth.test"]


# ------------------------------------------------------------------------------------ signatures


async def test_forged_signature_is_refused(env: SlackEnv) -> None:
    request = slash_command("my", user_id=MAYA, response_url=env.fake.response_url(), secret="not-the-secret")
    answer = await env.post(request)
    assert answer.status == 401
    await env.settle()
    assert api_calls(env) == []


async def test_body_changed_after_signing_is_refused(env: SlackEnv) -> None:
    request = slash_command("my", user_id=MAYA, response_url=env.fake.response_url())
    tampered = type(request)(request.body.replace("text=my", "text=risk"), request.headers)
    assert (await env.post(tampered)).status == 401


async def test_stale_timestamp_is_refused(env: SlackEnv) -> None:
    six_minutes_ago = int(time.time()) - 6 * 60
    request = slash_command(
        "my", user_id=MAYA, response_url=env.fake.response_url(), timestamp=six_minutes_ago
    )
    answer = await env.post(request)
    assert answer.status == 401
    await env.settle()
    assert api_calls(env) == []


async def test_unsigned_request_is_refused(env: SlackEnv) -> None:
    request = app_mention("my", user_id=MAYA)
    unsigned = type(request)(request.body, {"Content-Type": "application/json"})
    assert (await env.post(unsigned)).status == 401
    assert (await env.post(url_verification("x", secret="wrong"))).status == 401
    await env.settle()
    assert api_calls(env) == []


async def test_a_timestamp_four_minutes_old_is_still_fine(env: SlackEnv) -> None:
    request = slash_command(
        "help", user_id=MAYA, response_url=env.fake.response_url(), timestamp=int(time.time()) - 4 * 60
    )
    assert (await env.post(request)).status == 200
    await env.fake.wait_for("response_url")


# -------------------------------------------------------------------------------------- workspaces


async def test_other_workspace_gets_no_data_from_a_command(allow_listed: SlackEnv) -> None:
    env = allow_listed
    request = slash_command(
        "account acme rockets", user_id=MAYA, team_id=OTHER_TEAM, response_url=env.fake.response_url()
    )
    answer = await env.post(request)
    assert (answer.status, answer.text) == (200, NOT_ALLOWED_WORKSPACE)
    await env.settle()
    assert api_calls(env) == []  # no response_url post, no views, not even a user look-up
    assert env.logged("slack_workspace_refused")[0]["team"] == OTHER_TEAM


async def test_other_workspace_gets_nothing_from_log_buttons_or_events(allow_listed: SlackEnv) -> None:
    env = allow_listed
    url = env.fake.response_url()
    for request in (
        slash_command("log acme rockets", user_id=MAYA, team_id=OTHER_TEAM, response_url=url),
        block_action("account.open#1", {"account_id": 1}, user_id=MAYA, team_id=OTHER_TEAM, response_url=url),
        app_mention("my", user_id=MAYA, team_id=OTHER_TEAM),
        home_opened(user_id=MAYA, team_id=OTHER_TEAM),
    ):
        assert (await env.post(request)).status == 200
    await env.settle()
    assert api_calls(env) == []


def test_allowed_workspaces_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOUCHPOINT_SLACK_TEAM_IDS", "T0001ACME, T0002BETA,")
    assert Settings(_env_file=None).slack_team_ids == ["T0001ACME", "T0002BETA"]


async def test_allowed_workspace_is_answered(allow_listed: SlackEnv) -> None:
    env = allow_listed
    await env.post(slash_command("my", user_id=MAYA, response_url=env.fake.response_url()))
    body = (await env.fake.wait_for("response_url"))[0].body
    assert "Your accounts" in reply_text(body)


# ------------------------------------------------------------------------------- malformed bodies


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("payload=not-json", "application/x-www-form-urlencoded"),
        ("payload=%7B%22type%22%3A", "application/x-www-form-urlencoded"),  # cut-off JSON
        ("payload=%5B1%2C2%5D", "application/x-www-form-urlencoded"),  # JSON, but a list
        ("payload=null", "application/x-www-form-urlencoded"),
        ("payload=%22text%22", "application/x-www-form-urlencoded"),
        ('{"type": "event_callback", "event": ', "application/json"),
        ("[1, 2, 3]", "application/json"),
        ("42", "application/json"),
    ],
)
async def test_malformed_body_is_a_400_not_a_crash(env: SlackEnv, body: str, content_type: str) -> None:
    answer = await env.post(raw(body, content_type=content_type))
    assert answer.status == 400
    await env.settle()
    assert api_calls(env) == []
    # The server is still fine afterwards.
    await env.post(slash_command("help", user_id=MAYA, response_url=env.fake.response_url()))
    await env.fake.wait_for("response_url")


async def test_malformed_body_with_a_bad_signature_is_refused_too(env: SlackEnv) -> None:
    answer = await env.post(raw("payload=not-json", secret="wrong"))
    assert answer.status in (400, 401)
    await env.settle()
    assert api_calls(env) == []


async def test_unknown_payload_type_is_answered_without_a_crash(env: SlackEnv) -> None:
    answer = await env.post(raw('payload={"type":"something_new","team":{"id":"T0001ACME"}}'))
    assert answer.status == 404  # Bolt: no listener for it
    await env.settle()
    assert api_calls(env) == []


# -------------------------------------------------------------------------------------- identity


async def test_unknown_user_matching_a_persons_email_is_linked_once(db: Database, tmp_path: Path) -> None:
    """users.info gives the email; the Slack id is stored on the person; the next request needs no
    look-up. On each database backend."""
    await seed_demo(db)
    async with db.transaction() as session:
        maya = (await session.execute(select(Person).where(Person.email == DEMO_CSM_EMAIL))).scalar_one()
        maya.slack_user_id = None
    async with slack_env(db, tmp_path) as env:
        env.fake.add_user("UNEWMAYA1", "Maya.Chen@Example.com", name="maya")
        await env.post(slash_command("my red", user_id="UNEWMAYA1", response_url=env.fake.response_url()))
        body = (await env.fake.wait_for("response_url"))[0].body
        assert "Your red accounts" in reply_text(body)
        assert [c.body["user"] for c in env.fake.of("users.info")] == ["UNEWMAYA1"]
        async with db.sessions() as session:
            linked = await session.execute(select(Person.slack_user_id).where(Person.email == DEMO_CSM_EMAIL))
            assert linked.scalar_one() == "UNEWMAYA1"

        await env.post(slash_command("my", user_id="UNEWMAYA1", response_url=env.fake.response_url()))
        await env.fake.wait_for("response_url", 2)
        await env.settle()
        assert len(env.fake.of("users.info")) == 1


async def test_unknown_user_without_a_match_is_told_they_are_not_registered(env: SlackEnv) -> None:
    env.fake.add_user("USTRANGER", "someone@elsewhere.example")
    await env.post(
        slash_command("account acme rockets", user_id="USTRANGER", response_url=env.fake.response_url())
    )
    body = (await env.fake.wait_for("response_url"))[0].body
    assert reply_text(body).startswith(NOT_REGISTERED)
    assert "Acme Rockets" not in reply_text(body)
    # Remembered for a while: clicking around makes no more look-ups.
    url = env.fake.response_url()
    await env.post(block_action("account.open#1", {"account_id": 1}, user_id="USTRANGER", response_url=url))
    await env.post(slash_command("my", user_id="USTRANGER", response_url=url))
    answers = await env.fake.wait_for("response_url", 3)
    assert all(reply_text(a.body).startswith(NOT_REGISTERED) for a in answers)
    await env.settle()
    assert len(env.fake.of("users.info")) == 1


async def test_user_slack_cannot_describe_is_not_registered(env: SlackEnv) -> None:
    """users.info says user_not_found (or has no email): no data, and no crash."""
    await env.post(slash_command("my", user_id="UGHOST001", response_url=env.fake.response_url()))
    body = (await env.fake.wait_for("response_url"))[0].body
    assert reply_text(body).startswith(NOT_REGISTERED)


async def test_unregistered_mention_and_home_get_no_data(env: SlackEnv) -> None:
    env.fake.add_user("USTRANGER", None)
    await env.post(app_mention("my", user_id="USTRANGER"))
    await env.post(home_opened(user_id="USTRANGER"))
    posted = (await env.fake.wait_for("chat.postMessage"))[0].body
    published = (await env.fake.wait_for("views.publish"))[0].body
    assert reply_text(posted).startswith(NOT_REGISTERED)
    assert NOT_REGISTERED in reply_text(published)
    assert "Harborview" not in reply_text(posted) + reply_text(published)


async def test_failed_look_up_is_not_remembered_as_a_stranger(env: SlackEnv) -> None:
    """Slack failing users.info (past the retries) must not lock a registered person out for minutes."""
    async with env.db.transaction() as session:
        maya = (await session.execute(select(Person).where(Person.email == DEMO_CSM_EMAIL))).scalar_one()
        maya.slack_user_id = None
    env.fake.add_user("UNEWMAYA1", DEMO_CSM_EMAIL)
    env.fake.fail_next("users.info", 500, times=4)  # the first try and its 3 retries
    await env.post(slash_command("my", user_id="UNEWMAYA1", response_url=env.fake.response_url()))
    first = (await env.fake.wait_for("response_url"))[0].body
    assert reply_text(first).startswith(NOT_REGISTERED)

    await env.post(slash_command("my", user_id="UNEWMAYA1", response_url=env.fake.response_url()))
    second = (await env.fake.wait_for("response_url", 2))[1].body
    assert "Your accounts" in reply_text(second)
    assert SIGNING_SECRET not in str(env.logs)
