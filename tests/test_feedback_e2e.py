"""The feedback loop end to end over HTTP, with Slack and Teams served by one Touchpoint at once.

A CX person on Teams sends feedback about an account whose CSM is on Slack; the delivery worker posts it
to the CSM's Slack DM; the CSM acknowledges and resolves it with signed Slack requests; the worker tells
the CX person in their Teams chat. And back: a CSM's #bug from Slack reaches the CX channel in Teams,
where CX acknowledges it and the CSM hears in Slack.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from adapters.slack.app import FEEDBACK_SHORTCUT
from storage.db import Database
from storage.models import FeedbackItem, FeedbackTransition
from tests.factories import NOW, Team
from tests.loop_env import MAYA_SLACK, PRIYA_TEAMS, loop_env
from tests.loop_env import team as team  # the fixture
from tests.slack_env import button, buttons, reply_text
from tests.slack_requests import CHANNEL_ID as CHANNEL_ID_SLACK
from tests.slack_requests import (
    click,
    message_shortcut,
    modal_state,
    slash_command,
    view_submission,
)
from tests.teams_activities import CHANNEL_ID, bot_added, execute_invoke, personal_message, press


def card_text(card: dict[str, Any]) -> str:
    return json.dumps(card, ensure_ascii=False)


async def test_cx_on_teams_to_csm_on_slack_and_back(db: Database, tmp_path: Path, team: Team) -> None:
    async with loop_env(db, tmp_path) as env:
        # Priya (CX, Teams) sends feedback about Acme Rockets, which Maya (Slack) owns.
        await env.to_teams(
            personal_message(
                "feedback acme rockets Detractor: every release breaks a saved report #product",
                PRIYA_TEAMS,
                service_url=env.teams.service_url,
            )
        )
        [confirmation] = await env.teams.wait_for("send")
        assert "to Maya Chen" in card_text(confirmation.card)

        assert await env.deliver() == 1
        [opened] = env.slack.of("conversations.open")
        assert opened.body["users"] == MAYA_SLACK
        [dm] = env.slack.of("chat.postMessage")
        assert dm.body["channel"] == f"D{MAYA_SLACK}"
        text = reply_text(dm.body)
        assert "every release breaks a saved report" in text and "from Priya Raman (CX)" in text
        ack = button(dm.body, "Acknowledge")
        resolve = button(dm.body, "Resolve")
        assert button(dm.body, "Log follow-up") and button(dm.body, "Reassign")

        # Maya acknowledges in Slack: the DM's card is replaced, without the Acknowledge button.
        await env.to_slack(click(ack, user_id=MAYA_SLACK, response_url=env.slack.response_url("ack")))
        [replaced] = env.slack.of("response_url")
        assert replaced.body.get("replace_original") is True
        assert "Acknowledged" in reply_text(replaced.body)
        assert [b["text"]["text"] for b in buttons(replaced.body)] == ["Resolve", "Reassign", "Log follow-up"]
        # ... and resolves it with a note in the modal.
        await env.to_slack(click(resolve, user_id=MAYA_SLACK, response_url=env.slack.response_url("resolve")))
        [modal] = await env.slack.wait_for("views.open")
        view = modal.body["view"]
        await env.to_slack(
            view_submission(
                view, modal_state(view, {"note": "Saved reports fixed in 4.2"}), user_id=MAYA_SLACK
            )
        )

        async with db.sessions() as session:
            item = (await session.scalars(select(FeedbackItem))).one()
            steps = (await session.scalars(select(FeedbackTransition).order_by(FeedbackTransition.id))).all()
        assert (item.state, item.resolution) == ("resolved", "Saved reports fixed in 4.2")
        assert [(s.actor_id, s.to_state, s.at) for s in steps] == [
            (team.priya, "new", NOW),
            (team.maya, "acknowledged", NOW),
            (team.maya, "resolved", NOW),
        ]

        # The worker tells Priya in her Teams chat, twice, and rewrites Maya's card once to show it
        # resolved (the acknowledgement's rewrite, not yet sent, gave way to it): no new post.
        assert await env.deliver() == 3
        [update] = env.slack.of("chat.update")
        [posted] = env.slack.messages[dm.body["channel"]]
        assert (update.body["channel"], update.body["ts"]) == (dm.body["channel"], posted["ts"])
        assert "Resolved" in reply_text(update.body) and buttons(update.body) == []
        assert len(env.slack.of("chat.postMessage")) == 1
        sent = env.teams.of("send")
        told = [c for c in sent[1:] if c.conversation_id == PRIYA_TEAMS.personal_chat]
        assert len(told) == 2
        assert "Maya Chen acknowledged your feedback about" in card_text(told[0].card)
        assert "Maya Chen resolved your feedback about" in card_text(told[1].card)
        assert "Saved reports fixed in 4.2" in card_text(told[1].card)


async def test_csm_on_slack_to_the_cx_channel_on_teams_and_back(
    db: Database, tmp_path: Path, team: Team
) -> None:
    async with loop_env(db, tmp_path) as env:
        # Touchpoint is installed in the CX team's channel in Teams.
        await env.to_teams(bot_added(PRIYA_TEAMS, service_url=env.teams.service_url, place="channel"))
        before = len(env.teams.of("send"))

        await env.to_slack(
            slash_command(
                "feedback #bug Saved reports break after every release",
                user_id=MAYA_SLACK,
                response_url=env.slack.response_url("cmd"),
            )
        )
        [confirmation] = env.slack.of("response_url")
        assert "to the CX channel (#bug)" in reply_text(confirmation.body)

        assert await env.deliver() == 1
        posted = env.teams.of("send")[before:]
        assert [c.conversation_id for c in posted] == [CHANNEL_ID]
        card = posted[0].card
        assert "Saved reports break after every release" in card_text(card)

        # Priya acknowledges it from the channel's card.
        data, verb = press(card, "Acknowledge")
        answer = await env.to_teams(
            execute_invoke(
                data,
                PRIYA_TEAMS,
                service_url=env.teams.service_url,
                card_id=str(posted[0].sent_id),
                verb=verb,
                place="channel",
            )
        )
        assert answer["statusCode"] == 200

        # Maya hears in her Slack DM, and the channel's card is rewritten where it was posted.
        assert await env.deliver() == 2
        [update] = env.teams.of("update")
        assert (update.conversation_id, update.activity_id) == (CHANNEL_ID, posted[0].sent_id)
        assert "Acknowledged" in card_text(update.card)
        assert len(env.teams.of("send")) == before + 1
        [note] = env.slack.of("chat.postMessage")
        assert note.body["channel"] == f"D{MAYA_SLACK}"
        assert "Priya Raman acknowledged your feedback" in reply_text(note.body)


async def test_send_as_feedback_shortcut_opens_the_form_with_the_message(
    db: Database, tmp_path: Path, team: Team
) -> None:
    async with loop_env(db, tmp_path) as env:
        await env.to_slack(
            message_shortcut(
                FEEDBACK_SHORTCUT,
                "Customer: the SSO setup guide skips the SCIM step",
                user_id=MAYA_SLACK,
                response_url=env.slack.response_url("shortcut"),
            )
        )
        [opened] = await env.slack.wait_for("views.open")
        view = opened.body["view"]
        assert "the SSO setup guide skips the SCIM step" in json.dumps(view)
        state = modal_state(
            view,
            {
                "account": "",
                "text": "Customer: the SSO setup guide skips the SCIM step",
                "tags": "docs",
                "urgency": "normal",
            },
        )
        await env.to_slack(view_submission(view, state, user_id=MAYA_SLACK))
        async with db.sessions() as session:
            item = (await session.scalars(select(FeedbackItem))).one()
        assert (item.source, item.account_id, item.tags) == ("shortcut", None, ["docs"])
        assert item.source_link == f"https://slack.com/archives/{CHANNEL_ID_SLACK}/p1715000300000200"
        assert item.recipient_channel == f"teams:{CHANNEL_ID}"
