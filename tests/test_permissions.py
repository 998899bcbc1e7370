"""Who may change what, checked again on every click and submit; and who is asking in the first place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from bot.core.dispatch import Bot
from bot.core.identity import find_by_email, find_by_platform_id, resolve
from bot.core.permissions import can_change_account, can_manage_settings
from bot.types import Actor, Form, Platform, Reply, Request, Response
from storage.db import Database
from storage.models import Account, FollowUp, Milestone, Person
from tests.factories import (
    JONAS,
    LEO,
    MAYA,
    OLGA,
    PRIYA,
    SAM,
    Team,
    action,
    actor_for,
    add_person,
    as_form,
    as_reply,
    ask,
    audit_events,
    button,
    command,
    count,
    get_row,
    make_bot,
    seed_team,
    submit,
)

REFUSED = (
    "Only the owner of Acme Rockets, their manager, or an admin can change its follow-ups and milestones."
)
SEEDED_FOLLOW_UPS = 6


@pytest.fixture
async def team(db: Database) -> Team:
    return await seed_team(db)


@pytest.fixture
def bot(db: Database) -> Bot:
    return make_bot(db)


# ----------------------------------------------------------------------------------------------- rules


def person(role: str, person_id: int = 10, manager_id: int | None = None) -> Actor:
    return Actor(Platform.SLACK, "U1", person_id=person_id, role=role, manager_id=manager_id)


@pytest.mark.parametrize(
    ("actor", "owner_id", "owner_manager_id", "allowed"),
    [
        (person("csm", 10), 10, 20, True),  # the owner
        (person("csm", 11), 10, 20, False),  # another CSM
        (person("cs_manager", 20), 10, 20, True),  # the owner's manager
        (person("cs_manager", 21), 10, 20, False),  # another manager
        (person("cx", 30), 10, 20, False),
        (person("admin", 40), 10, 20, True),
        (person("admin", 40), None, None, True),  # admins also for unowned accounts
        (person("cs_manager", 20), None, None, False),
        (person("csm", 10), None, None, False),
        (Actor(Platform.SLACK, "U404"), None, None, False),  # unregistered
        (Actor(Platform.SLACK, "U404", role="admin"), 10, 20, True),  # role is what counts for admins
    ],
)
def test_who_may_change_an_account(
    actor: Actor, owner_id: int | None, owner_manager_id: int | None, allowed: bool
) -> None:
    assert can_change_account(actor, owner_id=owner_id, owner_manager_id=owner_manager_id) is allowed


@pytest.mark.parametrize(
    ("role", "allowed"), [("csm", False), ("cx", False), ("cs_manager", True), ("admin", True)]
)
def test_who_may_manage_settings(role: str, allowed: bool) -> None:
    assert can_manage_settings(person(role)) is allowed


# ---------------------------------------------------------------------------- every change, every role


@dataclass(frozen=True)
class Change:
    """One way to change Acme Rockets (owned by Maya), and how to see whether it happened."""

    name: str
    request: Callable[[Actor, Team], Request]
    happened: Callable[[Database, Team], Awaitable[bool]]


async def follow_up_logged(db: Database, team: Team) -> bool:
    return await count(db, FollowUp) > SEEDED_FOLLOW_UPS


async def call_done(db: Database, team: Team) -> bool:
    return bool((await get_row(db, FollowUp, team.call_cfo)).status == "done")


async def call_snoozed(db: Database, team: Team) -> bool:
    return (await get_row(db, FollowUp, team.call_cfo)).snoozed_until is not None


async def qbr_done(db: Database, team: Team) -> bool:
    return (await get_row(db, Milestone, team.qbr_nov)).completed_at is not None


async def qbr_snoozed(db: Database, team: Team) -> bool:
    return (await get_row(db, Milestone, team.qbr_nov)).snoozed_until is not None


def save_request(actor: Actor, team: Team) -> Request:
    form = Form(title="Log follow-up", inputs=(), submit_action="followup.save")
    request = submit(actor, form, {"kind": "call", "summary": "Talked to the CFO"})
    return Request(
        kind=request.kind,
        actor=actor,
        address=request.address,
        action=request.action,
        payload={"account_id": team.acme_rockets},
        values=request.values,
    )


async def nothing(_db: Database, _team: Team) -> bool:
    return False


CHANGES = [
    Change("log command", lambda a, t: command(a, "log acme rockets"), nothing),
    Change(
        "log button", lambda a, t: action(a, "followup.open_form", {"account_id": t.acme_rockets}), nothing
    ),
    Change("log submit", save_request, follow_up_logged),
    Change("follow-up done", lambda a, t: action(a, "followup.done", {"followup_id": t.call_cfo}), call_done),
    Change(
        "follow-up snooze",
        lambda a, t: action(a, "followup.snooze", {"followup_id": t.call_cfo, "days": 7}),
        call_snoozed,
    ),
    Change("milestone done", lambda a, t: action(a, "milestone.done", {"milestone_id": t.qbr_nov}), qbr_done),
    Change(
        "milestone snooze",
        lambda a, t: action(a, "milestone.snooze", {"milestone_id": t.qbr_nov, "days": 1}),
        qbr_snoozed,
    ),
]
ROLES = [
    (MAYA, True),  # the CSM who owns the account
    (LEO, False),  # another CSM
    (JONAS, True),  # the manager of the owner
    (OLGA, False),  # a manager, not the owner's
    (PRIYA, False),  # CX
    (SAM, True),  # admin
]


@pytest.mark.parametrize(("email", "allowed"), ROLES, ids=[e.split("@")[0] for e, _ in ROLES])
@pytest.mark.parametrize("change", CHANGES, ids=[c.name for c in CHANGES])
async def test_changes_by_role(
    db: Database, bot: Bot, team: Team, change: Change, email: str, allowed: bool
) -> None:
    actor = await actor_for(db, email)
    response = await bot.handle(change.request(actor, team))
    if allowed:
        if change.happened is nothing:
            assert as_form(response).payload == {"account_id": team.acme_rockets}
            assert await audit_events(db) == []
        else:
            assert isinstance(response, Reply) and REFUSED not in response.summary
            assert await change.happened(db, team)
            [event] = await audit_events(db)
            assert (event.actor_id, event.actor_label) == (actor.person_id, email)
    else:
        assert as_reply(response).summary == REFUSED
        assert not await change.happened(db, team)
        assert await audit_events(db) == []
        assert await count(db, FollowUp) == SEEDED_FOLLOW_UPS


async def test_only_admins_may_change_an_unowned_account(db: Database, bot: Bot, team: Team) -> None:
    for email in (MAYA, JONAS, PRIYA):
        reply = await ask(bot, await actor_for(db, email), "log nimbus")
        assert reply.summary.startswith("Only the owner of Nimbus Freight, their manager, or an admin")
    form = as_form(await bot.handle(command(await actor_for(db, SAM), "log nimbus")))
    assert form.payload == {"account_id": team.nimbus}


async def test_reading_is_open_to_everyone_registered(db: Database, bot: Bot, team: Team) -> None:
    for email in (MAYA, LEO, JONAS, OLGA, PRIYA, SAM):
        actor = await actor_for(db, email)
        for text in ("account acme rockets", "followups acme rockets", "milestones acme rockets", "risk"):
            reply = await ask(bot, actor, text)
            assert "Only the owner" not in reply.summary, (email, text)


# ------------------------------------------------------------------------------------ forged payloads


async def test_forged_done_button_for_someone_elses_follow_up(db: Database, bot: Bot, team: Team) -> None:
    leo = await actor_for(db, LEO)
    own = button(await ask(bot, leo, "followups brightwater"), "Done")
    forged = action(leo, own.action, {**own.payload, "followup_id": team.call_cfo})
    assert as_reply(await bot.handle(forged)).summary == REFUSED
    assert (await get_row(db, FollowUp, team.call_cfo)).status == "open"
    assert await audit_events(db) == []
    # The genuine button still works for him.
    assert as_reply(await bot.handle(action(leo, own.action, own.payload))).summary.startswith("✅ Done")


async def test_forged_milestone_buttons_for_an_account_he_does_not_own(
    db: Database, bot: Bot, team: Team
) -> None:
    leo = await actor_for(db, LEO)
    for name, payload in [
        ("milestone.done", {"milestone_id": team.qbr_nov}),
        ("milestone.snooze", {"milestone_id": team.qbr_nov, "days": 7}),
        ("milestone.snooze", {"milestone_id": team.renewal_jan, "days": 1}),
    ]:
        assert as_reply(await bot.handle(action(leo, name, payload))).summary == REFUSED
    for milestone_id in (team.qbr_nov, team.renewal_jan):
        stored = await get_row(db, Milestone, milestone_id)
        assert (stored.completed_at, stored.snoozed_until) == (None, None)
    assert await audit_events(db) == []


async def test_forged_form_submit_for_an_account_he_does_not_own(db: Database, bot: Bot, team: Team) -> None:
    leo = await actor_for(db, LEO)
    form = as_form(await bot.handle(command(leo, "log brightwater")))
    forged = Form(
        title=form.title,
        inputs=form.inputs,
        submit_action=form.submit_action,
        payload={"account_id": team.acme_rockets},
    )
    reply = await bot.handle(submit(leo, forged, {"kind": "call", "summary": "Planted"}))
    assert as_reply(reply).summary == REFUSED
    assert await count(db, FollowUp) == SEEDED_FOLLOW_UPS
    assert await audit_events(db) == []


async def test_permission_is_checked_when_the_button_is_clicked_not_when_shown(
    db: Database, bot: Bot, team: Team
) -> None:
    maya = await actor_for(db, MAYA)
    listed = await ask(bot, maya, "milestones acme rockets")
    form = as_form(await bot.handle(command(maya, "log acme rockets")))
    # The account moves to Leo before Maya clicks.
    async with db.transaction() as s:
        account = await s.get(Account, team.acme_rockets)
        assert account is not None
        account.owner_id = team.leo
    moved = REFUSED
    assert (
        as_reply(await bot.handle(action(maya, listed.buttons[0].action, listed.buttons[0].payload))).summary
        == moved
    )
    assert (
        as_reply(await bot.handle(submit(maya, form, {"kind": "call", "summary": "Late"}))).summary == moved
    )
    assert not await qbr_done(db, team)
    assert await audit_events(db) == []
    # Olga, Leo's manager, now may.
    olga = await actor_for(db, OLGA)
    reply = await bot.handle(action(olga, listed.buttons[0].action, listed.buttons[0].payload))
    assert as_reply(reply).summary == "✅ QBR Nov 2026 for Acme Rockets is done."


@pytest.mark.parametrize(
    "value",
    [2**31, 2**40, "99999999999999999999", -(2**31) - 1, "1e3", "", None, [1], float("inf"), float("nan")],
)
async def test_forged_ids_of_any_shape_are_refused_without_a_crash(
    db: Database, bot: Bot, team: Team, value: object
) -> None:
    maya = await actor_for(db, MAYA)
    for name, key in [
        ("account.open", "account_id"),
        ("milestones.of_account", "account_id"),
        *([("followup.open_form", "account_id")] if value is not None else []),  # None: asks which account
        ("followup.done", "followup_id"),
        ("milestone.done", "milestone_id"),
        ("milestone.snooze", "milestone_id"),
    ]:
        response = await bot.handle(action(maya, name, {key: value, "days": 1}))  # type: ignore[dict-item]
        summary = as_reply(response).summary
        assert summary == "That button is missing what it refers to. Run the command again.", (name, summary)
    assert await audit_events(db) == []


@pytest.mark.parametrize("value", [0, -7, 2**31 - 1])
async def test_ids_that_match_nothing(db: Database, bot: Bot, team: Team, value: int) -> None:
    maya = await actor_for(db, MAYA)
    response: Response = await bot.handle(action(maya, "account.open", {"account_id": value}))
    assert as_reply(response).summary == "That account no longer exists."
    response = await bot.handle(action(maya, "milestone.done", {"milestone_id": value}))
    assert as_reply(response).summary == "That milestone no longer exists."


async def test_more_button_lists_only_what_the_clicker_may_see(db: Database, bot: Bot, team: Team) -> None:
    leo = await actor_for(db, LEO)
    # A More button built for Maya's `my`, clicked by Leo, shows Leo's accounts.
    reply = as_reply(await bot.handle(action(leo, "page.more", {"command": "my", "args": "", "offset": 0})))
    assert [b.label for b in reply.buttons] == ["Grünfeld Maschinenbau", "Brightwater Logistics"]


# -------------------------------------------------------------------------------------------- identity


async def test_find_by_email_ignores_case_and_spaces(db: Database, team: Team) -> None:
    actor = await find_by_email(db, Platform.CONSOLE, "  Maya@Example.COM ")
    assert actor is not None
    assert (actor.person_id, actor.email, actor.name, actor.role) == (team.maya, MAYA, "Maya Chen", "csm")
    assert (actor.manager_id, actor.timezone) == (team.jonas, "America/New_York")
    assert await find_by_email(db, Platform.CONSOLE, "nobody@example.com") is None


@pytest.mark.parametrize("platform", [Platform.SLACK, Platform.TEAMS])
async def test_an_email_match_remembers_the_platform_id(db: Database, team: Team, platform: Platform) -> None:
    assert await find_by_platform_id(db, platform, "ID-MAYA") is None
    first = await resolve(db, platform, "ID-MAYA", email=MAYA)
    assert (first.person_id, first.platform, first.platform_user_id) == (team.maya, platform, "ID-MAYA")
    again = await find_by_platform_id(db, platform, "ID-MAYA")
    assert again is not None and again.person_id == team.maya
    assert (await resolve(db, platform, "ID-MAYA")).person_id == team.maya  # no email needed any more


async def test_a_platform_id_held_by_someone_else_is_not_taken(db: Database, team: Team) -> None:
    await add_person(db, "kim@example.com", "Kim Lee", "csm", slack_user_id="U0KIM")
    actor = await find_by_email(db, Platform.SLACK, MAYA, "U0KIM")
    assert actor is not None and actor.person_id == team.maya
    kim = await find_by_platform_id(db, Platform.SLACK, "U0KIM")
    assert kim is not None and kim.email == "kim@example.com"
    assert (await get_row(db, Person, team.maya)).slack_user_id is None


async def test_unknown_people_resolve_to_unregistered_actors(db: Database, bot: Bot, team: Team) -> None:
    unknown = await resolve(db, Platform.SLACK, "U0EVE", email="eve@example.com")
    assert unknown == Actor(platform=Platform.SLACK, platform_user_id="U0EVE", email="eve@example.com")
    assert not unknown.is_registered
    reply = await ask(bot, unknown, "account acme rockets")
    assert reply.summary.startswith("You are not registered with Touchpoint")
    assert "Acme" not in reply.summary
    assert await find_by_platform_id(db, Platform.CONSOLE, MAYA) is None  # the console links nothing
