"""Milestones through the core with a real database: the lists, Done and Snooze, and their audit trail."""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.dispatch import Bot
from bot.types import Actor, Reply
from storage.db import Database
from storage.models import Milestone
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
    add_account,
    add_milestone,
    as_reply,
    ask,
    audit_events,
    button,
    day,
    get_row,
    make_bot,
    press,
    seed_team,
    text_of,
)


@pytest.fixture
async def team(db: Database) -> Team:
    return await seed_team(db)


@pytest.fixture
def bot(db: Database) -> Bot:
    return make_bot(db)


@pytest.fixture
async def maya(db: Database, team: Team) -> Actor:
    return await actor_for(db, MAYA)


def item_lines(reply: Reply) -> list[str]:
    return [line for line in text_of(reply).splitlines() if line.startswith("**")]


QBR_NOV = "**Acme Rockets**: QBR Nov 2026 · ⚠️ overdue 9 days"
PROPOSAL = "**Acme Rockets**: Renewal proposal sent · ⚠️ overdue 4 days"
RENEWAL_JAN = "**Acme Rockets**: Renewal Jan 2027 · due in 41 days (Tue 05 Jan 2027)"
GO_LIVE = "**Café Lumière Studios**: Go-live · due in 3 days (Sat 28 Nov 2026)"
QBR_DEC = "**Acme Robotics**: QBR Dec 2026 · due in 10 days (Sat 05 Dec 2026)"
FIRST_VALUE = "**Grünfeld Maschinenbau**: First value · ⚠️ overdue 45 days"
BRIGHTWATER_QBR = "**Brightwater Logistics**: QBR Q4 · due in 6 days (Tue 01 Dec 2026)"


@pytest.mark.parametrize(
    ("email", "typed", "title", "lines"),
    [
        (MAYA, "milestones", "Milestones overdue or due in 14 days", [QBR_NOV, PROPOSAL, GO_LIVE, QBR_DEC]),
        (MAYA, "milestone overdue", "Overdue milestones", [QBR_NOV, PROPOSAL]),
        (MAYA, "milestones WEEK", "Milestones this week", [GO_LIVE]),
        (
            MAYA,
            "milestones acme rockets",
            "Open milestones for Acme Rockets",
            [QBR_NOV, PROPOSAL, RENEWAL_JAN],
        ),
        (MAYA, "milestones GRU-001", "Open milestones for Grünfeld Maschinenbau", [FIRST_VALUE]),
        (LEO, "milestones", "Milestones overdue or due in 14 days", [FIRST_VALUE, BRIGHTWATER_QBR]),
        (JONAS, "milestones overdue", "Overdue milestones", [QBR_NOV, PROPOSAL]),  # his team's
        (OLGA, "milestones week", "Milestones this week", [BRIGHTWATER_QBR]),
        (SAM, "milestones overdue", "Overdue milestones", [FIRST_VALUE, QBR_NOV, PROPOSAL]),  # everyone's
        (PRIYA, "milestones cafe", "Open milestones for Café Lumière Studios", [GO_LIVE]),
    ],
)
async def test_milestone_lists(
    db: Database, bot: Bot, team: Team, email: str, typed: str, title: str, lines: list[str]
) -> None:
    reply = await ask(bot, await actor_for(db, email), typed)
    assert text_of(reply).splitlines()[0] == f"# {title}"
    assert item_lines(reply) == lines
    assert reply.summary == f"{title}: {len(lines)} in all"
    assert [b.label for b in reply.buttons] == ["Done", "Snooze 1 day", "Snooze 1 week"] * len(lines)


@pytest.mark.parametrize(
    ("email", "typed", "text"),
    [
        (PRIYA, "milestones", "Milestones overdue or due in 14 days: none. 🎉"),
        (LEO, "milestones overdue share", "Overdue milestones: none. 🎉"),
        (MAYA, "milestones nimbus", "Open milestones for Nimbus Freight: none. 🎉"),
    ],
)
async def test_milestones_none(db: Database, bot: Bot, team: Team, email: str, typed: str, text: str) -> None:
    if email == LEO:
        async with db.transaction() as s:
            milestone = await s.get(Milestone, team.first_value)
            assert milestone is not None
            milestone.completed_at = NOW
    reply = await ask(bot, await actor_for(db, email), typed)
    assert text_of(reply) == text
    assert reply.shared is typed.endswith("share")


async def test_window_edges(db: Database, bot: Bot, team: Team) -> None:
    account = await add_account(db, "EDGE-1", "Edge Works", owner_id=team.leo)
    for offset in (-1, 0, 7, 8, 14, 15):
        await add_milestone(db, account, f"M{offset:+03d}", day(offset))
    await add_milestone(db, account, "Snoozed until today", day(-2), snoozed_until=day(0))
    await add_milestone(db, account, "Snoozed until tomorrow", day(-2), snoozed_until=day(1))
    leo = await actor_for(db, LEO)

    def names(reply: Reply) -> list[str]:
        return [line.split(": ", 1)[1].split(" · ")[0] for line in item_lines(reply) if "Edge Works" in line]

    assert names(await ask(bot, leo, "milestones overdue")) == ["Snoozed until today", "M-01"]
    assert names(await ask(bot, leo, "milestones week")) == ["M+00", "M+07"]
    assert names(await ask(bot, leo, "milestones")) == [
        "Snoozed until today",
        "M-01",
        "M+00",
        "M+07",
        "M+08",
        "M+14",
    ]
    assert names(await ask(bot, leo, "milestones edge works")) == [
        "Snoozed until today",
        "M-01",
        "M+00",
        "M+07",
        "M+08",
        "M+14",
        "M+15",
    ]


async def test_card_button_lists_the_accounts_milestones(bot: Bot, maya: Actor, team: Team) -> None:
    card = await ask(bot, maya, "account acme rockets")
    reply = as_reply(await press(bot, maya, button(card, "Milestones")))
    assert reply.summary == "Open milestones for Acme Rockets: 3 in all"
    assert item_lines(reply) == [QBR_NOV, PROPOSAL, RENEWAL_JAN]
    assert [(b.action, b.payload) for b in reply.buttons[:3]] == [
        ("milestone.done", {"milestone_id": team.qbr_nov}),
        ("milestone.snooze", {"milestone_id": team.qbr_nov, "days": 1}),
        ("milestone.snooze", {"milestone_id": team.qbr_nov, "days": 7}),
    ]


async def test_milestones_of_an_account_that_no_longer_exists(bot: Bot, maya: Actor) -> None:
    reply = as_reply(await bot.handle(action(maya, "milestones.of_account", {"account_id": 999})))
    assert reply.summary == "That account no longer exists."


# --------------------------------------------------------------------------------------------- paging


async def busy_account(db: Database, team: Team) -> int:
    account = await add_account(db, "BUSY-1", "Busy Bees", owner_id=team.maya)
    for n in range(1, 13):
        await add_milestone(db, account, f"Step {n:02}", day(n))
    return account


async def test_milestones_page_ten_at_a_time(db: Database, bot: Bot, maya: Actor, team: Team) -> None:
    await busy_account(db, team)
    first = await ask(bot, maya, "milestones busy")
    assert first.summary == "Open milestones for Busy Bees: 1-10 of 12"
    assert len(item_lines(first)) == 10
    more = button(first, "More")
    assert more.label == "More (2 left)"
    second = as_reply(await press(bot, maya, more))
    assert item_lines(second) == [
        "**Busy Bees**: Step 11 · due in 11 days (Sun 06 Dec 2026)",
        "**Busy Bees**: Step 12 · due in 12 days (Mon 07 Dec 2026)",
    ]
    assert second.summary == "Open milestones for Busy Bees: 11-12 of 12"
    assert second.replace is True


async def test_more_works_on_a_list_opened_from_the_card(
    db: Database, bot: Bot, maya: Actor, team: Team
) -> None:
    account = await busy_account(db, team)
    first = as_reply(await bot.handle(action(maya, "milestones.of_account", {"account_id": account})))
    assert first.summary == "Open milestones for Busy Bees: 1-10 of 12"
    second = as_reply(await press(bot, maya, button(first, "More")))
    assert second.summary == "Open milestones for Busy Bees: 11-12 of 12"
    assert item_lines(second)[0] == "**Busy Bees**: Step 11 · due in 11 days (Sun 06 Dec 2026)"


async def test_more_across_the_team(db: Database, bot: Bot, team: Team) -> None:
    await busy_account(db, team)
    jonas = await actor_for(db, JONAS)
    first = await ask(bot, jonas, "milestones")
    assert first.summary == "Milestones overdue or due in 14 days: 1-10 of 16"
    second = as_reply(await press(bot, jonas, button(first, "More")))
    assert second.summary == "Milestones overdue or due in 14 days: 11-16 of 16"


# ---------------------------------------------------------------------------------------- done, snooze


async def test_done_completes_the_milestone_and_audits(
    db: Database, bot: Bot, maya: Actor, team: Team
) -> None:
    listed = await ask(bot, maya, "milestones overdue")
    reply = as_reply(await press(bot, maya, listed.buttons[0]))
    assert text_of(reply) == "✅ QBR Nov 2026 for **Acme Rockets** is done."
    assert reply.summary == "✅ QBR Nov 2026 for Acme Rockets is done."
    assert reply.replace is True
    stored = await get_row(db, Milestone, team.qbr_nov)
    assert (stored.completed_at, stored.snoozed_until) == (NOW, None)
    [event] = await audit_events(db)
    assert (event.action, event.object_type, event.object_id) == (
        "milestone.done",
        "milestone",
        str(team.qbr_nov),
    )
    assert (event.actor_id, event.actor_label, event.platform) == (team.maya, MAYA, "console")
    assert event.details == {"account_id": team.acme_rockets}
    assert item_lines(await ask(bot, maya, "milestones overdue")) == [PROPOSAL]

    again = as_reply(await press(bot, maya, listed.buttons[0]))
    assert text_of(again) == "QBR Nov 2026 for **Acme Rockets** was already done."
    assert len(await audit_events(db)) == 1


async def test_done_on_a_snoozed_milestone_clears_the_snooze(
    db: Database, bot: Bot, maya: Actor, team: Team
) -> None:
    reply = as_reply(await bot.handle(action(maya, "milestone.done", {"milestone_id": team.snoozed_step})))
    assert text_of(reply) == "✅ Data migration for **Café Lumière Studios** is done."
    stored = await get_row(db, Milestone, team.snoozed_step)
    assert (stored.completed_at, stored.snoozed_until) == (NOW, None)


@pytest.mark.parametrize(("index", "until"), [(1, date(2026, 11, 26)), (2, date(2026, 12, 2))])
async def test_snooze_hides_the_milestone_until_then_and_audits(
    db: Database, bot: Bot, maya: Actor, team: Team, index: int, until: date
) -> None:
    listed = await ask(bot, maya, "milestones acme rockets")
    reply = as_reply(await press(bot, maya, listed.buttons[index]))
    assert text_of(reply) == f"💤 QBR Nov 2026 for **Acme Rockets** snoozed until {until:%a %d %b %Y}."
    assert reply.replace is True
    stored = await get_row(db, Milestone, team.qbr_nov)
    assert (stored.completed_at, stored.snoozed_until) == (None, until)
    [event] = await audit_events(db)
    assert (event.action, event.object_id) == ("milestone.snoozed", str(team.qbr_nov))
    assert event.details == {"account_id": team.acme_rockets, "until": until.isoformat()}
    assert item_lines(await ask(bot, maya, "milestones acme rockets")) == [PROPOSAL, RENEWAL_JAN]


@pytest.mark.parametrize("name", ["milestone.done", "milestone.snooze"])
async def test_a_milestone_that_no_longer_exists(db: Database, bot: Bot, maya: Actor, name: str) -> None:
    reply = as_reply(await bot.handle(action(maya, name, {"milestone_id": 424242, "days": 7})))
    assert reply.summary == "That milestone no longer exists."
    assert await audit_events(db) == []


async def test_snooze_for_another_span_is_refused(db: Database, bot: Bot, maya: Actor, team: Team) -> None:
    reply = as_reply(
        await bot.handle(action(maya, "milestone.snooze", {"milestone_id": team.qbr_nov, "days": 30}))
    )
    assert reply.summary == "Snooze for 1 day or 1 week."
    assert (await get_row(db, Milestone, team.qbr_nov)).snoozed_until is None
    assert await audit_events(db) == []
