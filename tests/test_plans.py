"""Success plans through the core on a real database: the plan card, the Add outcome form and its checks,
Mark achieved (which tells the owner once), sharing an achieved outcome to a channel, who may do what,
and the highlights the account card and digest show."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.core.dispatch import Bot
from bot.health.inputs import OutcomeInput
from bot.health.outcomes import OutcomeState, Progress
from bot.serialize import reply_from_dict
from bot.success.plan_text import plan_highlights, progress_bar
from bot.types import Actor, Form, Header, InputKind, Platform, Reply
from handlers.plans_form import parse_target
from storage.db import Database
from storage.models import OutboxMessage, Outcome, Person, TeamsConversation, UsageMetric
from tests.factories import (
    JONAS,
    LEO,
    MAYA,
    NOW,
    PRIYA,
    SAM,
    TODAY,
    Team,
    action,
    actor_for,
    as_form,
    as_reply,
    ask,
    audit_events,
    button,
    click,
    command,
    count,
    day,
    make_bot,
    seed_team,
    submit,
    text_of,
)

DUE = day(120)


@pytest.fixture
async def team(db: Database) -> Team:
    team = await seed_team(db)
    async with db.transaction() as session:
        # 120 weekly active users at Acme Rockets for the last ten days; Maya is on Slack.
        for offset in range(10):
            session.add(
                UsageMetric(account_id=team.acme_rockets, day=day(-offset), metric="active_users", value=120)
            )
        await session.execute(update(Person).where(Person.id == team.maya).values(slack_user_id="UMAYA"))
    return team


@pytest.fixture
def bot(db: Database) -> Bot:
    return make_bot(db)


@pytest.fixture
async def maya(db: Database, team: Team) -> Actor:
    return await actor_for(db, MAYA)


def good_values(**changes: str) -> dict[str, str]:
    values = {
        "outcome": "200 weekly active users",
        "metric": "active_users",
        "target": "200",
        "due_date": DUE.isoformat(),
        "customer_owner": "Dana Scully",
    }
    return {**values, **changes}


async def add_outcome(bot: Bot, actor: Actor, **changes: str) -> Reply | Form:
    form = as_form(await bot.handle(command(actor, "plan acme rockets add")))
    response = await bot.handle(submit(actor, form, good_values(**changes)))
    assert isinstance(response, Reply | Form)
    return response


async def outcomes(db: Database) -> list[Outcome]:
    async with db.sessions() as session:
        return list((await session.scalars(select(Outcome).order_by(Outcome.id))).all())


async def outbox_rows(db: Database) -> list[OutboxMessage]:
    async with db.sessions() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


# ----------------------------------------------------------------------------------------- the card


async def test_an_empty_plan_says_so_and_offers_add_outcome(bot: Bot, maya: Actor) -> None:
    reply = await ask(bot, maya, "plan acme rockets")
    assert text_of(reply) == (
        "# Success plan: Acme Rockets\n"
        "No success plan yet for **Acme Rockets**. Add the outcomes the customer wants to reach.\n"
        "[Add outcome]"
    )
    assert reply.shared is False
    form = as_form(await bot.handle(action(maya, "plan.open_form", button(reply, "Add outcome").payload)))
    assert form.title == "Add outcome"


async def test_plan_looks_accounts_up_like_account_does(bot: Bot, maya: Actor) -> None:
    choices = await ask(bot, maya, "plan acme")
    assert [b.label for b in choices.buttons] == ["Acme Robotics", "Acme Rockets"]
    picked = as_reply(await bot.handle(click(maya, button(choices, "Acme Rockets"))))
    assert picked.blocks[0] == Header("Success plan: Acme Rockets")
    adding = await ask(bot, maya, "plan acme add")
    assert {b.action for b in adding.buttons} == {"plan.open_form"}
    nothing = await ask(bot, maya, "plan zzzzqqq")
    assert nothing.summary.startswith("No account matches “zzzzqqq”.")
    asked = await ask(bot, maya, "plan")
    assert "Which account?" in asked.summary


async def test_the_card_shows_progress_value_target_due_date_and_customer_owner(
    bot: Bot, maya: Actor, db: Database
) -> None:
    await add_outcome(bot, maya)
    manual = {"outcome": "Exec sponsor signs off the rollout", "metric": "manual", "target": ""}
    await add_outcome(bot, maya, **manual, due_date=str(day(30)))
    reply = await ask(bot, maya, "plan acme rockets share")
    assert reply.shared is True
    # Defined today on a flat metric (120 for ten days): the line says nothing yet, and at that pace
    # it stays 120, so it is at risk from its first day.
    assert text_of(reply) == (
        "# Success plan: Acme Rockets\n"
        "🔴 **200 weekly active users** · at risk\n"
        "▱▱▱▱▱▱▱▱▱▱ 0% · 120 weekly active users, target 200 · due Thu 25 Mar 2027 (in 120 days)"
        " · customer owner: Dana Scully\n"
        "_at the last 10 days' pace: 120 by the due date_\n"
        "⏳ **Exec sponsor signs off the rollout** · awaiting\n"
        "marked achieved by a person · due Fri 25 Dec 2026 (in 30 days) · customer owner: Dana Scully\n"
        "[Mark achieved]\n"
        "2 outcomes: 1 at risk, 1 awaiting\n"
        "[Add outcome]"
    )


async def test_an_outcome_behind_its_line_is_at_risk_with_a_bar_and_a_note(
    bot: Bot, maya: Actor, db: Database, team: Team
) -> None:
    async with db.transaction() as session:
        session.add(
            Outcome(
                account_id=team.acme_rockets,
                title="Adopt 12 features",
                metric="features_adopted",
                target=12,
                baseline=2,
                start_date=day(-60),
                due_date=day(20),
                status="open",
            )
        )
        session.add(UsageMetric(account_id=team.acme_rockets, day=TODAY, metric="features_adopted", value=4))
    reply = await ask(bot, maya, "plan acme rockets")
    lines = text_of(reply).splitlines()
    assert lines[1:4] == [
        "🔴 **Adopt 12 features** · at risk",
        "▰▰▱▱▱▱▱▱▱▱ 20% · 4 features adopted, target 12 · due Tue 15 Dec 2026 (in 20 days)",
        "_behind the line to the target: 9.5 features adopted by today_",
    ]
    assert reply.summary == "Acme Rockets success plan: 1 outcome: 1 at risk"


def test_progress_bar_is_clamped_and_rounded() -> None:
    assert progress_bar(0.4) == "▰▰▰▰▱▱▱▱▱▱ 40%"
    assert progress_bar(1.7) == "▰▰▰▰▰▰▰▰▰▰ 100%"
    assert progress_bar(-0.2) == "▱▱▱▱▱▱▱▱▱▱ 0%"
    assert progress_bar(None) == "▱▱▱▱▱▱▱▱▱▱ 0%"
    assert progress_bar(0.26) == "▰▰▰▱▱▱▱▱▱▱ 26%"


# ----------------------------------------------------------------------------------------- the form


async def test_adding_a_measured_outcome_stores_baseline_start_and_comparison(
    bot: Bot, maya: Actor, db: Database, team: Team
) -> None:
    reply = as_reply(await add_outcome(bot, maya))
    assert "✅ Added “200 weekly active users” to the plan." in text_of(reply)
    [row] = await outcomes(db)
    assert (row.account_id, row.title, row.metric, row.comparison) == (
        team.acme_rockets,
        "200 weekly active users",
        "active_users",
        "at_least",
    )
    assert (row.target, row.baseline, row.start_date, row.due_date) == (200.0, 120.0, TODAY, DUE)
    assert (row.customer_owner, row.status, row.created_by_id) == ("Dana Scully", "open", team.maya)
    [event] = [e for e in await audit_events(db) if e.action == "outcome.added"]
    assert (event.object_type, event.object_id, event.actor_id) == ("outcome", str(row.id), team.maya)
    assert event.details["metric"] == "active_users"


async def test_an_at_most_metric_takes_its_comparison_and_a_manual_outcome_has_no_numbers(
    bot: Bot, maya: Actor, db: Database
) -> None:
    await add_outcome(bot, maya, outcome="Tickets under control", metric="open_tickets", target="5")
    await add_outcome(bot, maya, outcome="Kickoff deck signed", metric="manual", target="", customer_owner="")
    tickets, manual = await outcomes(db)
    assert (tickets.comparison, tickets.target, tickets.baseline) == ("at_most", 5.0, None)
    assert (manual.metric, manual.target, manual.baseline, manual.customer_owner) == (None, None, None, None)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"target": ""}, "target", "A measured outcome needs a target, for example 200."),
        ({"target": "lots"}, "target", "The target must be a number, for example 200 or 4.5."),
        ({"target": "nan"}, "target", "The target must be a number, for example 200 or 4.5."),
        ({"metric": "nps", "target": "150"}, "target", "A target for NPS must be between -100 and 100."),
        (
            {"metric": "manual", "target": "3"},
            "target",
            "A manual outcome has no target: leave it empty, or choose what measures it.",
        ),
        ({"due_date": day(-1).isoformat()}, "due_date", "Due date cannot be in the past."),
        ({"metric": "weather"}, "metric", "Choose one of: "),
        ({"outcome": "  "}, "outcome", "Outcome for Acme Rockets is required."),
    ],
)
async def test_form_problems_are_shown_under_their_field_and_nothing_is_saved(
    bot: Bot, maya: Actor, db: Database, changes: dict[str, str], field: str, message: str
) -> None:
    form = as_form(await add_outcome(bot, maya, **changes))
    assert form.errors[field].startswith(message)
    assert form.inputs[2].initial == (changes.get("target", "200") or None)  # what was typed is kept
    assert await count(db, Outcome) == 0


async def test_a_title_already_on_the_plan_is_refused_in_any_case(
    bot: Bot, maya: Actor, db: Database
) -> None:
    await add_outcome(bot, maya)
    form = as_form(await add_outcome(bot, maya, outcome="200  WEEKLY active users"))
    assert form.errors == {"outcome": "The plan already has an outcome called “200 WEEKLY active users”."}
    assert await count(db, Outcome) == 1


def test_targets_accept_thousands_separators_and_percent() -> None:
    assert parse_target("1,200", "active_users") == (1200.0, None)
    assert parse_target("80 %", "csat") == (80.0, None)
    assert parse_target("", None) == (None, None)


@pytest.mark.parametrize(("email", "allowed"), [(MAYA, True), (JONAS, True), (SAM, True), (LEO, False)])
async def test_owner_their_manager_and_admins_may_add_others_may_not(
    bot: Bot, db: Database, team: Team, email: str, allowed: bool
) -> None:
    actor = await actor_for(db, email)
    opened = await bot.handle(command(actor, "plan acme rockets add"))
    # A form opened by someone else and submitted by this person is checked again on submit.
    form = as_form(await bot.handle(command(await actor_for(db, MAYA), "plan acme rockets add")))
    saved = await bot.handle(submit(actor, form, good_values()))
    if allowed:
        assert isinstance(opened, Form)
        assert await count(db, Outcome) == 1
    else:
        assert isinstance(opened, Reply) and "Only the owner of Acme Rockets" in opened.summary
        assert isinstance(saved, Reply) and "Only the owner of Acme Rockets" in saved.summary
        assert await count(db, Outcome) == 0


async def test_everyone_registered_may_read_a_plan(bot: Bot, db: Database, maya: Actor) -> None:
    await add_outcome(bot, maya)
    reply = await ask(bot, await actor_for(db, PRIYA), "plan acme rockets")
    assert "200 weekly active users" in text_of(reply)


# ------------------------------------------------------------------------------------ mark achieved


async def test_mark_achieved_records_who_and_when_and_tells_the_owner_once(
    bot: Bot, maya: Actor, db: Database, team: Team
) -> None:
    reply = as_reply(
        await add_outcome(bot, maya, outcome="Sponsor signs the plan", metric="manual", target="")
    )
    mark = button(reply, "Mark achieved")
    jonas = await actor_for(db, JONAS)
    done = as_reply(await bot.handle(action(jonas, mark.action, mark.payload)))
    assert done.replace is True
    assert (
        "✅ Marked achieved: “Sponsor signs the plan”. The account's owner gets a summary ready to share."
        in (text_of(done))
    )
    assert "Mark achieved" not in [b.label for b in done.buttons]
    [row] = await outcomes(db)
    assert (row.status, row.achieved_at, row.achieved_by_id, row.achieved_value) == (
        "achieved",
        NOW,
        team.jonas,
        None,
    )
    assert row.demonstrated_at == NOW
    again = as_reply(await bot.handle(action(maya, mark.action, mark.payload)))
    assert "“Sponsor signs the plan” is achieved already." in text_of(again)
    [message] = await outbox_rows(db)
    assert message.idempotency_key == f"outcome-achieved:{row.id}"
    assert (message.platform, message.address["target"]) == ("slack", "UMAYA")
    summary = text_of(reply_from_dict(message.payload))
    assert "Sponsor signs the plan" in summary and "marked by Jonas Albrecht" in summary
    assert [e.action for e in await audit_events(db)].count("outcome.achieved") == 1


async def test_two_clicks_at_once_mark_it_once_and_tell_the_owner_once(
    bot: Bot, maya: Actor, db: Database
) -> None:
    await add_outcome(bot, maya, metric="manual", target="")
    [row] = await outcomes(db)
    clicks = [bot.handle(action(maya, "plan.achieve", {"outcome_id": row.id})) for _ in range(2)]
    answers = [as_reply(r) for r in await asyncio.gather(*clicks)]
    assert {text_of(a).splitlines()[1] for a in answers} == {
        "✅ Marked achieved: “200 weekly active users”. The account's owner gets a summary ready to share.",
        "“200 weekly active users” is achieved already.",
    }
    assert await count(db, OutboxMessage) == 1
    assert [e.action for e in await audit_events(db)].count("outcome.achieved") == 1


async def test_mark_achieved_on_a_measured_outcome_keeps_the_value_of_the_day(
    bot: Bot, maya: Actor, db: Database
) -> None:
    await add_outcome(bot, maya)
    [row] = await outcomes(db)
    await bot.handle(action(maya, "plan.achieve", {"outcome_id": row.id}))
    [row] = await outcomes(db)
    assert (row.status, row.achieved_value) == ("achieved", 120.0)


async def test_mark_achieved_is_refused_to_others_and_for_unknown_outcomes(
    bot: Bot, maya: Actor, db: Database
) -> None:
    await add_outcome(bot, maya, metric="manual", target="")
    [row] = await outcomes(db)
    leo = await actor_for(db, LEO)
    refused = as_reply(await bot.handle(action(leo, "plan.achieve", {"outcome_id": row.id})))
    assert "Only the owner of Acme Rockets" in refused.summary
    gone = as_reply(await bot.handle(action(maya, "plan.achieve", {"outcome_id": 999})))
    assert gone.summary == "That outcome no longer exists."
    forged = as_reply(await bot.handle(action(maya, "plan.achieve", {"outcome_id": "x"})))
    assert "missing what it refers to" in forged.summary
    [row] = await outcomes(db)
    assert row.status == "open" and await count(db, OutboxMessage) == 0


# -------------------------------------------------------------------------------------------- share


async def achieved_outcome(bot: Bot, maya: Actor, db: Database) -> int:
    await add_outcome(bot, maya)
    [row] = await outcomes(db)
    await bot.handle(action(maya, "plan.achieve", {"outcome_id": row.id}))
    return row.id


def on(actor: Actor, platform: Platform) -> Actor:
    return replace(actor, platform=platform)


async def test_share_on_slack_asks_for_any_channel_and_queues_a_public_post(
    bot: Bot, maya: Actor, db: Database
) -> None:
    outcome_id = await achieved_outcome(bot, maya, db)
    slack = on(maya, Platform.SLACK)
    form = as_form(await bot.handle(action(slack, "plan.share", {"outcome_id": outcome_id})))
    [channel] = form.inputs
    assert (channel.kind, channel.options) == (InputKind.CONVERSATION, ())
    posted = as_reply(await bot.handle(submit(slack, form, {"channel": "C0WINS"})))
    assert posted.summary == "📣 Posted to <#C0WINS>."
    again = as_reply(await bot.handle(submit(slack, form, {"channel": "C0WINS"})))
    assert again.summary == "It was posted to <#C0WINS> already."
    shared = [m for m in await outbox_rows(db) if m.purpose == "outcome_share"]
    assert len(shared) == 1
    assert shared[0].address == {
        "platform": "slack",
        "target": "C0WINS",
        "thread": None,
        "user": None,
        "private": False,
    }
    summary = reply_from_dict(shared[0].payload)
    assert summary.buttons == ()
    assert "What was agreed: 200 weekly active users by Thu 25 Mar 2027" in text_of(summary)


async def test_share_on_teams_offers_the_channels_touchpoint_is_in(
    bot: Bot, maya: Actor, db: Database
) -> None:
    outcome_id = await achieved_outcome(bot, maya, db)
    teams = on(maya, Platform.TEAMS)
    none_yet = as_reply(await bot.handle(action(teams, "plan.share", {"outcome_id": outcome_id})))
    assert "Add Touchpoint to a team channel" in none_yet.summary
    async with db.transaction() as session:
        for conversation_id, kind, name in (
            ("19:wins@thread.tacv2", "channel", "Customer wins"),
            ("19:nameless@thread.tacv2", "channel", None),
            ("a:personal-chat", "personal", "Maya"),
        ):
            reference: dict[str, Any] = {"conversation": {"id": conversation_id, "name": name}}
            session.add(
                TeamsConversation(
                    conversation_id=conversation_id,
                    kind=kind,
                    service_url="https://smba.example",
                    bot_id="28:bot",
                    reference=reference,
                )
            )
    form = as_form(await bot.handle(action(teams, "plan.share", {"outcome_id": outcome_id})))
    assert [(o.value, o.label) for o in form.inputs[0].options] == [
        ("19:wins@thread.tacv2", "#Customer wins"),
        ("19:nameless@thread.tacv2", "channel 19:nameless@thread.tacv2"),
    ]
    refused = as_form(await bot.handle(submit(teams, form, {"channel": "a:personal-chat"})))
    assert refused.errors["channel"].startswith("Choose one of:")
    posted = as_reply(await bot.handle(submit(teams, form, {"channel": "19:wins@thread.tacv2"})))
    assert posted.summary == "📣 Posted to #Customer wins."
    [shared] = [m for m in await outbox_rows(db) if m.purpose == "outcome_share"]
    assert (shared.platform, shared.address["target"], shared.address["private"]) == (
        "teams",
        "19:wins@thread.tacv2",
        False,
    )


async def test_share_from_the_console_names_the_platform_of_the_channel(
    bot: Bot, maya: Actor, db: Database
) -> None:
    outcome_id = await achieved_outcome(bot, maya, db)
    form = as_form(await bot.handle(action(maya, "plan.share", {"outcome_id": outcome_id})))
    vague = as_form(await bot.handle(submit(maya, form, {"channel": "#wins"})))
    assert vague.errors == {"channel": "Name the channel as slack:C123 or teams:19:..."}
    posted = as_reply(await bot.handle(submit(maya, form, {"channel": "slack:C0WINS"})))
    assert posted.summary == "📣 Posted to <#C0WINS>."


async def test_only_an_achieved_outcome_can_be_shared(bot: Bot, maya: Actor, db: Database) -> None:
    await add_outcome(bot, maya)
    [row] = await outcomes(db)
    refused = as_reply(await bot.handle(action(maya, "plan.share", {"outcome_id": row.id})))
    assert refused.summary == "Only an achieved outcome can be shared; this one is not achieved yet."
    typed = await ask(bot, maya, f"plan share {row.id}")
    assert typed.summary == refused.summary
    unknown = await ask(bot, maya, "plan share 4242")
    assert unknown.summary == "That outcome no longer exists."


async def test_plan_share_typed_in_a_channel_shows_the_summary_there(
    bot: Bot, maya: Actor, db: Database
) -> None:
    outcome_id = await achieved_outcome(bot, maya, db)
    reply = await ask(bot, await actor_for(db, PRIYA), f"plan share {outcome_id}")
    assert reply.shared is True
    assert reply.summary == "Acme Rockets achieved “200 weekly active users”"
    assert text_of(reply).splitlines()[:2] == [
        "# 🎉 Acme Rockets: outcome achieved",
        "**200 weekly active users**",
    ]
    assert reply.buttons == ()


# --------------------------------------------------------------------------------------- highlights


def state(
    outcome_id: int, progress: Progress, *, status: str = "open", achieved_days_ago: int | None = None
) -> OutcomeState:
    achieved_at = None if achieved_days_ago is None else NOW - timedelta(days=achieved_days_ago)
    outcome = OutcomeInput(
        id=outcome_id,
        title=f"Outcome {outcome_id}",
        metric="active_users",
        comparison="at_least",
        target=200,
        baseline=100,
        start_date=day(-90),
        due_date=day(30),
        status=status,
        achieved_at=achieved_at,
        achieved_value=None,
    )
    return OutcomeState(outcome, progress, 150, 170, 0.5, "")


def test_highlights_are_the_open_outcomes_at_risk_and_those_achieved_in_the_last_seven_days() -> None:
    states = [
        state(1, Progress.AT_RISK),
        state(2, Progress.ON_TRACK),
        state(3, Progress.ACHIEVED, status="achieved", achieved_days_ago=6),
        state(4, Progress.ACHIEVED, status="achieved", achieved_days_ago=7),
        state(5, Progress.ACHIEVED),  # reached in the data, not recorded yet
        state(6, Progress.MISSED, status="missed"),
    ]
    at_risk, achieved = plan_highlights(states, TODAY)
    assert [s.outcome.id for s in at_risk] == [1]
    assert [s.outcome.id for s in achieved] == [3]
