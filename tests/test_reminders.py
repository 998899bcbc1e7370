"""Reminders: milestones, renewals and follow-ups, each on the right local day, once, in working hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.recipients import WorkingHours, person_addresses, resolve_recipients
from bot.serialize import address_from_dict, reply_from_dict
from bot.types import Address, Platform, Reply
from scheduler.reminders import enqueue_due_reminders
from scheduler.reminders_due import ReminderSettings
from storage.db import Database
from storage.models import FollowUp, OutboxMessage
from tests.factories import (
    ACME_ROCKETS_COMPONENTS,
    add_account,
    add_follow_up,
    add_milestone,
    add_person,
    add_snapshot,
    text_of,
)

ANY_HOUR = ReminderSettings(hours=None)


def at(day: date, hour: int = 10, zone: str = "UTC") -> datetime:
    """The UTC instant of ``hour`` o'clock on ``day`` in ``zone``."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone)).astimezone(UTC)


async def outbox_rows(db: Database) -> list[OutboxMessage]:
    async with db.sessions() as s:
        return list((await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def keys(db: Database) -> list[str]:
    return [row.idempotency_key for row in await outbox_rows(db)]


async def reply_for(db: Database, key: str) -> Reply:
    rows = [row for row in await outbox_rows(db) if row.idempotency_key == key]
    assert len(rows) == 1, key
    return reply_from_dict(rows[0].payload)


async def csm(
    db: Database, *, timezone: str = "UTC", slack: str | None = "U1", email: str = "maya@x.io"
) -> int:
    return await add_person(
        db, email, email.split("@")[0].title(), "csm", timezone=timezone, slack_user_id=slack
    )


# ------------------------------------------------------------------------------------------- milestones


async def test_milestone_reminded_days_before_once_with_buttons(db: Database) -> None:
    maya = await csm(db)
    acme = await add_account(db, "A-1", "Acme", owner_id=maya)
    qbr = await add_milestone(db, acme, "QBR", date(2026, 11, 27))  # a Friday

    assert (await enqueue_due_reminders(db, now=at(date(2026, 11, 23)))).enqueued == 0  # Monday: 4 days
    stats = await enqueue_due_reminders(db, now=at(date(2026, 11, 24)))  # Tuesday: 3 days before
    assert stats.enqueued == 1
    assert stats.by_kind == {"milestone": 1}
    for moment in (at(date(2026, 11, 24), 17), at(date(2026, 11, 25)), at(date(2026, 11, 27))):
        assert (await enqueue_due_reminders(db, now=moment)).enqueued == 0

    key = f"milestone:{qbr}:before:2026-11-27"
    assert await keys(db) == [key]
    row = (await outbox_rows(db))[0]
    assert row.purpose == "reminder"
    assert row.platform == "slack"
    assert address_from_dict(row.address) == Address(platform=Platform.SLACK, target="U1", user="U1")
    reply = await reply_for(db, key)
    assert text_of(reply).splitlines()[0] == "⏰ **Acme**: QBR is due in 3 days (Fri 27 Nov 2026)."
    assert [(b.label, b.action, b.payload) for b in reply.buttons] == [
        ("Done", "milestone.done", {"milestone_id": qbr}),
        ("Snooze 1 day", "milestone.snooze", {"milestone_id": qbr, "days": 1}),
        ("Snooze 1 week", "milestone.snooze", {"milestone_id": qbr, "days": 7}),
        ("Log follow-up", "followup.open_form", {"account_id": acme}),
    ]


async def test_days_before_is_configurable(db: Database) -> None:
    maya = await csm(db)
    acme = await add_account(db, "A-1", "Acme", owner_id=maya)
    qbr = await add_milestone(db, acme, "QBR", date(2026, 12, 4))
    settings = ReminderSettings(milestone_days_before=7)
    await enqueue_due_reminders(db, now=at(date(2026, 11, 26)), settings=settings)  # 8 days before
    assert await keys(db) == []
    await enqueue_due_reminders(db, now=at(date(2026, 11, 27)), settings=settings)
    assert await keys(db) == [f"milestone:{qbr}:before:2026-12-04"]


async def test_overdue_milestone_on_the_day_after_then_weekly(db: Database) -> None:
    maya = await csm(db)
    acme = await add_account(db, "A-1", "Acme", owner_id=maya)
    qbr = await add_milestone(db, acme, "QBR", date(2026, 11, 16))  # a Monday

    sent_on: dict[str, date] = {}
    day = date(2026, 11, 16)
    while day <= date(2026, 12, 4):
        if day.weekday() < 5:
            for hour in (9, 13, 17):  # the job runs all day long
                await enqueue_due_reminders(db, now=at(day, hour))
            for key in await keys(db):
                sent_on.setdefault(key, day)
        day += timedelta(days=1)

    prefix = f"milestone:{qbr}:overdue:2026-11-16"
    assert sent_on == {
        f"milestone:{qbr}:before:2026-11-16": date(2026, 11, 16),  # "due today"
        f"{prefix}:0": date(2026, 11, 17),
        f"{prefix}:1": date(2026, 11, 24),
        f"{prefix}:2": date(2026, 12, 1),
    }
    reply = await reply_for(db, f"{prefix}:1")
    assert reply.summary == "⚠️ Acme: QBR is overdue by 8 days (due Mon 16 Nov 2026)."


async def test_completed_and_snoozed_milestones_get_none_until_the_snooze_ends(db: Database) -> None:
    maya = await csm(db)
    acme = await add_account(db, "A-1", "Acme", owner_id=maya)
    today = date(2026, 11, 25)
    await add_milestone(db, acme, "Kickoff", today - timedelta(days=1), completed_at=at(today, 9))
    await add_milestone(db, acme, "Go-live", today + timedelta(days=1), completed_at=at(today, 9))
    snoozed = await add_milestone(
        db, acme, "Setup", today - timedelta(days=2), snoozed_until=today + timedelta(1)
    )

    stats = await enqueue_due_reminders(db, now=at(today))
    assert (stats.due, stats.enqueued) == (0, 0)
    # The snooze ends the next day: the reminder comes back then (its weekly cadence counts from there).
    await enqueue_due_reminders(db, now=at(today + timedelta(days=1)))
    assert await keys(db) == [f"milestone:{snoozed}:overdue:2026-11-23:s2026-11-26:0"]


async def test_quiet_hours_follow_each_persons_time_zone(db: Database) -> None:
    ny = await csm(db, timezone="America/New_York", slack="UNY", email="ny@x.io")
    sg = await csm(db, timezone="Asia/Singapore", slack="USG", email="sg@x.io")
    ny_acct = await add_account(db, "A-1", "New York Co", owner_id=ny)
    sg_acct = await add_account(db, "A-2", "Singapore Co", owner_id=sg)
    thursday = date(2026, 11, 26)
    ny_step = await add_follow_up(
        db, ny_acct, author_id=ny, summary="Call", next_step="Send notes", due=thursday
    )
    sg_step = await add_follow_up(
        db, sg_acct, author_id=sg, summary="Call", next_step="Send deck", due=thursday
    )

    # Wednesday 14:00 UTC: 09:00 Wednesday in New York (not due yet), 22:00 in Singapore (quiet hours).
    stats = await enqueue_due_reminders(db, now=datetime(2026, 11, 25, 14, tzinfo=UTC))
    assert (stats.people_in_hours, stats.enqueued) == (1, 0)
    # Thursday 01:00 UTC: 09:00 Thursday in Singapore, due there; 20:00 Wednesday in New York.
    await enqueue_due_reminders(db, now=datetime(2026, 11, 26, 1, tzinfo=UTC))
    assert await keys(db) == [f"followup:{sg_step}:due:2026-11-26"]
    # Thursday 12:59 UTC is 07:59 in New York: still quiet. 13:00 UTC is 08:00: the reminder goes.
    await enqueue_due_reminders(db, now=datetime(2026, 11, 26, 12, 59, tzinfo=UTC))
    assert len(await keys(db)) == 1
    await enqueue_due_reminders(db, now=datetime(2026, 11, 26, 13, tzinfo=UTC))
    assert await keys(db) == [f"followup:{sg_step}:due:2026-11-26", f"followup:{ny_step}:due:2026-11-26"]
    rows = await outbox_rows(db)
    assert [address_from_dict(r.address).target for r in rows] == ["USG", "UNY"]


async def test_weekend_reminders_wait_for_monday(db: Database) -> None:
    maya = await csm(db)
    acme = await add_account(db, "A-1", "Acme", owner_id=maya)
    saturday = date(2026, 11, 28)
    step = await add_follow_up(db, acme, author_id=maya, summary="QBR", next_step="Send deck", due=saturday)
    for day in (saturday, saturday + timedelta(days=1)):
        for hour in (9, 12, 17):
            stats = await enqueue_due_reminders(db, now=at(day, hour))
            assert stats.people_in_hours == 0
    assert await keys(db) == []
    await enqueue_due_reminders(db, now=at(date(2026, 11, 30), 8))
    key = f"followup:{step}:due:2026-11-28"
    assert await keys(db) == [key]
    reply = await reply_for(db, key)
    assert reply.summary == "📌 Follow-up overdue by 2 days for Acme: Send deck"


async def test_working_hours_are_configurable(db: Database) -> None:
    maya = await csm(db)
    acme = await add_account(db, "A-1", "Acme", owner_id=maya)
    saturday = date(2026, 11, 28)
    await add_follow_up(db, acme, author_id=maya, summary="QBR", due=saturday)
    every_day = ReminderSettings(hours=WorkingHours(weekdays=frozenset(range(7))))
    assert (await enqueue_due_reminders(db, now=at(saturday, 7), settings=every_day)).enqueued == 0
    assert (await enqueue_due_reminders(db, now=at(saturday, 9), settings=every_day)).enqueued == 1


# --------------------------------------------------------------------------------------------- renewals


async def test_renewal_reminders_at_90_60_and_30_days(db: Database) -> None:
    maya = await csm(db)
    renewal = date(2027, 3, 1)
    acme = await add_account(db, "A-1", "Acme", owner_id=maya, renewal=renewal)
    sent_on: dict[str, int] = {}
    for days_left in range(100, -3, -1):
        await enqueue_due_reminders(db, now=at(renewal - timedelta(days=days_left)), settings=ANY_HOUR)
        for key in await keys(db):
            sent_on.setdefault(key, days_left)
    assert sent_on == {
        f"renewal:{acme}:2027-03-01:90": 90,
        f"renewal:{acme}:2027-03-01:60": 60,
        f"renewal:{acme}:2027-03-01:30": 30,
    }


async def test_renewal_after_downtime_sends_the_current_threshold_only(db: Database) -> None:
    maya = await csm(db)
    renewal = date(2027, 1, 4)
    acme = await add_account(db, "A-1", "Acme", owner_id=maya, renewal=renewal, arr=438_000)
    other = await add_account(db, "A-2", "Beta", owner_id=maya, renewal=date(2026, 11, 20))  # past
    today = date(2026, 11, 25)  # 40 days left: the 90 was missed, the 60 is current
    await add_snapshot(db, acme, today, 37, components=ACME_ROCKETS_COMPONENTS)
    await add_snapshot(db, acme, today - timedelta(days=7), 46)

    stats = await enqueue_due_reminders(db, now=at(today))
    assert stats.by_kind == {"renewal": 1}
    key = f"renewal:{acme}:2027-01-04:60"
    assert await keys(db) == [key]
    assert other not in {int(k.split(":")[1]) for k in await keys(db)}
    assert text_of(await reply_for(db, key)) == "\n".join(
        [
            "🔁 **Acme** renews in 40 days (Mon 04 Jan 2027).",
            "Health: 🔴 37 (red), ▼ 9 in 7 days",
            "ARR: $438k",
            "**Why:** 30% of licensed seats active; active users down 54% in 30 days; "
            "3 detractors in 90 days",
            "[Open account] [Log follow-up]",
        ]
    )


# -------------------------------------------------------------------------------------------- follow-ups


async def test_follow_up_due_goes_to_its_author_or_the_owner_when_the_author_is_gone(db: Database) -> None:
    maya = await csm(db)
    leo = await csm(db, slack="U2", email="leo@x.io")
    acme = await add_account(db, "A-1", "Acme", owner_id=maya)
    today = date(2026, 11, 25)
    by_leo = await add_follow_up(db, acme, author_id=leo, summary="Call", next_step="Send notes", due=today)
    orphan = await add_follow_up(
        db, acme, author_id=None, summary="Email the sponsor", due=today - timedelta(3)
    )
    await add_follow_up(db, acme, author_id=leo, summary="Later", due=today + timedelta(days=1))
    await add_follow_up(db, acme, author_id=leo, summary="Done", due=today, status="done")
    await add_follow_up(
        db, acme, author_id=leo, summary="Snoozed", due=today, snoozed_until=today + timedelta(1)
    )
    await add_follow_up(db, acme, author_id=leo, summary="No date")

    for _ in range(3):
        await enqueue_due_reminders(db, now=at(today))
    rows = {r.idempotency_key: r for r in await outbox_rows(db)}
    assert set(rows) == {f"followup:{by_leo}:due:2026-11-25", f"followup:{orphan}:due:2026-11-22"}
    assert address_from_dict(rows[f"followup:{by_leo}:due:2026-11-25"].address).target == "U2"
    assert address_from_dict(rows[f"followup:{orphan}:due:2026-11-22"].address).target == "U1"
    reply = reply_from_dict(rows[f"followup:{by_leo}:due:2026-11-25"].payload)
    assert reply.summary == "📌 Follow-up due today for Acme: Send notes"
    assert [(b.label, b.action, b.payload) for b in reply.buttons] == [
        ("Done", "followup.done", {"followup_id": by_leo}),
        ("Snooze 1 day", "followup.snooze", {"followup_id": by_leo, "days": 1}),
        ("Snooze 1 week", "followup.snooze", {"followup_id": by_leo, "days": 7}),
    ]


async def test_snoozed_follow_up_comes_back_when_the_snooze_ends(db: Database) -> None:
    maya = await csm(db)
    acme = await add_account(db, "A-1", "Acme", owner_id=maya)
    today = date(2026, 11, 25)
    step = await add_follow_up(db, acme, author_id=maya, summary="Call", due=today)
    await enqueue_due_reminders(db, now=at(today))
    # "Snooze 1 day" on the reminder: it comes back tomorrow, once.
    async with db.transaction() as s:
        follow_up = await s.get(FollowUp, step)
        assert follow_up is not None
        follow_up.snoozed_until = today + timedelta(days=1)
    await enqueue_due_reminders(db, now=at(today, 15))
    await enqueue_due_reminders(db, now=at(today + timedelta(days=1)))
    await enqueue_due_reminders(db, now=at(today + timedelta(days=2)))
    assert await keys(db) == [
        f"followup:{step}:due:2026-11-25",
        f"followup:{step}:due:2026-11-25:s2026-11-26",
    ]


# ---------------------------------------------------------------------------------------- recipients


async def test_unreachable_people_are_reported_and_teams_people_addressed_by_id(db: Database) -> None:
    nobody = await csm(db, slack=None, email="nobody@x.io")
    teams = await add_person(db, "t@x.io", "Tea", "csm", teams_user_id="aad-1")
    both = await add_person(db, "b@x.io", "Both", "csm", slack_user_id="U9", teams_user_id="aad-9")
    lost = await add_account(db, "A-1", "Lost", owner_id=nobody)
    teamed = await add_account(db, "A-2", "Teamed", owner_id=teams)
    today = date(2026, 11, 25)
    await add_milestone(db, lost, "QBR", today)
    await add_milestone(db, teamed, "QBR", today)

    stats = await enqueue_due_reminders(db, now=at(today))
    assert stats.unreachable == (nobody,)
    assert (stats.due, stats.enqueued) == (2, 1)
    row = (await outbox_rows(db))[0]
    assert row.platform == "teams"
    assert address_from_dict(row.address) == Address(
        platform=Platform.TEAMS, target=f"person:{teams}", user="aad-1"
    )

    found = await resolve_recipients(db, [nobody, teams, both, 9999])
    assert found.unreachable == (nobody, 9999)
    assert found.addresses == {
        teams: Address(platform=Platform.TEAMS, target=f"person:{teams}", user="aad-1"),
        both: Address(platform=Platform.SLACK, target="U9", user="U9"),
    }
    async with db.sessions() as session:
        assert await person_addresses(session, [both]) == {both: found.addresses[both]}


def test_next_open_moves_to_the_next_working_morning() -> None:
    hours = WorkingHours()
    singapore = ZoneInfo("Asia/Singapore")
    friday_evening = datetime(2026, 11, 27, 12, tzinfo=UTC)  # 20:00 Friday in Singapore
    assert hours.next_open(friday_evening, singapore) == datetime(2026, 11, 30, 0, tzinfo=UTC)
    inside = datetime(2026, 11, 27, 3, tzinfo=UTC)  # 11:00 Friday in Singapore
    assert hours.next_open(inside, singapore) == inside
    early = datetime(2026, 11, 26, 23, tzinfo=UTC)  # 07:00 Friday in Singapore
    assert hours.next_open(early, singapore) == datetime(2026, 11, 27, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        WorkingHours(start=hours.end, end=hours.start)
