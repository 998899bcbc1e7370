"""Touchpoint in Slack's assistant view, over HTTP with signed requests against the fake Slack Web API:
opening the view greets the person and suggests questions from their own portfolio, a question typed
there is answered in its thread by ``ask``, an unregistered person is told so and sees no data, and a
change of the channel in view is kept for the thread without a word. The clock is the environment's
fixed one; the fake stamps its posts with it too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from structlog.testing import capture_logs

from adapters.slack.assistant import STATUS, greeting
from bot.errors import NotRegistered
from bot.types import Actor, Platform
from handlers.ask import GENERIC, SUGGESTIONS
from storage.db import Database
from tests.factories import NOW, Team
from tests.fakes.slack import Call
from tests.loop_env import MAYA_SLACK, LoopEnv, loop_env
from tests.loop_env import team as team  # the fixture
from tests.slack_env import CRASH_EVENTS, reply_text
from tests.slack_requests import CHANNEL_ID, TEAM_ID, event

DM = "D0ASSIST01"  # the app's DM with the person, where the assistant view's threads live
THREAD = f"{NOW.timestamp() - 60:.6f}"  # the thread Slack opened a minute before the fixed now
STRANGER = "USTRANGE1"  # a Slack user no Touchpoint person matches
OTHER_CHANNEL = "C0999OPS"


def assistant_thread(kind: str, *, user: str, channel_in_view: str = CHANNEL_ID) -> dict[str, Any]:
    """``assistant_thread_started`` or ``assistant_thread_context_changed``, as Slack sends them."""
    return {
        "type": kind,
        "assistant_thread": {
            "user_id": user,
            "context": {"channel_id": channel_in_view, "team_id": TEAM_ID, "enterprise_id": None},
            "channel_id": DM,
            "thread_ts": THREAD,
        },
        "event_ts": f"{NOW.timestamp():.6f}",
    }


def thread_message(text: str, *, user: str, ts: str) -> dict[str, Any]:
    """A person's message in the assistant view's thread: a DM message with the thread's ``thread_ts``."""
    return {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "thread_ts": THREAD,
        "parent_user_id": user,
        "channel": DM,
        "event_ts": ts,
        "channel_type": "im",
        "assistant_thread": {"action_token": "10647138185092.960436384805.afce3599"},
    }


async def open_view(env: LoopEnv, user: str = MAYA_SLACK) -> None:
    env.slack.clock = NOW.timestamp  # the fake's message timestamps follow the fixed clock
    await env.to_slack(event(assistant_thread("assistant_thread_started", user=user)))


async def ask(env: LoopEnv, text: str, *, user: str = MAYA_SLACK) -> None:
    """``text`` typed in the thread; each message gets its own ``ts``, after the thread's and before now."""
    ts = f"{NOW.timestamp() - 30 + len(env.slack.of('chat.postMessage')):.6f}"
    await env.to_slack(event(thread_message(text, user=user, ts=ts)))


def in_thread(env: LoopEnv) -> list[Call]:
    return [
        call
        for call in env.slack.of("chat.postMessage")
        if call.body.get("channel") == DM and call.body.get("thread_ts") == THREAD
    ]


def methods(env: LoopEnv) -> list[str]:
    return [call.method for call in env.slack.calls if call.method.startswith(("assistant.", "chat."))]


async def test_opening_the_view_greets_and_suggests_questions_from_the_own_portfolio(
    db: Database, tmp_path: Path, team: Team
) -> None:
    async with loop_env(db, tmp_path) as env:
        await open_view(env)

        [hello] = in_thread(env)
        assert "Hi Maya!" in reply_text(hello.body)
        assert hello.body["blocks"], "the greeting is Block Kit, checked like every message"
        # Bolt's say() keeps the channel in view on the thread's first reply.
        assert hello.body["metadata"] == {
            "event_type": "assistant_thread_context",
            "event_payload": {"channel_id": CHANNEL_ID, "team_id": TEAM_ID, "enterprise_id": None},
        }
        [prompts] = env.slack.of("assistant.threads.setSuggestedPrompts")
        assert (prompts.body["channel_id"], prompts.body["thread_ts"]) == (DM, THREAD)
        offered = {p["title"]: p["message"] for p in prompts.body["prompts"]}
        assert 1 <= len(offered) <= 4
        # Maya owns Acme Rockets, red today: her own questions, not the general ones.
        assert offered["My red accounts"] == dict(SUGGESTIONS)["My red accounts"]
        assert not set(offered.values()) & {question for _title, question in GENERIC}
        assert methods(env) == ["chat.postMessage", "assistant.threads.setSuggestedPrompts"]


async def test_a_question_in_the_thread_is_answered_there_by_ask(
    db: Database, tmp_path: Path, team: Team
) -> None:
    async with loop_env(db, tmp_path) as env:
        await open_view(env)
        await ask(env, "which of my accounts are red?")

        [status] = env.slack.of("assistant.threads.setStatus")
        assert (status.body["channel_id"], status.body["thread_ts"], status.body["status"]) == (
            DM,
            THREAD,
            STATUS,
        )
        [title] = env.slack.of("assistant.threads.setTitle")
        assert (title.body["channel_id"], title.body["thread_ts"]) == (DM, THREAD)
        assert title.body["title"] == "which of my accounts are red?"
        _hello, answer = in_thread(env)
        words = reply_text(answer.body)
        assert "Acme Rockets" in words
        assert "Read as:" in words  # ask says how it read the question
        assert "Grünfeld" not in words  # red too, but Leo's
        # The status first; the answer, which clears it, last.
        assert methods(env)[2:] == [
            "assistant.threads.setStatus",
            "assistant.threads.setTitle",
            "chat.postMessage",
        ]

        # A second question in the same thread keeps the thread's title.
        await ask(env, "how much ARR is red?")
        assert len(env.slack.of("assistant.threads.setTitle")) == 1
        assert len(env.slack.of("assistant.threads.setStatus")) == 2
        assert len(in_thread(env)) == 3


async def test_a_command_typed_in_the_view_runs_and_anything_else_is_a_question(
    db: Database, tmp_path: Path, team: Team
) -> None:
    """Bolt hands every reply in a thread of the DM to the assistant: a command typed there still runs
    as the command, and words that are no command are a question, even without a question word."""
    async with loop_env(db, tmp_path) as env:
        await open_view(env)
        await ask(env, "help")
        assert "Here is what I can do" in reply_text(in_thread(env)[-1].body)

        await ask(env, "account acme rockets")
        card = reply_text(in_thread(env)[-1].body)
        assert "Acme Rockets" in card and "Read as:" not in card

        await ask(env, "red accounts of mine renewing next quarter")
        answer = reply_text(in_thread(env)[-1].body)
        assert "Read as:" in answer and "Acme Rockets" in answer
        assert "I don't know the command" not in answer


async def test_someone_not_registered_is_told_so_and_sees_no_data(
    db: Database, tmp_path: Path, team: Team
) -> None:
    async with loop_env(db, tmp_path) as env:
        await open_view(env, user=STRANGER)
        [hello] = in_thread(env)
        assert NotRegistered().message in reply_text(hello.body)
        assert not env.slack.of("assistant.threads.setSuggestedPrompts")

        await ask(env, "which of my accounts are red?", user=STRANGER)
        _hello, answer = in_thread(env)
        words = reply_text(answer.body)
        assert NotRegistered().message in words
        assert "Acme" not in words and "ARR" not in words
        assert not env.slack.of("assistant.threads.setTitle")


async def test_a_change_of_channel_in_view_is_kept_for_the_thread_and_nothing_is_said(
    db: Database, tmp_path: Path, team: Team
) -> None:
    async with loop_env(db, tmp_path) as env:
        await open_view(env)
        posted = len(env.slack.of("chat.postMessage"))

        changed = assistant_thread(
            "assistant_thread_context_changed", user=MAYA_SLACK, channel_in_view=OTHER_CHANNEL
        )
        await env.to_slack(event(changed))

        assert len(env.slack.of("chat.postMessage")) == posted
        assert len(env.slack.of("assistant.threads.setSuggestedPrompts")) == 1  # none offered again
        # Bolt's default store keeps it on the thread's first reply (the greeting), in Slack itself.
        [kept] = env.slack.of("chat.update")
        assert kept.body["metadata"]["event_payload"]["channel_id"] == OTHER_CHANNEL
        [greeting_post] = env.slack.posted(DM)
        assert greeting_post["metadata"]["event_payload"]["channel_id"] == OTHER_CHANNEL

        # The next answer carries the channel now in view.
        await ask(env, "which of my accounts are red?")
        answer = in_thread(env)[-1]
        assert answer.body["metadata"]["event_payload"]["channel_id"] == OTHER_CHANNEL


async def test_a_slack_failure_is_logged_and_the_question_still_answered(
    db: Database, tmp_path: Path, team: Team
) -> None:
    async with loop_env(db, tmp_path) as env:
        await open_view(env)
        env.slack.fail_next("assistant.threads.setStatus", 200, error="channel_not_found")
        env.slack.fail_next("assistant.threads.setTitle", 200, error="invalid_thread_ts")
        with capture_logs() as logs:
            await ask(env, "which of my accounts are red?")

        assert "Acme Rockets" in reply_text(in_thread(env)[-1].body)
        failed = [entry for entry in logs if entry.get("event") == "slack_assistant_call_failed"]
        assert [(f["call"], f["error"]) for f in failed] == [
            ("set_status", "channel_not_found"),
            ("set_title", "invalid_thread_ts"),
        ]
        assert not [entry for entry in logs if entry.get("event") in CRASH_EVENTS]


async def test_when_the_answer_cannot_be_posted_the_status_is_cleared(
    db: Database, tmp_path: Path, team: Team
) -> None:
    async with loop_env(db, tmp_path) as env:
        await open_view(env)
        env.slack.fail_next("chat.postMessage", 200, error="msg_too_long")
        with capture_logs() as logs:
            await ask(env, "which of my accounts are red?")

        assert [c.body["status"] for c in env.slack.of("assistant.threads.setStatus")] == [STATUS, ""]
        assert [e["call"] for e in logs if e.get("event") == "slack_assistant_call_failed"] == ["say"]
        assert not [entry for entry in logs if entry.get("event") in CRASH_EVENTS]


def test_the_greeting_names_the_person_by_first_name_only() -> None:
    maya = Actor(platform=Platform.SLACK, platform_user_id=MAYA_SLACK, person_id=1, name="Maya Chen")
    assert greeting(maya).summary.startswith("Hi Maya! ")
    nobody = Actor(platform=Platform.SLACK, platform_user_id=STRANGER, person_id=1)
    assert greeting(nobody).summary.startswith("Hi! ")
