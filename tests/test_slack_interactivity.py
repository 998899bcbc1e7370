"""Buttons, modals and the message shortcut over real HTTP.

Buttons are clicked exactly as the bot rendered them (their action_id and value), so each test also
proves the round trip: what the renderer puts on a button is what the adapter understands.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import FollowUp, Milestone
from tests.slack_env import (
    MAYA,
    PRIYA,
    TODAY,
    SlackEnv,
    build_demo_file,
    button,
    buttons,
    demo_copy,
    reply_text,
    seed_demo,
    slack_env,
)
from tests.slack_requests import (
    CHANNEL_ID,
    block_action,
    click,
    message_shortcut,
    modal_state,
    slash_command,
    view_submission,
)

ACME_ROCKETS = 1


@pytest.fixture(scope="module")
def demo_file(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_file(sqlite_template, tmp_path_factory.mktemp("slack-demo"))


@pytest.fixture
async def env(demo_file: Path, tmp_path: Path) -> AsyncIterator[SlackEnv]:
    async with demo_copy(demo_file, tmp_path) as db, slack_env(db, tmp_path) as e:
        yield e


async def command(env: SlackEnv, text: str, *, user: str = MAYA) -> dict[str, Any]:
    """``/cs text``; returns the answer posted to the response_url."""
    seen = len(env.fake.of("response_url"))
    await env.post(slash_command(text, user_id=user, response_url=env.fake.response_url("cmd")))
    return (await env.fake.wait_for("response_url", seen + 1))[seen].body


async def press(env: SlackEnv, pressed: dict[str, Any], *, user: str = MAYA) -> dict[str, Any]:
    """Click ``pressed``; returns the answer posted to the response_url."""
    seen = len(env.fake.of("response_url"))
    answer = await env.post(click(pressed, user_id=user, response_url=env.fake.response_url("click")))
    assert (answer.status, answer.text) == (200, "")
    return (await env.fake.wait_for("response_url", seen + 1))[seen].body


async def opened_view(env: SlackEnv, count: int = 1) -> dict[str, Any]:
    return dict((await env.fake.wait_for("views.open", count))[count - 1].body["view"])


async def count_follow_ups(db: Database) -> int:
    async with db.sessions() as session:
        return int((await session.execute(select(func.count(FollowUp.id)))).scalar_one())


# --------------------------------------------------------------------------------------- buttons


async def test_account_open_button_shows_the_card(env: SlackEnv) -> None:
    choices = await command(env, "account acme")
    card = await press(env, button(choices, "Acme Rockets"))
    assert card["blocks"][0]["text"]["text"] == "Acme Rockets"
    assert card["response_type"] == "ephemeral"
    assert card["replace_original"] is False  # the choices stay; the card is a new answer


async def test_log_follow_up_button_opens_the_modal(env: SlackEnv) -> None:
    card = await command(env, "account acme rockets")
    pressed = button(card, "Log follow-up")
    assert json.loads(pressed["value"]) == {"account_id": ACME_ROCKETS}
    await env.post(click(pressed, user_id=MAYA, response_url=env.fake.response_url(), trigger_id="T-42"))
    call = (await env.fake.wait_for("views.open"))[0]
    assert call.body["trigger_id"] == "T-42"
    assert json.loads(call.body["view"]["private_metadata"])["payload"] == {"account_id": ACME_ROCKETS}
    await env.settle()
    assert len(env.fake.of("response_url")) == 1  # only the card: the click answers with the modal


async def test_milestones_button_lists_the_accounts_milestones(env: SlackEnv) -> None:
    card = await command(env, "account acme rockets")
    listed = await press(env, button(card, "Milestones"))
    assert "Open milestones for Acme Rockets" in reply_text(listed)
    assert "QBR Nov 2026" in reply_text(listed)
    assert listed["replace_original"] is False


async def test_follow_up_done_replaces_the_message_and_closes_it(env: SlackEnv) -> None:
    listed = await command(env, "followups")
    done = buttons(listed)[0]
    assert done["text"]["text"] == "Done"
    follow_up_id = json.loads(done["value"])["followup_id"]
    answer = await press(env, done)
    assert answer["replace_original"] is True
    assert "response_type" not in answer
    assert reply_text(answer).startswith("✅ Done:")
    async with env.db.sessions() as session:
        row = await session.get(FollowUp, follow_up_id)
        assert row is not None and row.status == "done"


@pytest.mark.parametrize(("label", "days"), [("Snooze 1 day", 1), ("Snooze 1 week", 7)])
async def test_follow_up_snooze_replaces_the_message(env: SlackEnv, label: str, days: int) -> None:
    listed = await command(env, "followups")
    snooze = button(listed, label)
    answer = await press(env, snooze)
    assert answer["replace_original"] is True
    assert "💤 Snoozed until" in reply_text(answer)
    async with env.db.sessions() as session:
        row = await session.get(FollowUp, json.loads(snooze["value"])["followup_id"])
        assert row is not None and row.snoozed_until == TODAY + timedelta(days=days)


async def test_milestone_done_replaces_the_message(env: SlackEnv) -> None:
    listed = await command(env, "milestones acme rockets")
    done = button(listed, "Done")
    answer = await press(env, done)
    assert answer["replace_original"] is True
    assert "is done" in reply_text(answer)
    async with env.db.sessions() as session:
        row = await session.get(Milestone, json.loads(done["value"])["milestone_id"])
        assert row is not None and row.completed_at is not None


async def test_milestone_snooze_replaces_the_message(env: SlackEnv) -> None:
    listed = await command(env, "milestones")
    snooze = button(listed, "Snooze 1 week")
    answer = await press(env, snooze)
    assert answer["replace_original"] is True
    assert "snoozed until" in reply_text(answer)
    async with env.db.sessions() as session:
        row = await session.get(Milestone, json.loads(snooze["value"])["milestone_id"])
        assert row is not None and row.snoozed_until == TODAY + timedelta(days=7)


async def test_more_button_replaces_the_list_with_the_next_page(env: SlackEnv) -> None:
    first = await command(env, "renewals 365")
    total = reply_text(first).split("1-10 of ")[1].split()[0]
    second = await press(env, buttons(first)[-1])
    assert second["replace_original"] is True
    assert f"11-{total} of {total}" in reply_text(second) or f"{total} in all" in reply_text(second)
    assert "Renewals in the next 365 days" in reply_text(second)


async def test_someone_elses_button_is_checked_again_when_clicked(env: SlackEnv) -> None:
    """A button's value names an object; Priya (CX) may not close Maya's follow-up with it."""
    listed = await command(env, "followups")
    done = buttons(listed)[0]
    answer = await press(env, done, user=PRIYA)
    assert "Only the owner of" in reply_text(answer)
    async with env.db.sessions() as session:
        row = await session.get(FollowUp, json.loads(done["value"])["followup_id"])
        assert row is not None and row.status == "open"


async def test_unknown_action_and_broken_value_get_a_clear_answer(env: SlackEnv) -> None:
    url = env.fake.response_url()
    await env.post(block_action("feedback.nope#1", {"x": 1}, user_id=MAYA, response_url=url))
    await env.post(block_action("account.open#1", "not json", user_id=MAYA, response_url=url))
    answers = [c.body for c in await env.fake.wait_for("response_url", 2)]
    texts = sorted(reply_text(a) for a in answers)
    assert "That button is missing what it refers to" in texts[0]
    assert "That button no longer works" in texts[1]


async def test_button_in_the_app_home_answers_by_direct_message(env: SlackEnv) -> None:
    """A view has no response_url: the answer goes to the person's DM with the bot."""
    await env.post(
        block_action(
            "account.open#1", {"account_id": ACME_ROCKETS}, user_id=MAYA, response_url="", container="view"
        )
    )
    call = (await env.fake.wait_for("chat.postMessage"))[0]
    assert call.body["channel"] == MAYA
    assert "Acme Rockets" in reply_text(call.body)


# ------------------------------------------------------------------------------------ the modal


async def test_good_submission_stores_the_follow_up_and_confirms(env: SlackEnv) -> None:
    await env.post(slash_command("log acme rockets", user_id=MAYA, response_url=env.fake.response_url()))
    view = await opened_view(env)
    before = await count_follow_ups(env.db)
    due = (TODAY + timedelta(days=3)).isoformat()
    values = {
        "kind": "meeting",
        "summary": "Walked the CFO through the renewal",
        "next_step": "Send the quote",
    }
    answer = await env.post(
        view_submission(view, modal_state(view, {**values, "due_date": due}), user_id=MAYA)
    )
    # An empty acknowledgement closes the modal.
    assert (answer.status, answer.text) == (200, "")
    confirmation = (await env.fake.wait_for("chat.postEphemeral"))[0].body
    assert confirmation["channel"] == "C0123CSM"
    assert confirmation["user"] == MAYA
    assert "Logged a meeting for *Acme Rockets*" in reply_text(confirmation)
    assert await count_follow_ups(env.db) == before + 1
    async with env.db.sessions() as session:
        stored = (await session.execute(select(FollowUp).order_by(FollowUp.id.desc()).limit(1))).scalar_one()
    assert (stored.account_id, stored.kind, stored.summary, stored.next_step) == (
        ACME_ROCKETS,
        "meeting",
        "Walked the CFO through the renewal",
        "Send the quote",
    )
    assert stored.due_date == TODAY + timedelta(days=3)
    assert stored.status == "open"


async def test_bad_submission_answers_with_field_errors_and_stores_nothing(env: SlackEnv) -> None:
    await env.post(slash_command("log acme rockets", user_id=MAYA, response_url=env.fake.response_url()))
    view = await opened_view(env)
    before = await count_follow_ups(env.db)
    past = (TODAY - timedelta(days=2)).isoformat()
    answer = await env.post(
        view_submission(
            view, modal_state(view, {"kind": "call", "summary": "  ", "due_date": past}), user_id=MAYA
        )
    )
    assert answer.status == 200
    body = answer.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"summary", "due_date"}
    assert "required" in body["errors"]["summary"]
    assert "cannot be in the past" in body["errors"]["due_date"]
    await env.settle()
    assert await count_follow_ups(env.db) == before
    assert env.fake.of("chat.postEphemeral") == env.fake.of("chat.postMessage") == []


async def test_submission_with_a_tampered_account_is_checked_again(env: SlackEnv) -> None:
    """private_metadata comes back from the client: the permission check runs on it again."""
    await env.post(slash_command("log acme rockets", user_id=MAYA, response_url=env.fake.response_url()))
    view = await opened_view(env)
    metadata = json.loads(view["private_metadata"])
    metadata["payload"] = {"account_id": 11}  # Lakeshire Software, not Maya's
    tampered = {**view, "private_metadata": json.dumps(metadata)}
    before = await count_follow_ups(env.db)
    answer = await env.post(
        view_submission(tampered, modal_state(tampered, {"kind": "call", "summary": "x"}), user_id=MAYA)
    )
    assert (answer.status, answer.text) == (200, "")
    refusal = (await env.fake.wait_for("chat.postEphemeral"))[0].body
    assert "Only the owner of Lakeshire Software" in reply_text(refusal)
    assert await count_follow_ups(env.db) == before


# -------------------------------------------------------------------------------- the shortcut


async def test_message_shortcut_opens_the_form_with_the_message_as_summary(env: SlackEnv) -> None:
    text = "Customer says the export is slow since Tuesday & wants a call"
    answer = await env.post(
        message_shortcut(
            "log_followup_shortcut",
            text,
            user_id=MAYA,
            response_url=env.fake.response_url(),
            trigger_id="T-7",
        )
    )
    assert (answer.status, answer.text) == (200, "")
    call = (await env.fake.wait_for("views.open"))[0]
    assert call.body["trigger_id"] == "T-7"
    view = call.body["view"]
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks["summary"]["element"]["initial_value"] == text
    assert blocks["account"]["element"]["type"] == "plain_text_input"
    assert blocks["account"]["optional"] is False

    # Naming the account in the form stores the follow-up against it.
    before = await count_follow_ups(env.db)
    state = modal_state(view, {"account": "acme rockets", "kind": "note", "summary": text})
    answer = await env.post(view_submission(view, state, user_id=MAYA))
    assert (answer.status, answer.text) == (200, "")
    confirmation = (await env.fake.wait_for("chat.postEphemeral"))[0].body
    assert "Logged a note for *Acme Rockets*" in reply_text(confirmation)
    assert await count_follow_ups(env.db) == before + 1


async def test_log_to_account_proposes_the_named_account_and_keeps_the_message_link(env: SlackEnv) -> None:
    text = "Spoke with Acme Rockets: they want SSO before the renewal"
    await env.post(
        message_shortcut("log_followup_shortcut", text, user_id=MAYA, response_url=env.fake.response_url())
    )
    view = await opened_view(env)
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks["account"]["element"]["initial_value"] == "Acme Rockets"
    assert blocks["kind"]["element"]["initial_option"]["value"] == "note"
    state = modal_state(view, {"account": "Acme Rockets", "kind": "note", "summary": text})
    assert (await env.post(view_submission(view, state, user_id=MAYA))).text == ""
    confirmation = reply_text((await env.fake.wait_for("chat.postEphemeral"))[0].body)
    assert "Logged a note for *Acme Rockets*, with a link to the message, on its timeline." in confirmation
    async with env.db.sessions() as session:
        link = (
            await session.execute(select(FollowUp.source_link).order_by(FollowUp.id.desc()).limit(1))
        ).scalar_one()
    assert link == f"https://slack.com/archives/{CHANNEL_ID}/p1715000300000200"
    timeline = reply_text(await command(env, "timeline acme rockets followups"))
    assert "Note: Spoke with Acme Rockets" in timeline and link in timeline


async def test_message_shortcut_form_wants_one_account(env: SlackEnv) -> None:
    await env.post(
        message_shortcut("log_followup_shortcut", "hello", user_id=MAYA, response_url=env.fake.response_url())
    )
    view = await opened_view(env)
    before = await count_follow_ups(env.db)
    state = modal_state(view, {"account": "acme", "kind": "call", "summary": "hello"})
    body = (await env.post(view_submission(view, state, user_id=MAYA))).json()
    assert body["response_action"] == "errors"
    assert "Several accounts match: Acme Robotics, Acme Rockets" in body["errors"]["account"]
    assert await count_follow_ups(env.db) == before


async def test_follow_up_flow_on_postgres_and_sqlite(db: Database, tmp_path: Path) -> None:
    """Command, modal, submission and a Done click, on each database backend."""
    await seed_demo(db)
    async with slack_env(db, tmp_path) as env:
        await env.post(slash_command("log acme rockets", user_id=MAYA, response_url=env.fake.response_url()))
        view = await opened_view(env)
        before = await count_follow_ups(env.db)
        state = modal_state(view, {"kind": "call", "summary": "Check-in", "next_step": "Book the QBR"})
        assert (await env.post(view_submission(view, state, user_id=MAYA))).text == ""
        await env.fake.wait_for("chat.postEphemeral")
        assert await count_follow_ups(env.db) == before + 1

        listed = await command(env, "followups acme rockets")
        assert "Book the QBR" in reply_text(listed)
        done = next(b for b in buttons(listed) if b["text"]["text"] == "Done")
        answer = await press(env, done)
        assert answer["replace_original"] is True
