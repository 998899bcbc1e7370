"""A NUL or a lone surrogate typed into a Slack form: an error under that field, nothing stored, no crash,
and the typed text nowhere in the log (on SQLite and on PostgreSQL, which refuses a NUL outright).

One table: the command or shortcut that opens the form, the values submitted, and the field holding the
bad character. Control characters other than those two are removed from what was typed instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models import FeedbackItem, FollowUp, Outcome, Person
from tests.slack_env import MAYA, SlackEnv, seed_demo, slack_env
from tests.slack_requests import SignedRequest, message_shortcut, modal_state, slash_command, view_submission

NUL = "typed\x00secret"
SURROGATE = "typed\ud800secret"
GOOD_FOLLOW_UP = {"kind": "call", "summary": "Checked in"}
GOOD_OUTCOME = {"outcome": "Go live everywhere", "metric": "manual", "due_date": "2027-03-31"}
GOOD_FEEDBACK = {"account": "acme rockets", "text": "The export is slow", "urgency": "normal"}


def _log(env: SlackEnv) -> SignedRequest:
    return slash_command("log acme rockets", user_id=MAYA, response_url=env.fake.response_url())


def _log_shortcut(env: SlackEnv) -> SignedRequest:
    return message_shortcut(
        "log_followup_shortcut", "hello", user_id=MAYA, response_url=env.fake.response_url()
    )


def _plan_add(env: SlackEnv) -> SignedRequest:
    return slash_command("plan acme rockets add", user_id=MAYA, response_url=env.fake.response_url())


def _feedback_shortcut(env: SlackEnv) -> SignedRequest:
    return message_shortcut(
        "send_feedback_shortcut", "hi", user_id=MAYA, response_url=env.fake.response_url()
    )


# (id, opens the form, values submitted, the field that gets the error)
HOSTILE: list[tuple[str, Callable[[SlackEnv], SignedRequest], dict[str, str], str]] = [
    ("follow-up-summary-nul", _log, {**GOOD_FOLLOW_UP, "summary": NUL}, "summary"),
    ("follow-up-summary-surrogate", _log, {**GOOD_FOLLOW_UP, "summary": SURROGATE}, "summary"),
    ("follow-up-next-step-nul", _log, {**GOOD_FOLLOW_UP, "next_step": NUL}, "next_step"),
    ("follow-up-account-nul", _log_shortcut, {**GOOD_FOLLOW_UP, "account": NUL}, "account"),
    ("outcome-title-nul", _plan_add, {**GOOD_OUTCOME, "outcome": NUL}, "outcome"),
    ("outcome-owner-surrogate", _plan_add, {**GOOD_OUTCOME, "customer_owner": SURROGATE}, "customer_owner"),
    ("feedback-text-nul", _feedback_shortcut, {**GOOD_FEEDBACK, "text": NUL}, "text"),
    ("feedback-tags-surrogate", _feedback_shortcut, {**GOOD_FEEDBACK, "tags": SURROGATE}, "tags"),
    ("feedback-account-nul", _feedback_shortcut, {**GOOD_FEEDBACK, "account": NUL}, "account"),
]  # fmt: skip


@pytest.fixture
async def env(db: Database, tmp_path: Path) -> AsyncIterator[SlackEnv]:
    await seed_demo(db)
    async with slack_env(db, tmp_path) as e:
        yield e


async def _stored(db: Database) -> tuple[int, int, int]:
    async with db.sessions() as session:
        return tuple(  # type: ignore[return-value]
            [
                int(await session.scalar(select(func.count()).select_from(model)) or 0)
                for model in (FollowUp, Outcome, FeedbackItem)
            ]
        )


def _mentions_typed_text(entries: list[Any]) -> list[Any]:
    return [e for e in entries if "secret" in repr(e)]


@pytest.mark.parametrize(("opens", "values", "field"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
async def test_a_character_that_cannot_be_stored_is_an_error_under_its_field(
    env: SlackEnv,
    caplog: pytest.LogCaptureFixture,
    opens: Callable[[SlackEnv], SignedRequest],
    values: dict[str, str],
    field: str,
) -> None:
    await env.post(opens(env))
    view = (await env.fake.wait_for("views.open"))[0].body["view"]
    before = await _stored(env.db)
    answer = await env.post(view_submission(view, modal_state(view, values), user_id=MAYA))
    assert answer.status == 200, answer.text
    body = answer.json()
    assert body["response_action"] == "errors", body
    assert list(body["errors"]) == [field]
    assert "remove it and try again" in body["errors"][field]
    await env.settle()
    assert await _stored(env.db) == before
    assert _mentions_typed_text(env.logs) == []
    assert _mentions_typed_text([r.getMessage() for r in caplog.records]) == []


async def test_other_control_characters_are_removed_from_what_was_typed(env: SlackEnv) -> None:
    await env.post(_log(env))
    view = (await env.fake.wait_for("views.open"))[0].body["view"]
    values = {"kind": "call", "summary": "Bell\x07 and \x1b[31mred\x1b[0m\nsecond line"}
    answer = await env.post(view_submission(view, modal_state(view, values), user_id=MAYA))
    assert (answer.status, answer.text) == (200, "")
    await env.fake.wait_for("chat.postEphemeral")
    async with env.db.sessions() as session:
        summary = await session.scalar(select(FollowUp.summary).order_by(FollowUp.id.desc()).limit(1))
    assert summary == "Bell and [31mred[0m\nsecond line"


async def test_a_database_error_does_not_carry_the_typed_values(db: Database) -> None:
    """``hide_parameters``: an error (logged with its statement) shows no parameter values."""
    person = {"email": "twice@example.com", "name": "typed secret name", "role": "csm", "timezone": "UTC"}
    async with db.transaction() as session:
        session.add(Person(**person))
    with pytest.raises(IntegrityError) as caught:
        async with db.transaction() as session:
            session.add(Person(**person))
    assert "typed secret name" not in str(caught.value)
    assert "twice@example.com" not in str(caught.value)
    assert "parameters hidden" in str(caught.value)
