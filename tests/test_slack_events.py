"""Events API over real HTTP: App Home, mentions, direct messages, URL verification and retries."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import InboundEvent
from tests.slack_env import (
    MAYA,
    SlackEnv,
    build_demo_file,
    button,
    demo_copy,
    reply_text,
    seed_demo,
    slack_env,
)
from tests.slack_requests import (
    BOT_USER_ID,
    app_mention,
    click,
    direct_message,
    event,
    home_opened,
    url_verification,
)


@pytest.fixture(scope="module")
def demo_file(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_file(sqlite_template, tmp_path_factory.mktemp("slack-demo"))


@pytest.fixture
async def env(demo_file: Path, tmp_path: Path) -> AsyncIterator[SlackEnv]:
    async with demo_copy(demo_file, tmp_path) as db, slack_env(db, tmp_path) as e:
        yield e


async def test_url_verification_echoes_the_challenge(env: SlackEnv) -> None:
    answer = await env.post(url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"))
    assert answer.status == 200
    assert answer.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


async def test_app_home_opened_publishes_the_home_view(env: SlackEnv) -> None:
    answer = await env.post(home_opened(user_id=MAYA))
    assert answer.status == 200
    call = (await env.fake.wait_for("views.publish"))[0]
    assert call.body["user_id"] == MAYA
    view = call.body["view"]
    assert view["type"] == "home"
    assert "Touchpoint for Maya Chen" in reply_text(call.body)
    assert "Harborview Analytics" in reply_text(call.body)


async def test_messages_tab_opened_publishes_nothing(env: SlackEnv) -> None:
    await env.post(home_opened(user_id=MAYA, tab="messages"))
    await env.settle()
    assert env.fake.of("views.publish") == []


async def test_mention_answers_in_the_thread(env: SlackEnv) -> None:
    answer = await env.post(app_mention("account acme rockets", user_id=MAYA, ts="1715000300.000200"))
    assert (answer.status, answer.text) == (200, "")
    call = (await env.fake.wait_for("chat.postMessage"))[0]
    assert call.body["channel"] == "C0123CSM"
    assert call.body["thread_ts"] == "1715000300.000200"
    assert "Acme Rockets" in reply_text(call.body)
    assert "*Health " in reply_text(call.body)


async def test_mention_inside_a_thread_answers_in_that_thread(env: SlackEnv) -> None:
    request = event(
        {
            "type": "app_mention",
            "user": MAYA,
            "text": f"<@{BOT_USER_ID}> renewals 30",
            "ts": "1715000900.000900",
            "thread_ts": "1715000100.000100",
            "channel": "C0123CSM",
            "event_ts": "1715000900.000900",
        }
    )
    await env.post(request)
    call = (await env.fake.wait_for("chat.postMessage"))[0]
    assert call.body["thread_ts"] == "1715000100.000100"
    assert "Renewals in the next 30 days" in reply_text(call.body)


async def test_mention_asking_for_a_form_posts_a_button_that_opens_it(env: SlackEnv) -> None:
    """A mention has no trigger_id to open a modal with: the bot answers with a button instead."""
    await env.post(app_mention("log acme rockets", user_id=MAYA))
    posted = (await env.fake.wait_for("chat.postMessage"))[0].body
    opener = button(posted, "Log follow-up")
    assert json.loads(opener["value"]) == {"account_id": 1}
    await env.post(click(opener, user_id=MAYA, response_url=env.fake.response_url(), trigger_id="T-5"))
    view = (await env.fake.wait_for("views.open"))[0].body
    assert view["trigger_id"] == "T-5"
    assert view["view"]["title"]["text"] == "Log follow-up"


async def test_direct_message_is_answered_in_the_conversation(env: SlackEnv) -> None:
    await env.post(direct_message("my red", user_id=MAYA, channel_id="D0123DM"))
    call = (await env.fake.wait_for("chat.postMessage"))[0]
    assert call.body["channel"] == "D0123DM"
    assert "Your red accounts" in reply_text(call.body)
    # A DM is a conversation: the answer follows the question, not in a thread under it.
    assert "thread_ts" not in call.body


async def test_direct_message_in_a_thread_stays_in_the_thread(env: SlackEnv) -> None:
    request = event(
        {
            "type": "message",
            "channel_type": "im",
            "user": MAYA,
            "text": "help",
            "ts": "1715000700.000700",
            "thread_ts": "1715000600.000600",
            "channel": "D0123DM",
            "event_ts": "1715000700.000700",
        }
    )
    await env.post(request)
    call = (await env.fake.wait_for("chat.postMessage"))[0]
    assert call.body["thread_ts"] == "1715000600.000600"


@pytest.mark.parametrize(
    "inner",
    [
        # the bot's own message (Bolt drops these before any listener)
        {"type": "message", "channel_type": "im", "user": BOT_USER_ID, "bot_id": "BBOT0001", "text": "hi"},
        # an edit
        {"type": "message", "channel_type": "im", "subtype": "message_changed", "text": "my"},
        # a channel message the bot can see (only DMs are answered without a mention)
        {"type": "message", "channel_type": "channel", "user": MAYA, "text": "my"},
    ],
)
async def test_messages_that_are_not_questions_get_no_answer(env: SlackEnv, inner: dict[str, str]) -> None:
    inner = {"channel": "D0123DM", "ts": "1715000800.000800", "event_ts": "1715000800.000800", **inner}
    answer = await env.post(event(inner))
    assert answer.status == 200
    await env.settle()
    assert env.fake.of("chat.postMessage") == []


async def test_retried_event_is_handled_once(env: SlackEnv) -> None:
    first = await env.post(app_mention("my", user_id=MAYA, event_id="EvRETRY1"))
    await env.fake.wait_for("chat.postMessage")
    retried = await env.post(app_mention("my", user_id=MAYA, event_id="EvRETRY1", retry=1))
    assert first.status == retried.status == 200
    await env.settle()
    assert len(env.fake.of("chat.postMessage")) == 1
    assert [e["retry"] for e in env.logged("slack_event_repeat_ignored")] == ["1"]
    # A different event is answered.
    await env.post(app_mention("my", user_id=MAYA, event_id="EvOTHER2"))
    await env.fake.wait_for("chat.postMessage", 2)


async def test_retry_before_the_first_delivery_finished_is_still_dropped(
    db: Database, tmp_path: Path
) -> None:
    """The de-duplication lives in the database (any replica may get the retry), on each backend."""
    await seed_demo(db)
    async with slack_env(db, tmp_path) as env:
        request = home_opened(user_id=MAYA, event_id="EvHOME1")
        retried = home_opened(user_id=MAYA, event_id="EvHOME1", retry=2)
        await env.post(request)
        await env.post(retried)
        await env.settle()
        assert len(env.fake.of("views.publish")) == 1
        async with db.sessions() as session:
            stored = await session.execute(select(func.count()).select_from(InboundEvent))
            assert stored.scalar_one() == 1
