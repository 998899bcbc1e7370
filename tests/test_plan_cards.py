"""The plan card, the owner's achievement message and the share form, as Slack, Teams and the console
show them: valid Block Kit and Adaptive Cards 1.5 (six actions a card at most), the channel picker, its
value read back; and end to end over HTTP, ``/cs plan`` with the Add outcome modal on Slack and the same
through Teams cards."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from adapters.console.session import ConsoleSession
from adapters.slack.render import modal_values, mrkdwn, render_message, render_modal
from adapters.teams.forms import render_form
from adapters.teams.render import render_reply
from bot.health.inputs import OutcomeInput
from bot.health.outcomes import OutcomeState, Progress
from bot.serialize import reply_from_dict
from bot.success.demonstrate import Achievement, owner_message, summary_reply
from bot.types import Form, FormInput, InputKind, Option, Platform, Reply, validate_form
from handlers.plans_card import plan_reply
from handlers.plans_share import share_form
from storage.db import Database
from storage.models import OutboxMessage, Outcome, Person
from tests import blockkit
from tests.adaptivecards import card_problems
from tests.factories import MAYA, Team, seed_team
from tests.slack_env import (
    MAYA as MAYA_SLACK,
)
from tests.slack_env import (
    TODAY,
    SlackEnv,
    build_demo_file,
    button,
    buttons,
    demo_copy,
    reply_text,
    slack_env,
)
from tests.slack_requests import click, modal_state, slash_command, view_submission
from tests.teams_activities import (
    TeamsUser,
    actions_of,
    execute_invoke,
    inputs_of,
    personal_message,
    press,
    user,
)
from tests.teams_env import TeamsEnv, teams_env

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def state(
    outcome_id: int,
    progress: Progress,
    *,
    metric: str | None = "active_users",
    status: str = "open",
    title: str | None = None,
    fraction: float | None = 0.4,
) -> OutcomeState:
    outcome = OutcomeInput(
        id=outcome_id,
        title=title or f"Outcome number {outcome_id} " + "with a long name " * 3,
        metric=metric,
        comparison="at_least",
        target=200.0 if metric else None,
        baseline=100.0 if metric else None,
        start_date=day(-60),
        due_date=day(60),
        status=status,
        achieved_at=NOW if status == "achieved" else None,
        achieved_value=210.0 if status == "achieved" else None,
        customer_owner="Dana Scully, VP Operations",
    )
    return OutcomeState(outcome, progress, 140.0 if metric else None, 150.0, fraction if metric else None, "")


MIXED = [
    state(1, Progress.AT_RISK),
    state(2, Progress.ON_TRACK),
    state(3, Progress.NO_DATA, fraction=None),
    state(4, Progress.AWAITING, metric=None),
    state(5, Progress.ACHIEVED, status="achieved"),
    state(6, Progress.MISSED, status="missed"),
]
ACHIEVEMENT = Achievement(
    outcome_id=5,
    account_name="Acme Rockets",
    title="200 weekly active users",
    metric="active_users",
    comparison="at_least",
    target=200.0,
    baseline=120.0,
    start_date=day(-90),
    due_date=day(30),
    customer_owner="Dana Scully",
    achieved_on=TODAY,
    achieved_value=212.0,
    achieved_by=None,
)


def teams_cards(reply: Reply) -> list[dict[str, Any]]:
    cards = render_reply(reply)
    for card in cards:
        assert card_problems(card) == []
        assert len(actions_of(card)) <= 6
    return cards


def slack_message(reply: Reply) -> dict[str, Any]:
    message = render_message(reply)
    blockkit.check_message(message)
    return message


# ---------------------------------------------------------------------------------------- rendering


def test_the_plan_card_is_valid_on_slack_and_teams() -> None:
    reply = plan_reply(1, "Acme Rockets", MIXED, TODAY, notice="✅ Added “Outcome number 6” to the plan.")
    message = slack_message(reply)
    assert [b["type"] for b in message["blocks"]] == [
        "header",
        "section",
        *["section"] * 4,
        "actions",  # Mark achieved under the open manual outcome
        *["section"] * 2,
        "context",
        "actions",
    ]
    [card] = teams_cards(reply)
    assert [a["title"] for a in actions_of(card)] == ["Mark achieved", "Add outcome"]


def test_many_manual_outcomes_fold_into_one_chooser_on_teams_and_stay_inside_slacks_limits() -> None:
    states = [state(n, Progress.AWAITING, metric=None) for n in range(1, 16)]
    reply = plan_reply(1, "Acme Rockets", states, TODAY)
    assert len(reply.buttons) == 16
    message = slack_message(reply)
    assert len(message["blocks"]) <= 50
    cards = teams_cards(reply)
    assert len(cards) == 1
    assert [a["title"] for a in actions_of(cards[0])] == ["Mark achieved", "Add outcome"]
    [chooser] = [i for i in inputs_of(cards[0]).values() if i["type"] == "Input.ChoiceSet"]
    assert len(chooser["choices"]) == 15


def test_the_empty_plan_and_the_achievement_messages_are_valid() -> None:
    for reply in (
        plan_reply(1, "Acme Rockets", [], TODAY),
        owner_message(ACHIEVEMENT),
        summary_reply(ACHIEVEMENT),
    ):
        slack_message(reply)
        teams_cards(reply)
    [card] = teams_cards(owner_message(ACHIEVEMENT))
    assert [a["title"] for a in actions_of(card)] == ["Share to a channel"]


def test_slack_shares_through_its_channel_picker_and_reads_the_choice_back() -> None:
    view = render_modal(share_form(5, (), Platform.SLACK), context={"channel": "D0DM"})
    blockkit.check_view(view)
    [block] = view["blocks"]
    assert block["element"] == {
        "type": "conversations_select",
        "action_id": "value",
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
        "placeholder": {"type": "plain_text", "text": "Choose a channel", "emoji": True},
    }
    state_values = {"channel": {"value": {"type": "conversations_select", "selected_conversation": "C0WINS"}}}
    assert modal_values({**view, "state": {"values": state_values}}) == {"channel": "C0WINS"}
    empty = {"channel": {"value": {"type": "conversations_select", "selected_conversation": None}}}
    assert modal_values({**view, "state": {"values": empty}}) == {"channel": ""}


def test_a_conversation_with_options_is_a_plain_choice_on_slack() -> None:
    form = share_form(5, (Option("C1", "#wins"), Option("C2", "#cs")), Platform.SLACK)
    view = render_modal(form, context={})
    blockkit.check_view(view)
    element = view["blocks"][0]["element"]
    assert element["type"] == "static_select"
    assert [o["value"] for o in element["options"]] == ["C1", "C2"]


def test_teams_shares_through_a_choice_of_its_channels_or_a_typed_one() -> None:
    options = (Option("19:wins@thread.tacv2", "#Customer wins"),)
    with_options = render_form(share_form(5, options, Platform.TEAMS))
    assert card_problems(with_options) == []
    channel = inputs_of(with_options)["channel"]
    assert channel["type"] == "Input.ChoiceSet"
    assert channel["choices"] == [{"title": "#Customer wins", "value": "19:wins@thread.tacv2"}]
    typed = render_form(share_form(5, (), Platform.TEAMS))
    assert card_problems(typed) == []
    assert inputs_of(typed)["channel"]["type"] == "Input.Text"


def test_the_console_asks_for_a_channel_as_text_or_by_number() -> None:
    asked: list[str] = []
    answers = iter(["slack:C0WINS", "2"])

    def read(prompt: str) -> str | None:
        asked.append(prompt)
        return next(answers)

    session = ConsoleSession(
        bot=None,  # type: ignore[arg-type]  # asking a field needs neither the bot nor a person
        actor=None,  # type: ignore[arg-type]
        read_line=read,
        show=lambda _: None,
        say=asked.append,
    )
    typed = FormInput(id="channel", label="Channel", kind=InputKind.CONVERSATION)
    assert session.ask(typed) == "slack:C0WINS"
    listed = FormInput(
        id="channel",
        label="Channel",
        kind=InputKind.CONVERSATION,
        options=(Option("a", "#a"), Option("b", "#b")),
    )
    assert session.ask(listed) == "b"
    assert asked == ["Channel (a channel): ", "  [1] #a  [2] #b", "Channel (number or name): "]


def test_validating_a_conversation_field() -> None:
    free = Form(
        title="t",
        inputs=(FormInput(id="c", label="Channel", kind=InputKind.CONVERSATION),),
        submit_action="x",
    )
    assert validate_form(free, {"c": "C0ANY"}, today=TODAY) == {}
    assert validate_form(free, {"c": " "}, today=TODAY) == {"c": "Channel is required."}
    listed = Form(
        title="t",
        inputs=(
            FormInput(id="c", label="Channel", kind=InputKind.CONVERSATION, options=(Option("C1", "#wins"),)),
        ),
        submit_action="x",
    )
    assert validate_form(listed, {"c": "C1"}, today=TODAY) == {}
    assert validate_form(listed, {"c": "C2"}, today=TODAY) == {"c": "Choose one of: #wins."}


def test_slack_text_keeps_channel_links_and_escapes_everything_else() -> None:
    assert mrkdwn("📣 Posted to <#C0WINS>.") == "📣 Posted to <#C0WINS>."
    assert mrkdwn("<!channel> <@U123> <#C1|x> a<b") == "&lt;!channel&gt; &lt;@U123&gt; &lt;#C1|x&gt; a&lt;b"


# ------------------------------------------------------------------------------------ Slack over HTTP

ACME_ROCKETS = 1  # in the demo portfolio, owned by Maya


@pytest.fixture(scope="module")
def demo_file(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_file(sqlite_template, tmp_path_factory.mktemp("plan-demo"))


@pytest.fixture
async def slack(demo_file: Path, tmp_path: Path) -> AsyncIterator[SlackEnv]:
    async with demo_copy(demo_file, tmp_path) as db, slack_env(db, tmp_path) as env:
        yield env


async def slash(env: SlackEnv, text: str) -> dict[str, Any]:
    seen = len(env.fake.of("response_url"))
    await env.post(slash_command(text, user_id=MAYA_SLACK, response_url=env.fake.response_url("cmd")))
    return (await env.fake.wait_for("response_url", seen + 1))[seen].body


async def test_slack_plan_command_and_the_add_outcome_modal(slack: SlackEnv) -> None:
    card = await slash(slack, "plan acme rockets")
    assert card["response_type"] == "ephemeral"
    assert "Success plan: Acme Rockets" in reply_text(card)
    await slack.post(
        click(
            button(card, "Add outcome"),
            user_id=MAYA_SLACK,
            response_url=slack.fake.response_url(),
            trigger_id="T-9",
        )
    )
    view = dict((await slack.fake.wait_for("views.open"))[0].body["view"])
    assert [b["block_id"] for b in view["blocks"]] == [
        "outcome",
        "metric",
        "target",
        "due_date",
        "customer_owner",
    ]
    typed: dict[str, str | None] = {
        "outcome": "Exec sponsor signs the rollout plan",
        "metric": "manual",
        "target": "12",  # a manual outcome takes no target: the modal shows the error under the field
        "due_date": day(45).isoformat(),
        "customer_owner": "Dana Scully",
    }
    refused = await slack.post(view_submission(view, modal_state(view, typed), user_id=MAYA_SLACK))
    assert refused.json() == {
        "response_action": "errors",
        "errors": {"target": "A manual outcome has no target: leave it empty, or choose what measures it."},
    }
    answer = await slack.post(
        view_submission(view, modal_state(view, {**typed, "target": None}), user_id=MAYA_SLACK)
    )
    assert (answer.status, answer.text) == (200, "")
    await slack.settle()
    posted = [c for c in slack.fake.calls if c.method in ("chat.postEphemeral", "chat.postMessage")]
    assert "Added “Exec sponsor signs the rollout plan” to the plan." in reply_text(posted[-1].body)
    async with slack.db.sessions() as session:
        saved = (
            await session.scalars(
                select(Outcome).where(Outcome.title == "Exec sponsor signs the rollout plan")
            )
        ).one()
    assert (saved.account_id, saved.metric, saved.customer_owner, saved.due_date) == (
        ACME_ROCKETS,
        None,
        "Dana Scully",
        day(45),
    )


async def test_slack_mark_achieved_then_share_to_a_picked_channel(slack: SlackEnv) -> None:
    async with slack.db.transaction() as session:
        outcome = Outcome(
            account_id=ACME_ROCKETS,
            title="Sponsor signs the QBR deck",
            start_date=day(-10),
            due_date=day(20),
            status="open",
        )
        session.add(outcome)
        await session.flush()
        outcome_id = outcome.id
    card = await slash(slack, "plan acme rockets")
    [mark] = [b for b in buttons(card) if json.loads(b["value"]) == {"outcome_id": outcome_id}]
    assert mark["text"]["text"] == "Mark achieved"
    seen = len(slack.fake.of("response_url"))
    await slack.post(click(mark, user_id=MAYA_SLACK, response_url=slack.fake.response_url("mark")))
    marked = (await slack.fake.wait_for("response_url", seen + 1))[seen].body
    assert marked["replace_original"] is True
    assert "Marked achieved: “Sponsor signs the QBR deck”" in reply_text(marked)
    async with slack.db.sessions() as session:
        message = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.idempotency_key == f"outcome-achieved:{outcome_id}")
            )
        ).one()
    assert message.address["target"] == MAYA_SLACK
    # The owner's message, as the delivery worker would post it, and its Share button clicked.
    dm = render_message(reply_from_dict(message.payload))
    await slack.post(
        click(
            button(dm, "Share to a channel"),
            user_id=MAYA_SLACK,
            response_url=slack.fake.response_url(),
            trigger_id="T-7",
        )
    )
    view = dict((await slack.fake.wait_for("views.open"))[0].body["view"])
    picked = {"channel": {"value": {"type": "conversations_select", "selected_conversation": "C0WINS"}}}
    answer = await slack.post(view_submission(view, picked, user_id=MAYA_SLACK))
    assert (answer.status, answer.text) == (200, "")
    await slack.settle()
    said = [c for c in slack.fake.calls if c.method in ("chat.postEphemeral", "chat.postMessage")][-1]
    assert "Posted to <#C0WINS>." in reply_text(said.body)
    async with slack.db.sessions() as session:
        shared = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.purpose == "outcome_share"))
        ).one()
    assert (shared.address["target"], shared.address["private"]) == ("C0WINS", False)


# ------------------------------------------------------------------------------------ Teams over HTTP

MAYA_TEAMS = user("maya", "Maya Chen", MAYA)


@pytest.fixture
async def teams(db: Database, tmp_path: Path) -> AsyncIterator[TeamsEnv]:
    team: Team = await seed_team(db)
    async with db.transaction() as session:
        await session.execute(
            update(Person).where(Person.id == team.maya).values(teams_user_id=MAYA_TEAMS.aad)
        )
    async for env in teams_env(db, tmp_path):
        yield env


async def teams_card(env: TeamsEnv, who: TeamsUser, text: str) -> dict[str, Any]:
    seen = len(env.fake.of("send"))
    await env.post(personal_message(text, who, service_url=env.service_url))
    return dict((await env.fake.wait_for("send", count=seen + 1))[seen].card)


async def test_teams_plan_card_and_the_add_outcome_form(teams: TeamsEnv) -> None:
    card = await teams_card(teams, MAYA_TEAMS, "plan acme rockets")
    assert "Success plan: Acme Rockets" in card["body"][0]["text"]
    data, verb = press(card, "Add outcome")
    seen = len(teams.fake.of("send"))
    opened = execute_invoke(data, MAYA_TEAMS, verb=verb, service_url=teams.service_url, card_id="p1")
    assert (await teams.post(opened)).status == 200  # the form comes as a new message beside the card
    form = dict((await teams.fake.wait_for("send", count=seen + 1))[seen].card)
    assert list(inputs_of(form)) == ["outcome", "metric", "target", "due_date", "customer_owner"]
    data, verb = press(
        form,
        "Add",
        outcome="200 weekly active users",
        metric="active_users",
        target="200",
        due_date=day(90).isoformat(),
        customer_owner="",
    )
    answer = await teams.post(
        execute_invoke(data, MAYA_TEAMS, verb=verb, service_url=teams.service_url, card_id="f1")
    )
    shown = "\n".join(b.get("text", "") for b in answer.card["body"])
    assert "Added “200 weekly active users” to the plan." in shown
    assert "200 weekly active users" in shown and "no data yet, target 200" in shown
    async with teams.db.sessions() as session:
        saved = (await session.scalars(select(Outcome))).one()
    assert (saved.metric, saved.target, saved.baseline) == ("active_users", 200.0, None)
