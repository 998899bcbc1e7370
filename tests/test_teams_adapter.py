"""The Teams adapter over real HTTP: activities in, cards out to a fake Bot Connector."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapters.teams.cards import CHOOSE_ITEM
from adapters.teams.delivery import TeamsDeliveryError, TeamsUnreachable
from bot.types import Reply, Text
from storage.db import Database
from storage.models import FollowUp, Person, TeamsConversation
from tests.factories import MAYA, PRIYA, TODAY, Team, actor_for, count, day, get_row
from tests.factories import command as typed
from tests.fakes.teams import tenant_of
from tests.teams_activities import (
    BOT_ID,
    CHANNEL_ID,
    GROUP_CHAT_ID,
    OTHER_TENANT_ID,
    TENANT_ID,
    action_titled,
    actions_of,
    bot_added,
    bot_removed,
    channel_message,
    choice_for,
    execute_invoke,
    group_chat_message,
    inputs_of,
    personal_message,
    press,
    submit_message,
)
from tests.teams_env import TeamsEnv, teams_env
from tests.teams_team import LEO_T, MAYA_T, PRIYA_T, STRANGER_T, texts_of
from tests.teams_team import env as env  # the fixture
from tests.teams_team import team as team  # the fixture

# ------------------------------------------------------------------------------------ messages


async def test_personal_chat_command_is_answered_with_a_card(env: TeamsEnv) -> None:
    answer = await env.post(personal_message("account acme rockets", MAYA_T, service_url=env.service_url))
    assert answer.status == 201
    [call] = await env.fake.wait_for("send")
    assert call.conversation_id == MAYA_T.personal_chat
    assert call.body["type"] == "message"
    assert call.body["from"]["id"] == BOT_ID
    card = call.card
    assert card["version"] == "1.5"
    assert card["body"][0] == {
        "type": "TextBlock",
        "text": "Acme Rockets",
        "wrap": True,
        "size": "Large",
        "weight": "Bolder",
        "style": "heading",
    }
    shown = texts_of(card)
    assert "ARR: $438k" in shown
    assert "Owner: Maya Chen" in shown
    assert [a["title"] for a in card["body"][-1]["actions"]] == [
        "Log follow-up",
        "Milestones",
        "Timeline",
        "Success plan",
        "Send feedback to CX",
    ]
    assert not env.fake.of("member"), "a known AAD object id needs no member look-up"


async def test_channel_mention_is_answered_in_the_thread(env: TeamsEnv) -> None:
    activity = channel_message("account acme rockets", MAYA_T, service_url=env.service_url)
    await env.post(activity)
    [call] = await env.fake.wait_for("reply")
    assert call.conversation_id == f"{CHANNEL_ID};messageid={activity['id']}"
    assert call.activity_id == activity["id"]
    assert call.body["replyToId"] == activity["id"]
    assert "Acme Rockets" in texts_of(call.card)
    assert not env.fake.of("send")


async def test_group_chat_mention_is_answered_in_the_chat(env: TeamsEnv) -> None:
    await env.post(group_chat_message("renewals 30", MAYA_T, service_url=env.service_url))
    [call] = await env.fake.wait_for("send")
    assert call.conversation_id == GROUP_CHAT_ID
    assert "Renewals in the next 30 days" in texts_of(call.card)


@pytest.mark.parametrize(
    "command",
    [
        "help",
        "account acme rockets",
        "acct ACME-001",
        "account acme",
        "my",
        "my red",
        "risk",
        "renewals 90",
        "followups",
        "followups overdue",
        "milestones",
        "milestones acme rockets",
        "home",
        "log acme rockets",
        "frobnicate",
    ],
)
async def test_every_core_command_gives_the_same_answer_as_the_core(env: TeamsEnv, command: str) -> None:
    """What Slack would show (the core's Reply) is what the Teams card shows, line for line."""
    expected = await env.bot.handle(typed(await actor_for(env.db, MAYA), command))
    await env.post(personal_message(command, MAYA_T, service_url=env.service_url))
    [call] = await env.fake.wait_for("send")
    shown = texts_of(call.card).replace("**", "")
    if isinstance(expected, Reply):
        for block in expected.blocks:
            lines = block.text.splitlines() if isinstance(block, Text) else []
            for line in lines:
                line = line.replace("**", "").replace("`", "")
                assert line in shown, (line, shown)
        assert len(actions_of(call.card)) <= 6
    else:
        assert expected.title in shown
        assert [spec.label for spec in expected.inputs] == [i["label"] for i in inputs_of(call.card).values()]


async def test_home_asked_in_a_channel_goes_to_the_personal_chat(env: TeamsEnv, team: Team) -> None:
    activity = channel_message("home", MAYA_T, service_url=env.service_url)
    await env.post(activity)
    [created] = await env.fake.wait_for("create")
    assert created.body["isGroup"] is False
    assert created.body["members"][0]["id"] == MAYA_T.user_id
    assert tenant_of(created.body) == TENANT_ID
    [sent] = await env.fake.wait_for("send")
    assert sent.conversation_id == f"a:created-{MAYA_T.user_id}"
    assert "Touchpoint for Maya Chen" in texts_of(sent.card)
    [note] = await env.fake.wait_for("reply")
    assert "personal chat" in texts_of(note.card)
    assert "Touchpoint for Maya Chen" not in texts_of(note.card)
    # The new personal chat is remembered: next time it is used without creating another.
    await env.post(channel_message("home", MAYA_T, service_url=env.service_url))
    await env.fake.wait_for("send", count=2)
    assert len(env.fake.of("create")) == 1


# ------------------------------------------------------------------------------------ buttons


async def add_followups(env: TeamsEnv, team: Team, n: int) -> None:
    """More open follow-ups for Maya (she has two), due after hers."""
    async with env.db.transaction() as session:
        for i in range(n):
            session.add(
                FollowUp(
                    account_id=team.acme_rockets,
                    author_id=team.maya,
                    kind="call",
                    summary=f"Call {i}",
                    next_step=f"Step {i}",
                    due_date=day(i + 5),
                    status="open",
                )
            )


async def _followups_card(env: TeamsEnv, team: Team, extra: int = 3) -> tuple[dict[str, Any], str]:
    await add_followups(env, team, extra)
    await env.post(personal_message("followups", MAYA_T, service_url=env.service_url))
    [call] = await env.fake.wait_for("send")
    assert call.sent_id is not None
    return call.card, call.sent_id


async def test_followups_list_keeps_six_actions_with_a_which_one_choice(env: TeamsEnv, team: Team) -> None:
    card, _ = await _followups_card(env, team, extra=9)  # 11 open: a page of 10 and a More button
    titles = [a["title"] for a in actions_of(card)]
    assert titles == ["Done", "Snooze 1 day", "Snooze 1 week", "More (1 left)"]
    choice = next(i for i in inputs_of(card).values() if i["type"] == "Input.ChoiceSet")
    assert choice["isRequired"] is True
    assert len(choice["choices"]) == 10
    assert choice["choices"][0]["title"].startswith("1. Acme Rockets: Send the recording")
    assert sum(block.get("type") == "ColumnSet" for block in card["body"]) == 10
    more = action_titled(card, "More")
    assert more["associatedInputs"] == "none", "More needs no chosen item"


async def test_more_shows_the_next_page_in_place(env: TeamsEnv, team: Team) -> None:
    card, card_id = await _followups_card(env, team, extra=9)
    data, verb = press(card, "More")
    answer = await env.post(
        execute_invoke(data, MAYA_T, verb=verb, service_url=env.service_url, card_id=card_id)
    )
    page = answer.card
    assert "11-11 of 11" in texts_of(page)
    assert "Step 8" in texts_of(page)


async def test_two_followups_keep_their_buttons_on_each_row(env: TeamsEnv, team: Team) -> None:
    card, _ = await _followups_card(env, team, extra=0)
    assert [a["title"] for a in actions_of(card)] == ["Done", "Snooze 1 day", "Snooze 1 week"] * 2
    assert not inputs_of(card)


async def test_action_execute_done_answers_with_the_card_in_the_response(env: TeamsEnv, team: Team) -> None:
    card, card_id = await _followups_card(env, team)
    input_id, value = choice_for(card, "Send the recording")
    data, verb = press(card, "Done", **{input_id: value})
    answer = await env.post(
        execute_invoke(data, MAYA_T, verb=verb, service_url=env.service_url, card_id=card_id)
    )
    assert answer.status == 200
    assert "Done: Send the recording" in texts_of(answer.card)
    assert (await get_row(env.db, FollowUp, team.call_cfo)).status == "done"
    assert len(env.fake.posted()) == 1, "an in-place answer posts nothing new"


async def test_action_execute_snooze_merges_the_chosen_item_and_the_button(env: TeamsEnv, team: Team) -> None:
    card, card_id = await _followups_card(env, team)
    input_id, value = choice_for(card, "Book a call with the sponsor")
    data, verb = press(card, "Snooze 1 week", **{input_id: value})
    answer = await env.post(
        execute_invoke(data, MAYA_T, verb=verb, service_url=env.service_url, card_id=card_id)
    )
    assert "Snoozed until" in texts_of(answer.card)
    assert (await get_row(env.db, FollowUp, team.nps_email)).snoozed_until == day(7)


async def test_action_execute_without_a_chosen_item_changes_nothing(env: TeamsEnv, team: Team) -> None:
    card, card_id = await _followups_card(env, team)
    data = dict(action_titled(card, "Done")["data"])  # a client that skipped validation
    answer = await env.post(
        execute_invoke(data, MAYA_T, verb="followup.done", service_url=env.service_url, card_id=card_id)
    )
    assert answer.body == {
        "statusCode": 200,
        "type": "application/vnd.microsoft.activity.message",
        "value": CHOOSE_ITEM,
    }, "shown to the clicker only"
    assert len(env.fake.posted()) == 1
    assert (await get_row(env.db, FollowUp, team.call_cfo)).status == "open"


async def test_action_execute_checks_permission_again_and_tells_only_the_clicker(
    env: TeamsEnv, team: Team
) -> None:
    card, card_id = await _followups_card(env, team)
    input_id, value = choice_for(card, "Send the recording")
    data, verb = press(card, "Done", **{input_id: value})
    answer = await env.post(
        execute_invoke(data, LEO_T, verb=verb, service_url=env.service_url, card_id=card_id)
    )
    assert answer.body["type"] == "application/vnd.microsoft.activity.message"
    assert "Only the owner of Acme Rockets" in answer.body["value"]
    assert (await get_row(env.db, FollowUp, team.call_cfo)).status == "open"
    assert len(env.fake.posted()) == 1


async def test_action_execute_new_message_answers_are_posted_beside_the_card(
    env: TeamsEnv, team: Team
) -> None:
    await env.post(personal_message("account acme rockets", MAYA_T, service_url=env.service_url))
    [call] = await env.fake.wait_for("send")
    data, verb = press(call.card, "Milestones")
    answer = await env.post(
        execute_invoke(data, MAYA_T, verb=verb, service_url=env.service_url, card_id="c1")
    )
    assert answer.status == 200
    assert answer.body["type"] == "application/vnd.microsoft.activity.message"
    assert isinstance(answer.body["value"], str)
    sent = await env.fake.wait_for("send", count=2)
    assert "Open milestones for Acme Rockets" in texts_of(sent[1].card)


async def test_action_submit_updates_the_clicked_card(env: TeamsEnv, team: Team) -> None:
    card, card_id = await _followups_card(env, team)
    input_id, value = choice_for(card, "Send the recording")
    data, _ = press(card, "Snooze 1 day", **{input_id: value})
    answer = await env.post(submit_message(data, MAYA_T, service_url=env.service_url, card_id=card_id))
    assert answer.status == 201
    [updated] = await env.fake.wait_for("update")
    assert updated.activity_id == card_id
    assert updated.conversation_id == MAYA_T.personal_chat
    assert "Snoozed until" in texts_of(updated.card)
    assert (await get_row(env.db, FollowUp, team.call_cfo)).snoozed_until == day(1)


async def test_action_submit_from_a_foreign_card_is_refused_politely(env: TeamsEnv) -> None:
    value = {"action": "snooze", "accountId": "001xx000003DGb2", "note": "Waiting on legal"}
    await env.post(submit_message(value, MAYA_T, service_url=env.service_url, card_id="1715000401888"))
    [call] = await env.fake.wait_for("update", "send")
    assert "That button no longer works" in texts_of(call.card)


# -------------------------------------------------------------------------------------- forms


async def _open_form(env: TeamsEnv) -> dict[str, Any]:
    await env.post(personal_message("log acme rockets", MAYA_T, service_url=env.service_url))
    [call] = await env.fake.wait_for("send")
    return call.card


async def test_form_card_has_labels_required_marks_and_choices(env: TeamsEnv) -> None:
    card = await _open_form(env)
    inputs = inputs_of(card)
    assert list(inputs) == ["kind", "summary", "next_step", "due_date"]
    assert inputs["kind"]["type"] == "Input.ChoiceSet" and inputs["kind"]["value"] == "call"
    assert inputs["summary"]["isRequired"] is True and inputs["summary"]["isMultiline"] is True
    assert inputs["next_step"]["isRequired"] is False
    assert inputs["due_date"]["type"] == "Input.Date" and inputs["due_date"]["min"] == TODAY.isoformat()
    assert all(i["label"] and i["errorMessage"] for i in inputs.values())


async def test_form_submit_with_good_input_saves_and_answers_in_place(env: TeamsEnv, team: Team) -> None:
    card = await _open_form(env)
    data, verb = press(
        card,
        "Save",
        kind="meeting",
        summary="Walked the CFO through the renewal",
        next_step="Send the quote",
        due_date=day(3).isoformat(),
    )
    before = await count(env.db, FollowUp)
    answer = await env.post(
        execute_invoke(data, MAYA_T, verb=verb, service_url=env.service_url, card_id="f1")
    )
    assert "Logged a meeting for Acme Rockets" in texts_of(answer.card)
    assert await count(env.db, FollowUp) == before + 1
    async with env.db.sessions() as session:
        saved = (await session.execute(select(FollowUp).order_by(FollowUp.id.desc()).limit(1))).scalar_one()
    assert (saved.kind, saved.next_step, saved.due_date, saved.author_id) == (
        "meeting",
        "Send the quote",
        day(3),
        team.maya,
    )


async def test_form_submit_with_bad_input_returns_the_form_with_errors(env: TeamsEnv) -> None:
    card = await _open_form(env)
    data, verb = press(
        card, "Save", kind="call", summary="x", next_step="Call back", due_date=day(-2).isoformat()
    )
    data["summary"] = "   "  # blank once trimmed: the client lets it through, the server does not
    before = await count(env.db, FollowUp)
    answer = await env.post(
        execute_invoke(data, MAYA_T, verb=verb, service_url=env.service_url, card_id="f1")
    )
    form = answer.card
    shown = texts_of(form)
    assert "Next step due cannot be in the past." in shown
    assert "is required." in shown
    attention = [b["text"] for b in form["body"] if b.get("color") == "Attention"]
    assert "Next step due cannot be in the past." in attention
    assert inputs_of(form)["next_step"]["value"] == "Call back", "typed values are kept"
    assert await count(env.db, FollowUp) == before, "nothing is stored"


async def test_form_submitted_with_action_submit_shows_errors_in_the_same_card(env: TeamsEnv) -> None:
    card = await _open_form(env)
    data, _ = press(card, "Save", kind="call", summary="Intro", due_date=day(-1).isoformat())
    before = await count(env.db, FollowUp)
    await env.post(submit_message(data, MAYA_T, service_url=env.service_url, card_id="form-1"))
    [updated] = await env.fake.wait_for("update")
    assert updated.activity_id == "form-1"
    assert "cannot be in the past" in texts_of(updated.card)
    assert await count(env.db, FollowUp) == before


# ---------------------------------------------------------------------------- installs, proactive


async def test_install_stores_the_reference_and_welcomes_once(env: TeamsEnv, team: Team) -> None:
    first = await env.post(bot_added(MAYA_T, service_url=env.service_url))
    assert first.status == 201
    [welcome] = await env.fake.wait_for("send")
    assert welcome.conversation_id == MAYA_T.personal_chat
    assert "Hi, I'm Touchpoint" in texts_of(welcome.card)
    async with env.db.sessions() as session:
        row = (await session.execute(select(TeamsConversation))).scalar_one()
    assert (row.conversation_id, row.kind, row.tenant_id, row.user_aad_id, row.bot_id) == (
        MAYA_T.personal_chat,
        "personal",
        TENANT_ID,
        MAYA_T.aad,
        BOT_ID,
    )
    assert row.service_url == env.service_url
    assert row.reference["serviceUrl"] == env.service_url
    assert row.reference["conversation"]["id"] == MAYA_T.personal_chat
    assert row.reference["user"]["aadObjectId"] == MAYA_T.aad
    assert "activityId" not in row.reference
    assert row.welcomed_at is not None

    await env.post(bot_added(MAYA_T, service_url=env.service_url))
    assert len(env.fake.posted()) == 1, "a second install event does not welcome again"
    assert await count(env.db, TeamsConversation) == 1


async def test_install_in_a_team_welcomes_the_channel(env: TeamsEnv) -> None:
    await env.post(bot_added(LEO_T, service_url=env.service_url, place="channel"))
    [welcome] = await env.fake.wait_for("send")
    assert welcome.conversation_id == CHANNEL_ID
    assert "Mention me" in texts_of(welcome.card)
    async with env.db.sessions() as session:
        row = (await session.execute(select(TeamsConversation))).scalar_one()
    assert (row.kind, row.user_aad_id) == ("channel", None)


async def test_removal_forgets_the_conversation(env: TeamsEnv) -> None:
    await env.post(bot_added(MAYA_T, service_url=env.service_url))
    await env.post(bot_removed(MAYA_T, service_url=env.service_url))
    assert await count(env.db, TeamsConversation) == 0


async def test_first_message_stores_the_reference_without_a_welcome(env: TeamsEnv) -> None:
    await env.post(personal_message("help", MAYA_T, service_url=env.service_url))
    [answer] = await env.fake.wait_for("send")
    assert "Here is what I can do" in texts_of(answer.card)
    async with env.db.sessions() as session:
        row = (await session.execute(select(TeamsConversation))).scalar_one()
    assert (row.conversation_id, row.welcomed_at) == (MAYA_T.personal_chat, None)


async def test_proactive_send_to_a_person_reaches_their_personal_chat(env: TeamsEnv, team: Team) -> None:
    await env.post(bot_added(MAYA_T, service_url=env.service_url))
    reminder = Reply(summary="Reminder", blocks=(Text("**Acme Rockets**: QBR Nov 2026 is overdue"),))
    activity_id = await env.adapter.send_to_person(team.maya, reminder)
    sent = env.fake.of("send")
    assert len(sent) == 2
    assert sent[-1].conversation_id == MAYA_T.personal_chat
    assert activity_id
    assert "QBR Nov 2026 is overdue" in texts_of(sent[-1].card)


async def test_proactive_send_to_a_channel_starts_a_new_post(env: TeamsEnv) -> None:
    await env.post(bot_added(LEO_T, service_url=env.service_url, place="channel"))
    digest = Reply(summary="Digest", blocks=(Text("3 renewals this week"),))
    await env.adapter.send_to_conversation(CHANNEL_ID, digest)
    sent = env.fake.of("send")
    assert [c.conversation_id for c in sent] == [CHANNEL_ID, CHANNEL_ID]
    assert "replyToId" not in sent[-1].body or sent[-1].body["replyToId"] is None


async def test_proactive_send_needs_a_stored_conversation(env: TeamsEnv, team: Team) -> None:
    with pytest.raises(TeamsUnreachable):
        await env.adapter.send_to_conversation("19:never@thread.tacv2", Reply(summary="x"))
    with pytest.raises(TeamsUnreachable):
        await env.adapter.send_to_person(team.maya, Reply(summary="x"))  # installed nowhere yet
    with pytest.raises(TeamsUnreachable):
        await env.adapter.send_to_person(team.priya, Reply(summary="x"))  # no Teams identity
    assert not env.fake.calls


# -------------------------------------------------------------------------------------- identity


async def test_unknown_user_is_matched_by_email_from_the_member_lookup(env: TeamsEnv, team: Team) -> None:
    env.fake.add_member(PRIYA_T.user_id, aad_object_id=PRIYA_T.aad, email="Priya@Example.com")
    await env.post(personal_message("account grunfeld", PRIYA_T, service_url=env.service_url))
    [lookup] = await env.fake.wait_for("member")
    assert lookup.conversation_id == PRIYA_T.personal_chat
    assert lookup.activity_id == PRIYA_T.user_id
    [answer] = await env.fake.wait_for("send")
    assert "Grünfeld Maschinenbau" in texts_of(answer.card)
    assert (await get_row(env.db, Person, team.priya)).teams_user_id == PRIYA_T.aad
    await env.post(personal_message("my", PRIYA_T, service_url=env.service_url))
    await env.fake.wait_for("send", count=2)
    assert len(env.fake.of("member")) == 1, "once matched, the AAD object id is enough"


async def test_member_lookup_falls_back_to_the_user_principal_name(env: TeamsEnv, team: Team) -> None:
    env.fake.add_member(PRIYA_T.user_id, aad_object_id=PRIYA_T.aad, user_principal_name=PRIYA)
    await env.post(channel_message("account grunfeld", PRIYA_T, service_url=env.service_url))
    [lookup] = await env.fake.wait_for("member")
    assert lookup.conversation_id.startswith(CHANNEL_ID)
    [answer] = await env.fake.wait_for("reply")
    assert "Grünfeld Maschinenbau" in texts_of(answer.card)


async def test_stranger_gets_no_data(env: TeamsEnv) -> None:
    await env.post(personal_message("account acme rockets", STRANGER_T, service_url=env.service_url))
    [answer] = await env.fake.wait_for("send")
    shown = texts_of(answer.card)
    assert "not registered" in shown
    assert "Acme" not in shown
    await env.post(personal_message("my", STRANGER_T, service_url=env.service_url))
    await env.fake.wait_for("send", count=2)
    assert len(env.fake.of("member", ok_only=False)) == 1, "strangers are not looked up on every message"


# -------------------------------------------------------------------------------------- tenants


@pytest.fixture
async def gated(db: Database, tmp_path: Path, team: Team) -> AsyncIterator[TeamsEnv]:
    async for e in teams_env(db, tmp_path, tenant_ids=[TENANT_ID.upper()]):
        yield e


async def test_another_tenant_gets_a_refusal_and_no_data(gated: TeamsEnv) -> None:
    activity = personal_message(
        "account acme rockets", MAYA_T, service_url=gated.service_url, tenant=OTHER_TENANT_ID
    )
    await gated.post(activity)
    [answer] = await gated.fake.wait_for("send")
    shown = texts_of(answer.card)
    assert "not enabled for your organisation" in shown
    assert "Acme" not in shown
    assert not gated.fake.of("member", ok_only=False)
    assert await count(gated.db, TeamsConversation) == 0


async def test_another_tenant_cannot_press_buttons_or_install(gated: TeamsEnv, team: Team) -> None:
    data = {"tp": {"a": "followup.done", "p": {"followup_id": team.call_cfo}}}
    answer = await gated.post(
        execute_invoke(
            data,
            MAYA_T,
            verb="followup.done",
            service_url=gated.service_url,
            card_id="c",
            tenant=OTHER_TENANT_ID,
        )
    )
    assert "not enabled" in texts_of(answer.card)
    assert (await get_row(gated.db, FollowUp, team.call_cfo)).status == "open"
    await gated.post(bot_added(MAYA_T, service_url=gated.service_url, tenant=OTHER_TENANT_ID))
    assert await count(gated.db, TeamsConversation) == 0
    assert not gated.fake.calls


async def test_the_allowed_tenant_is_served(gated: TeamsEnv) -> None:
    await gated.post(personal_message("account acme rockets", MAYA_T, service_url=gated.service_url))
    [answer] = await gated.fake.wait_for("send")
    assert "Acme Rockets" in texts_of(answer.card)


# -------------------------------------------------------------------------------- bad requests


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[1, 2, 3]",
        json.dumps({"text": "no type"}),
        json.dumps({"type": "message", "text": "hi", "conversation": {"id": "a:1"}}),  # no serviceUrl
        json.dumps({"type": "message", "serviceUrl": "https://x.example/", "conversation": "a:1"}),
        json.dumps(
            {
                "type": "message",
                "serviceUrl": "ftp://x/",
                "conversation": {"id": "a:1"},
                "recipient": {"id": "28:b"},
                "from": {"id": "29:u"},
            }
        ),
        json.dumps(
            {
                "type": "message",
                "serviceUrl": "https://x.example/",
                "conversation": {"id": "a:1"},
                "recipient": {"id": "28:b"},
            }
        ),  # a message from no one
    ],
)
async def test_malformed_activity_is_a_400_and_harms_nothing(env: TeamsEnv, body: str) -> None:
    answer = await env.post(body)
    assert answer.status == 400
    assert not env.fake.calls
    ok = await env.post(personal_message("help", MAYA_T, service_url=env.service_url))
    assert ok.status == 201


async def test_wrong_content_type_is_refused(env: TeamsEnv) -> None:
    answer = await env.post("type=message", content_type="application/x-www-form-urlencoded")
    assert answer.status == 415


async def test_invoke_that_is_not_an_execute_is_a_bad_request(env: TeamsEnv) -> None:
    activity = execute_invoke({}, MAYA_T, service_url=env.service_url, card_id="c")
    activity["value"] = {"action": {"type": "Action.Submit"}}
    answer = await env.post(activity)
    assert answer.status == 400
    assert answer.body["type"] == "application/vnd.microsoft.error"


# -------------------------------------------------------------------------------------- retries


async def test_a_throttled_reply_is_retried_after_retry_after(env: TeamsEnv) -> None:
    env.fake.fail_next("send", 429, retry_after="3")
    await env.post(personal_message("help", MAYA_T, service_url=env.service_url))
    [answer] = await env.fake.wait_for("send")
    assert len(env.fake.of("send", ok_only=False)) == 2
    assert 3.0 in env.sleeps
    assert "Here is what I can do" in texts_of(answer.card)


async def test_proactive_send_tries_once_and_leaves_retrying_to_the_outbox(env: TeamsEnv, team: Team) -> None:
    await env.post(bot_added(MAYA_T, service_url=env.service_url))
    env.fake.fail_next("send", 429, retry_after="7")
    before = list(env.sleeps)
    with pytest.raises(TeamsDeliveryError) as raised:
        await env.adapter.send_to_person(team.maya, Reply(summary="Hello", blocks=(Text("Hello"),)))
    assert (raised.value.status, raised.value.retry_after) == (429, 7.0)
    assert env.sleeps == before  # nothing waited in the process: the outbox waits for Retry-After
    assert len(env.fake.of("send", ok_only=False)) == 2  # welcome + one throttled try


async def test_proactive_send_gives_up_on_a_500(env: TeamsEnv, team: Team) -> None:
    await env.post(bot_added(MAYA_T, service_url=env.service_url))
    env.fake.fail_next("send", 500)
    with pytest.raises(TeamsDeliveryError) as raised:
        await env.adapter.send_to_person(team.maya, Reply(summary="Hello", blocks=(Text("Hello"),)))
    assert raised.value.status == 500
    assert len(env.fake.of("send", ok_only=False)) == 2  # welcome + one failed try, no retry


async def test_a_failed_answer_tells_the_person_with_a_reference(env: TeamsEnv) -> None:
    env.fake.fail_next("send", 500)
    answer = await env.post(personal_message("help", MAYA_T, service_url=env.service_url))
    assert answer.status == 201
    [apology] = await env.fake.wait_for("send")
    assert "Something went wrong (reference" in texts_of(apology.card)
