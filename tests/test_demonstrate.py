"""Demonstrate: the owner CSM's message about an achieved outcome (a summary ready to share, with the
numbers before and now), sent exactly once per outcome however often and however concurrently it is asked
for, and kept for later when the owner cannot be reached."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from bot.serialize import reply_from_dict
from bot.success.demonstrate import (
    Achievement,
    demonstrate_outcome,
    demonstrate_pending,
    owner_message,
    record_achieved,
    summary_reply,
    timing_text,
)
from storage.db import Database
from storage.models import OutboxMessage, Outcome, Person
from tests.factories import NOW, Team, count, day, get_row, seed_team, text_of


@pytest.fixture
async def team(db: Database) -> Team:
    team = await seed_team(db)
    async with db.transaction() as session:
        await session.execute(update(Person).where(Person.id == team.maya).values(slack_user_id="UMAYA"))
        await session.execute(update(Person).where(Person.id == team.leo).values(teams_user_id="29:leo"))
    return team


async def add_outcome(db: Database, account_id: int, **values: object) -> int:
    fields: dict[str, object] = {
        "title": "200 weekly active users",
        "metric": "active_users",
        "comparison": "at_least",
        "target": 200.0,
        "baseline": 120.0,
        "start_date": day(-90),
        "due_date": day(30),
        "customer_owner": "Dana Scully",
        "status": "open",
    }
    fields.update(values)
    async with db.transaction() as session:
        outcome = Outcome(account_id=account_id, **fields)
        session.add(outcome)
        await session.flush()
        return outcome.id


async def achieve(
    db: Database, outcome_id: int, *, value: float | None = 212.0, by: int | None = None
) -> None:
    async with db.transaction() as session:
        assert await record_achieved(session, outcome_id, now=NOW, value=value, by=by)


async def messages(db: Database) -> list[OutboxMessage]:
    async with db.sessions() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


# ------------------------------------------------------------------------------------------ summary


def achievement(**changes: object) -> Achievement:
    values: dict[str, object] = {
        "outcome_id": 7,
        "account_name": "Acme Rockets",
        "title": "200 weekly active users",
        "metric": "active_users",
        "comparison": "at_least",
        "target": 200.0,
        "baseline": 120.0,
        "start_date": day(-90),
        "due_date": day(30),
        "customer_owner": "Dana Scully",
        "achieved_on": day(0),
        "achieved_value": 212.0,
        "achieved_by": None,
    }
    values.update(changes)
    return Achievement(**values)  # type: ignore[arg-type]


def test_the_summary_says_what_was_agreed_when_and_the_numbers_before_and_now() -> None:
    reply = summary_reply(achievement())
    assert reply.summary == "Acme Rockets achieved “200 weekly active users”"
    assert text_of(reply) == (
        "# 🎉 Acme Rockets: outcome achieved\n"
        "**200 weekly active users**\n"
        "What was agreed: 200 weekly active users by Fri 25 Dec 2026\n"
        "When: agreed on Thu 27 Aug 2026 with Dana Scully\n"
        "Before: 120 weekly active users on Thu 27 Aug 2026\n"
        "Now: 212 weekly active users\n"
        "Achieved: Wed 25 Nov 2026, 30 days before the due date"
    )
    assert reply.buttons == ()


def test_survey_targets_and_at_most_targets_read_naturally() -> None:
    nps = text_of(summary_reply(achievement(metric="nps", target=30.0, baseline=-5.0, achieved_value=34.0)))
    assert "What was agreed: NPS +30 by Fri 25 Dec 2026" in nps
    assert "Before: NPS -5 on Thu 27 Aug 2026" in nps and "Now: NPS +34" in nps
    tickets = text_of(summary_reply(achievement(metric="open_tickets", comparison="at_most", target=5.0)))
    assert "What was agreed: 5 or less open tickets by Fri 25 Dec 2026" in tickets
    unmeasured = text_of(summary_reply(achievement(baseline=None)))
    assert "Before: not measured on Thu 27 Aug 2026" in unmeasured


def test_a_manual_outcome_has_no_numbers_and_says_who_marked_it() -> None:
    reply = summary_reply(
        achievement(metric=None, target=None, baseline=None, achieved_value=None, achieved_by="Maya Chen")
    )
    assert text_of(reply).splitlines()[2:] == [
        "What was agreed: 200 weekly active users by Fri 25 Dec 2026",
        "When: agreed on Thu 27 Aug 2026 with Dana Scully",
        "Achieved: Wed 25 Nov 2026, 30 days before the due date (marked by Maya Chen)",
    ]


@pytest.mark.parametrize(
    ("achieved", "expected"),
    [
        (day(30), "on the due date"),
        (day(29), "1 day before the due date"),
        (day(33), "3 days after the due date"),
    ],
)
def test_timing_against_the_due_date(achieved: date, expected: str) -> None:
    assert timing_text(achieved, day(30)) == expected


def test_the_owners_copy_adds_a_line_for_them_and_the_share_button() -> None:
    reply = owner_message(achievement())
    assert text_of(reply).startswith("An outcome of **Acme Rockets** was achieved. Here is a summary ready")
    [share] = reply.buttons
    assert (share.label, share.action, share.payload) == (
        "Share to a channel",
        "plan.share",
        {"outcome_id": 7},
    )


# --------------------------------------------------------------------------------------- once only


async def test_the_owner_gets_one_message_however_often_it_is_asked_for(db: Database, team: Team) -> None:
    outcome_id = await add_outcome(db, team.acme_rockets)
    await achieve(db, outcome_id)
    assert await demonstrate_outcome(db, outcome_id, now=NOW) is True
    assert await demonstrate_outcome(db, outcome_id, now=NOW + timedelta(hours=1)) is False
    assert await demonstrate_pending(db, now=NOW + timedelta(days=1)) == 0
    [message] = await messages(db)
    assert message.idempotency_key == f"outcome-achieved:{outcome_id}"
    assert (message.purpose, message.platform, message.address["target"]) == ("outcome", "slack", "UMAYA")
    reply = reply_from_dict(message.payload)
    assert "Now: 212 weekly active users" in text_of(reply)
    assert [b.label for b in reply.buttons] == ["Share to a channel"]
    row = await get_row(db, Outcome, outcome_id)
    assert row.demonstrated_at == NOW


async def test_concurrent_calls_send_one_message(db: Database, team: Team) -> None:
    outcome_id = await add_outcome(db, team.acme_rockets)
    await achieve(db, outcome_id)
    results = await asyncio.gather(*(demonstrate_outcome(db, outcome_id, now=NOW) for _ in range(4)))
    assert sorted(results) == [False, False, False, True]
    assert await count(db, OutboxMessage) == 1


async def test_an_open_outcome_is_not_demonstrated(db: Database, team: Team) -> None:
    outcome_id = await add_outcome(db, team.acme_rockets)
    assert await demonstrate_outcome(db, outcome_id, now=NOW) is False
    assert await count(db, OutboxMessage) == 0


async def test_a_teams_owner_is_told_in_their_personal_chat(db: Database, team: Team) -> None:
    outcome_id = await add_outcome(db, team.brightwater, title="Go live in three regions", metric=None)
    await achieve(db, outcome_id, value=None, by=team.leo)
    assert await demonstrate_outcome(db, outcome_id, now=NOW) is True
    [message] = await messages(db)
    assert (message.platform, message.address["target"]) == ("teams", f"person:{team.leo}")
    assert "(marked by Leo Park)" in text_of(reply_from_dict(message.payload))


async def test_an_unreachable_owner_is_tried_again_later(db: Database, team: Team) -> None:
    outcome_id = await add_outcome(db, team.grunfeld)  # Leo's account; Leo is on Teams...
    async with db.transaction() as session:  # ...not any more
        await session.execute(update(Person).where(Person.id == team.leo).values(teams_user_id=None))
    await achieve(db, outcome_id)
    assert await demonstrate_outcome(db, outcome_id, now=NOW) is False
    assert (await get_row(db, Outcome, outcome_id)).demonstrated_at is None
    async with db.transaction() as session:
        await session.execute(update(Person).where(Person.id == team.leo).values(slack_user_id="ULEO"))
    assert await demonstrate_pending(db, now=NOW + timedelta(days=1)) == 1
    [message] = await messages(db)
    assert message.address["target"] == "ULEO"


async def test_an_account_without_owner_sends_nothing_and_old_achievements_are_left_alone(
    db: Database, team: Team
) -> None:
    orphan = await add_outcome(db, team.nimbus)
    await achieve(db, orphan)
    assert await demonstrate_pending(db, now=NOW) == 0
    old = await add_outcome(db, team.acme_rockets)
    await achieve(db, old)
    # Three weeks later the owner would get news of something long past: the retry window is over.
    assert await demonstrate_pending(db, now=NOW + timedelta(days=21)) == 0
    assert await count(db, OutboxMessage) == 0
