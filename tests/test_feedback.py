"""Feedback items through the service and the core on a real database: routing between CS and CX, the
outbox messages it queues, transitions with who and when, the originator hearing back, and who may act."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from bot.core.dispatch import Bot
from bot.errors import NotAllowed
from bot.feedback.items import submit_feedback, transition
from bot.feedback.messages import item_reply
from bot.feedback.routing import DEFAULT_CX_TAGS, Routing, channel_address, routing_from_settings
from bot.types import Actor
from handlers import build_bot
from storage.db import Database
from storage.models import FeedbackItem, FeedbackTransition, OutboxMessage, Person
from tests.factories import (
    JONAS,
    LEO,
    MAYA,
    NOW,
    OLGA,
    PRIYA,
    SAM,
    Team,
    action,
    actor_for,
    as_form,
    as_reply,
    ask,
    audit_events,
    button,
    fixed_clock,
    seed_team,
    settings_for,
    submit,
    text_of,
)

CX_CHANNEL = "teams:19:cx-team@thread.tacv2"
CS_CHANNEL = "slack:CCSTEAM01"
ROUTING = Routing(cs_channel=CS_CHANNEL, cx_channel=CX_CHANNEL, cs_to_cx_tags=DEFAULT_CX_TAGS)


@pytest.fixture
async def team(db: Database) -> Team:
    team = await seed_team(db)
    async with db.transaction() as session:
        # Maya and Jonas are on Slack, Priya and Sam on Teams; Leo and Olga on neither.
        for person_id, slack, teams in (
            (team.maya, "UMAYA", None),
            (team.jonas, "UJONAS", None),
            (team.priya, None, "29:priya"),
            (team.sam, None, "29:sam"),
        ):
            await session.execute(
                update(Person).where(Person.id == person_id).values(slack_user_id=slack, teams_user_id=teams)
            )
    return team


@pytest.fixture
def bot(db: Database) -> Bot:
    settings = settings_for(db).model_copy(
        update={"feedback_cs_channel": CS_CHANNEL, "feedback_cx_channel": CX_CHANNEL}
    )
    return build_bot(db, settings, clock=fixed_clock)


async def outbox_rows(db: Database) -> dict[str, OutboxMessage]:
    async with db.sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return {row.idempotency_key: row for row in rows}


async def transitions(db: Database, item_id: int) -> list[tuple[int | None, str | None, str, str | None]]:
    async with db.sessions() as session:
        rows = await session.scalars(
            select(FeedbackTransition)
            .where(FeedbackTransition.item_id == item_id)
            .order_by(FeedbackTransition.id)
        )
        return [(r.actor_id, r.from_state, r.to_state, r.note) for r in rows]


async def only_item(db: Database) -> FeedbackItem:
    async with db.sessions() as session:
        items = (await session.scalars(select(FeedbackItem))).all()
    assert len(items) == 1
    return items[0]


def labels(payload: dict[str, Any]) -> list[str]:
    return [b["label"] for block in payload["blocks"] if block["type"] == "actions" for b in block["buttons"]]


# ---------------------------------------------------------------------------------------------- routing


async def test_cx_feedback_about_an_account_goes_to_its_csm_and_the_cs_channel(
    db: Database, team: Team, bot: Bot
) -> None:
    priya = await actor_for(db, PRIYA)
    reply = await ask(bot, priya, "feedback acme rockets Their admin cannot find the export #docs")
    item = await only_item(db)
    assert text_of(reply) == (
        f"📨 Sent feedback #{item.id} about **Acme Rockets** to Maya Chen and the CS channel (#docs). "
        "You'll hear when it moves."
    )
    assert (item.originator_id, item.originator_team, item.account_id) == (
        team.priya,
        "cx",
        team.acme_rockets,
    )
    assert (item.recipient_id, item.recipient_channel, item.tags) == (team.maya, CS_CHANNEL, ["docs"])
    assert item.text == "Their admin cannot find the export"
    assert (item.state, item.created_at, item.urgent) == ("new", NOW, False)
    assert await transitions(db, item.id) == [(team.priya, None, "new", None)]
    rows = await outbox_rows(db)
    assert set(rows) == {f"feedback:{item.id}:new:{team.maya}", f"feedback:{item.id}:new:channel"}
    dm = rows[f"feedback:{item.id}:new:{team.maya}"]
    assert (dm.platform, dm.address["target"], dm.purpose) == ("slack", "UMAYA", "feedback")
    assert labels(dm.payload) == ["Acknowledge", "Resolve", "Reassign", "Log follow-up"]
    channel = rows[f"feedback:{item.id}:new:channel"]
    assert (channel.platform, channel.address["target"]) == ("slack", "CCSTEAM01")


async def test_cs_bug_goes_to_the_cx_channel(db: Database, team: Team, bot: Bot) -> None:
    maya = await actor_for(db, MAYA)
    reply = await ask(bot, maya, "feedback #bug Saved reports break after every release")
    item = await only_item(db)
    assert "to the CX channel (#bug)" in text_of(reply)
    assert (item.originator_team, item.account_id, item.recipient_id) == ("cs", None, None)
    assert item.recipient_channel == CX_CHANNEL
    rows = await outbox_rows(db)
    message = rows[f"feedback:{item.id}:new:channel"]
    assert (message.platform, message.address["target"]) == ("teams", "19:cx-team@thread.tacv2")


async def test_cs_feedback_about_an_account_with_a_cx_tag_goes_to_cx(
    db: Database, team: Team, bot: Bot
) -> None:
    leo = await actor_for(db, LEO)
    await ask(bot, leo, "feedback acme rockets the SSO docs are wrong #docs")
    item = await only_item(db)
    assert (item.account_id, item.recipient_id, item.recipient_channel) == (
        team.acme_rockets,
        None,
        CX_CHANNEL,
    )


async def test_urgent_feedback_also_reaches_the_recipients_manager(
    db: Database, team: Team, bot: Bot
) -> None:
    priya = await actor_for(db, PRIYA)
    await ask(bot, priya, "feedback Café Lumière the sponsor is furious #urgent")
    item = await only_item(db)
    assert item.urgent and item.account_id == team.cafe and item.tags == []
    rows = await outbox_rows(db)
    manager = rows[f"feedback:{item.id}:new:{team.jonas}"]
    assert (manager.platform, manager.address["target"]) == ("slack", "UJONAS")
    assert f"feedback:{item.id}:new:{team.maya}" in rows
    assert manager.payload["summary"].startswith("🚨 Urgent Feedback")


async def test_an_unreachable_recipient_is_reported_to_the_admins(db: Database, team: Team, bot: Bot) -> None:
    priya = await actor_for(db, PRIYA)
    await ask(bot, priya, "feedback Brightwater their QBR survey came back angry #urgent")
    item = await only_item(db)
    assert item.recipient_id == team.leo
    rows = await outbox_rows(db)
    # Leo and his manager Olga have no Slack or Teams identity: Sam (admin, on Teams) hears about both.
    report = rows[f"feedback:{item.id}:new:admin:{team.sam}"]
    assert (report.purpose, report.platform, report.address["target"]) == (
        "admin",
        "teams",
        f"person:{team.sam}",
    )
    text = " ".join(b.get("text", "") for b in report.payload["blocks"])
    assert "Leo Park (leo@example.com) cannot be reached" in text
    assert "Olga Berg (olga@example.com) cannot be reached" in text
    assert set(rows) == {f"feedback:{item.id}:new:channel", f"feedback:{item.id}:new:admin:{team.sam}"}


async def test_feedback_with_nowhere_to_go_is_reported_to_the_admins(db: Database, team: Team) -> None:
    item = await submit_feedback(
        db,
        originator_id=team.maya,
        originator_team="cs",
        account_id=None,
        text="The onboarding checklist is out of date",
        tags=["process"],
        urgent=False,
        source="chat",
        now=NOW,
        routing=Routing(cs_channel=None, cx_channel=None, cs_to_cx_tags=frozenset({"process"})),
    )
    assert item is not None
    rows = await outbox_rows(db)
    assert set(rows) == {f"feedback:{item.id}:new:admin:{team.sam}"}


async def test_a_survey_answer_makes_one_item_only(db: Database, team: Team) -> None:
    from storage.models import SurveyResponse

    async with db.sessions() as session:
        survey_id = await session.scalar(select(SurveyResponse.id).where(SurveyResponse.score == 3))
    kwargs: dict[str, Any] = dict(
        originator_id=None,
        originator_team="cx",
        account_id=team.acme_rockets,
        text="Every release breaks one of our saved reports.",
        tags=["detractor"],
        urgent=False,
        source="survey",
        now=NOW,
        routing=ROUTING,
        survey_response_id=survey_id,
    )
    first = await submit_feedback(db, **kwargs)
    assert first is not None and first.recipient_id == team.maya
    assert await submit_feedback(db, **kwargs) is None
    card = item_reply(first, "Acme Rockets", None, for_recipient=True)
    assert "from a survey (CX) about **Acme Rockets**" in text_of(card)


def test_routing_from_settings_reads_the_feedback_settings(db: Database) -> None:
    settings = settings_for(db).model_copy(
        update={"feedback_cx_channel": CX_CHANNEL, "feedback_cx_tags": ["Bug", "#ux"]}
    )
    assert routing_from_settings(settings) == Routing(
        cs_channel=None, cx_channel=CX_CHANNEL, cs_to_cx_tags=frozenset({"bug", "ux"})
    )
    assert routing_from_settings(settings_for(db)).cs_to_cx_tags == frozenset(
        {"bug", "process", "docs", "product"}
    )


def test_channels_parse_into_addresses() -> None:
    slack = channel_address("slack:C123")
    teams = channel_address("teams:19:abc@thread.tacv2")
    assert slack is not None and (slack.platform.value, slack.target) == ("slack", "C123")
    assert teams is not None and (teams.platform.value, teams.target) == ("teams", "19:abc@thread.tacv2")
    assert channel_address("C123") is None and channel_address("irc:#x") is None


# ------------------------------------------------------------------------------------------ transitions


async def submitted_by_priya(db: Database, team: Team, bot: Bot) -> FeedbackItem:
    await ask(bot, await actor_for(db, PRIYA), "feedback acme rockets Detractor: exports are too slow")
    return await only_item(db)


async def test_acknowledge_and_resolve_are_recorded_and_the_originator_hears(
    db: Database, team: Team, bot: Bot
) -> None:
    item = await submitted_by_priya(db, team, bot)
    maya = await actor_for(db, MAYA)
    card = as_reply(await bot.handle(action(maya, "feedback.ack", {"item_id": item.id})))
    assert card.replace and "👀 Acknowledged" in text_of(card)
    assert [b.label for b in card.buttons] == ["Resolve", "Reassign", "Log follow-up"]
    assert button(card, "Log follow-up").payload == {"account_id": team.acme_rockets}

    form = as_form(await bot.handle(action(maya, "feedback.resolve", {"item_id": item.id})))
    assert [i.id for i in form.inputs] == ["note"]
    refused = as_form(await bot.handle(submit(maya, form, {"note": ""})))
    assert refused.errors == {"note": "What was done? is required."}
    done = as_reply(await bot.handle(submit(maya, form, {"note": "Export moved to a background job"})))
    assert text_of(done) == (
        f"✅ Feedback #{item.id} is resolved: its message shows it and whoever sent it has been told."
    )
    assert done.buttons == ()

    assert await transitions(db, item.id) == [
        (team.priya, None, "new", None),
        (team.maya, "new", "acknowledged", None),
        (team.maya, "acknowledged", "resolved", "Export moved to a background job"),
    ]
    stored = await only_item(db)
    assert (stored.state, stored.resolution, stored.updated_at) == (
        "resolved",
        "Export moved to a background job",
        NOW,
    )
    rows = await outbox_rows(db)
    ack = rows[f"feedback:{item.id}:acknowledged:originator"]
    resolved = rows[f"feedback:{item.id}:resolved:originator"]
    assert (ack.platform, ack.address["target"]) == ("teams", f"person:{team.priya}")
    assert ack.payload["summary"] == f"Maya Chen acknowledged your feedback #{item.id}"
    assert "**Resolution:** Export moved to a background job" in resolved.payload["blocks"][0]["text"]
    assert [e.action for e in await audit_events(db)] == ["feedback.acknowledged", "feedback.resolved"]

    again = as_reply(await bot.handle(action(maya, "feedback.ack", {"item_id": item.id})))
    assert "is resolved; it cannot be acknowledged now" in text_of(again)


async def test_reassign_gives_the_item_to_someone_else(db: Database, team: Team, bot: Bot) -> None:
    item = await submitted_by_priya(db, team, bot)
    jonas = await actor_for(db, JONAS)  # Maya's manager may act on it
    form = as_form(await bot.handle(action(jonas, "feedback.reassign", {"item_id": item.id})))
    unknown = as_form(await bot.handle(submit(jonas, form, {"email": "nobody@example.com"})))
    assert unknown.errors == {"email": "Nobody with the email nobody@example.com is registered."}
    reply = as_reply(await bot.handle(submit(jonas, form, {"email": "JONAS@example.com"})))
    assert text_of(reply) == f"↪️ Feedback #{item.id} is now Jonas Albrecht's; they have been told."
    stored = await only_item(db)
    assert (stored.recipient_id, stored.state) == (team.jonas, "new")
    steps = await transitions(db, item.id)
    assert steps[-1] == (team.jonas, "new", "new", "reassigned to Jonas Albrecht")
    rows = await outbox_rows(db)
    new_owner = [
        k for k in rows if k.startswith(f"feedback:{item.id}:reassigned:") and k.endswith(f":{team.jonas}")
    ]
    told = [k for k in rows if k.startswith(f"feedback:{item.id}:reassigned:") and k.endswith(":originator")]
    assert len(new_owner) == 1 and len(told) == 1
    assert rows[new_owner[0]].address["target"] == "UJONAS"


@pytest.mark.parametrize("who", [LEO, OLGA])
async def test_only_the_items_people_may_change_it(db: Database, team: Team, bot: Bot, who: str) -> None:
    item = await submitted_by_priya(db, team, bot)
    outsider = await actor_for(db, who)
    for name in ("feedback.ack", "feedback.resolve", "feedback.reassign"):
        refused = as_reply(await bot.handle(action(outsider, name, {"item_id": item.id})))
        assert "Only the person it was sent to" in text_of(refused), name
    form = as_form(
        await bot.handle(action(await actor_for(db, MAYA), "feedback.resolve", {"item_id": item.id}))
    )
    forged = as_reply(await bot.handle(submit(outsider, form, {"note": "not mine"})))
    assert "Only the person it was sent to" in text_of(forged)
    assert (await only_item(db)).state == "new"
    with pytest.raises(NotAllowed):
        await transition(db, item_id=item.id, actor=outsider, to_state="acknowledged", note=None, now=NOW)


async def test_the_originator_and_admins_may_change_it(db: Database, team: Team, bot: Bot) -> None:
    item = await submitted_by_priya(db, team, bot)
    sam = await actor_for(db, SAM)
    priya = await actor_for(db, PRIYA)
    await transition(db, item_id=item.id, actor=sam, to_state="acknowledged", note=None, now=NOW)
    await transition(db, item_id=item.id, actor=priya, to_state="resolved", note="fine now", now=NOW)
    rows = await outbox_rows(db)
    assert f"feedback:{item.id}:acknowledged:originator" in rows
    # The originator resolving their own item needs no note to themselves.
    assert f"feedback:{item.id}:resolved:originator" not in rows


async def test_cx_people_act_on_items_sent_to_cx(db: Database, team: Team, bot: Bot) -> None:
    await ask(bot, await actor_for(db, MAYA), "feedback #bug exports time out")
    item = await only_item(db)
    priya: Actor = await actor_for(db, PRIYA)
    leo = await actor_for(db, LEO)
    card = as_reply(await bot.handle(action(priya, "feedback.ack", {"item_id": item.id})))
    assert "👀 Acknowledged" in text_of(card)
    assert (await only_item(db)).state == "acknowledged"
    refused = as_reply(await bot.handle(action(leo, "feedback.resolve", {"item_id": item.id})))
    assert "Only the person it was sent to" in text_of(refused)
    rows = await outbox_rows(db)
    assert rows[f"feedback:{item.id}:acknowledged:originator"].address["target"] == "UMAYA"


async def test_a_forged_payload_is_refused(db: Database, team: Team, bot: Bot) -> None:
    maya = await actor_for(db, MAYA)
    missing = as_reply(await bot.handle(action(maya, "feedback.ack", {"item_id": 99999})))
    assert text_of(missing) == "That feedback item no longer exists."
    bad = as_reply(await bot.handle(action(maya, "feedback.ack", {"item_id": "x"})))
    assert "missing what it refers to" in text_of(bad)


# ------------------------------------------------------------------------------------- commands and forms


async def test_an_ambiguous_account_offers_a_choice_that_opens_the_form(
    db: Database, team: Team, bot: Bot
) -> None:
    priya = await actor_for(db, PRIYA)
    reply = await ask(bot, priya, "feedback acme the renewal survey was negative #urgent")
    assert "Several accounts match" in text_of(reply)
    choice = button(reply, "Acme Robotics")
    form = as_form(await bot.handle(action(priya, choice.action, choice.payload)))
    assert [i.id for i in form.inputs] == ["text", "tags", "urgency"]
    assert form.inputs[0].initial == "acme the renewal survey was negative"
    assert form.inputs[2].initial == "urgent"
    sent = as_reply(
        await bot.handle(
            submit(
                priya,
                form,
                {"text": "The renewal survey was negative", "tags": "survey", "urgency": "urgent"},
            )
        )
    )
    assert "about **Acme Robotics** to Maya Chen" in text_of(sent)
    item = await only_item(db)
    assert (item.account_id, item.tags, item.urgent) == (team.acme_robotics, ["survey"], True)


async def test_the_form_without_an_account_asks_for_one(db: Database, team: Team, bot: Bot) -> None:
    maya = await actor_for(db, MAYA)
    form = as_form(
        await bot.handle(
            action(
                maya,
                "feedback.open_form",
                {"text": "from a thread", "source_link": "https://x/1", "source": "shortcut"},
            )
        )
    )
    assert [i.id for i in form.inputs] == ["account", "text", "tags", "urgency"]
    wrong = as_form(
        await bot.handle(submit(maya, form, {"account": "zzzz", "text": "", "urgency": "normal"}))
    )
    assert set(wrong.errors) == {"account", "text"}
    await bot.handle(
        submit(
            maya,
            form,
            {
                "account": "grünfeld",
                "text": "Docs for the API are outdated",
                "tags": "docs",
                "urgency": "normal",
            },
        )
    )
    item = await only_item(db)
    assert (item.account_id, item.source, item.source_link) == (team.grunfeld, "shortcut", "https://x/1")
    assert item.recipient_channel == CX_CHANNEL


async def test_the_account_card_offers_feedback_to_cx(db: Database, team: Team, bot: Bot) -> None:
    maya = await actor_for(db, MAYA)
    card = await ask(bot, maya, "account acme rockets")
    form = as_form(
        await bot.handle(action(maya, "feedback.open_form", button(card, "Send feedback to CX").payload))
    )
    assert form.payload["account_id"] == team.acme_rockets
    assert form.inputs[0].label == "Feedback about Acme Rockets"


async def test_lists_filter_by_state_person_account_and_tag(db: Database, team: Team, bot: Bot) -> None:
    priya = await actor_for(db, PRIYA)
    maya = await actor_for(db, MAYA)
    leo = await actor_for(db, LEO)
    await ask(bot, priya, "feedback acme rockets exports are slow #perf")
    await ask(bot, priya, "feedback brightwater loves the new dashboard #praise")
    await ask(bot, maya, "feedback #bug saved reports break")
    async with db.sessions() as session:
        ids = list((await session.scalars(select(FeedbackItem.id).order_by(FeedbackItem.id))).all())
    await transition(db, item_id=ids[0], actor=maya, to_state="resolved", note="done", now=NOW)

    mine = text_of(await ask(bot, maya, "feedback"))
    assert "saved reports break" in mine and "exports are slow" not in mine
    cx = text_of(await ask(bot, priya, "feedback open"))
    assert "saved reports break" in cx and "loves the new dashboard" in cx and "exports are slow" not in cx
    assert "loves the new dashboard" in text_of(await ask(bot, leo, "feedback mine"))
    account = await ask(bot, maya, "feedback acme rockets")
    assert "exports are slow" in text_of(account) and "✅ Resolved" in text_of(account)
    assert account.buttons == ()
    tagged = text_of(await ask(bot, await actor_for(db, SAM), "feedback #praise"))
    assert "loves the new dashboard" in tagged and "saved reports" not in tagged
    assert "none" in text_of(await ask(bot, leo, "feedback #bug"))


async def test_strongly_negative_feedback_from_chat_is_urgent_and_marked(
    db: Database, team: Team, bot: Bot
) -> None:
    priya = await actor_for(db, PRIYA)
    reply = await ask(
        bot, priya, "feedback acme rockets This is the worst support ever: awful, slow and useless."
    )
    item = await only_item(db)
    assert item.urgent and item.sentiment is not None and item.sentiment <= -0.6
    assert "(🚨 urgent: strongly negative, no tags)" in text_of(reply)
    rows = await outbox_rows(db)
    assert f"feedback:{item.id}:new:{team.jonas}" in rows  # Maya's manager hears, as for any urgent item
    listed = text_of(await ask(bot, await actor_for(db, MAYA), "feedback"))
    assert f"🚨 ⚠️ Strongly negative ({item.sentiment:+.2f}) 🆕 New #{item.id}" in listed
    acknowledged = as_reply(
        await bot.handle(action(await actor_for(db, MAYA), "feedback.ack", {"item_id": item.id}))
    )
    assert "⚠️ Strongly negative" in text_of(acknowledged)
