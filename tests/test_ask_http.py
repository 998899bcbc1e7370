"""``ask`` over real HTTP, on one Touchpoint serving Slack and Teams (tests/loop_env.py: the seeded team,
fake Slack and Bot Connector servers, the fixed clock): a signed ``/cs ask`` slash command answered
privately through its response_url, a question typed in the bot's Slack DM without the command word, and
the same in a Teams personal chat; in a channel, the same words are no command. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from storage.db import Database
from tests.factories import MAYA, Team
from tests.loop_env import MAYA_SLACK, LoopEnv, loop_env
from tests.loop_env import team as team  # the fixture
from tests.slack_env import reply_text
from tests.slack_requests import CHANNEL_ID, app_mention, direct_message, slash_command
from tests.teams_activities import CHANNEL_ID as TEAMS_CHANNEL
from tests.teams_activities import channel_message, personal_message
from tests.teams_team import MAYA_T, link, texts_of

QUESTION = "which of my accounts are red?"
READ_AS = "Read as: Band red · owner you"
DM = "D0123DM"


def slack_posts(env: LoopEnv, channel: str) -> list[str]:
    return [reply_text(c.body) for c in env.slack.of("chat.postMessage") if c.body.get("channel") == channel]


async def test_slack_slash_command_is_answered_privately_through_the_response_url(
    db: Database, tmp_path: Path, team: Team
) -> None:
    async with loop_env(db, tmp_path) as env:
        await env.to_slack(
            slash_command(f"ask {QUESTION}", user_id=MAYA_SLACK, response_url=env.slack.response_url("q"))
        )
        [answer] = env.slack.of("response_url")
        assert answer.body["response_type"] == "ephemeral"
        words = reply_text(answer.body)
        assert "1 account, $438k ARR" in words and "Acme Rockets" in words
        assert READ_AS in words
        assert "Grünfeld" not in words  # red too, but Leo's
        assert not env.slack.of("chat.postMessage")  # nothing posted for the channel to see

        await env.to_slack(
            slash_command(
                f"ask {QUESTION} share", user_id=MAYA_SLACK, response_url=env.slack.response_url("s")
            )
        )
        shared = env.slack.of("response_url")[-1]
        assert shared.body["response_type"] == "in_channel"
        assert "Acme Rockets" in reply_text(shared.body)


async def test_slack_dm_question_without_the_command_word_is_answered_there(
    db: Database, tmp_path: Path, team: Team
) -> None:
    async with loop_env(db, tmp_path) as env:
        await env.to_slack(direct_message(QUESTION, user_id=MAYA_SLACK, channel_id=DM))
        [answer] = slack_posts(env, DM)
        assert "Acme Rockets" in answer and READ_AS in answer
        assert "Grünfeld" not in answer

        # The same words in a channel, mentioning the bot: not one to one, so not a question for ask.
        await env.to_slack(app_mention(QUESTION, user_id=MAYA_SLACK, channel_id=CHANNEL_ID))
        [in_channel] = slack_posts(env, CHANNEL_ID)
        assert "I don't know the command `which`" in in_channel
        assert "Acme Rockets" not in in_channel and "Read as" not in in_channel


async def test_teams_personal_chat_question_is_answered_with_a_card(
    db: Database, tmp_path: Path, team: Team
) -> None:
    await link(db, MAYA, MAYA_T)
    async with loop_env(db, tmp_path) as env:
        await env.to_teams(personal_message(QUESTION, MAYA_T, service_url=env.teams.service_url))
        [sent] = await env.teams.wait_for("send")
        assert sent.conversation_id == MAYA_T.personal_chat
        shown = texts_of(sent.card)
        assert "1 account, $438k ARR" in shown and "Acme Rockets" in shown
        assert READ_AS in shown
        assert "Grünfeld" not in shown

        # In a channel the same words, with the bot mentioned, get the usual help.
        await env.to_teams(channel_message(QUESTION, MAYA_T, service_url=env.teams.service_url))
        [reply] = await env.teams.wait_for("reply")
        assert reply.conversation_id.startswith(TEAMS_CHANNEL)
        assert "I don't know the command which." in texts_of(reply.card)  # code shown plain
        assert "Acme Rockets" not in texts_of(reply.card)
