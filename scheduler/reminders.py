"""Reminders to CSMs: milestones coming up or overdue, renewals at 90/60/30 days, follow-ups falling due.

:func:`enqueue_due_reminders` runs every 15 minutes. Each run it works out, for the people inside their
working hours (their own time zone, weekdays 08:00-18:00 by default), which reminders are due on their
local today, and puts them in the outbox. The idempotency key of each reminder names the object and the
period it is for, so running again (or on two replicas at once) never sends one twice, and a reminder
that fell due at night or on a weekend is simply sent on the first run inside working hours.

What is due, and the keys, are worked out in :mod:`scheduler.reminders_due`; how each reminder reads is
in :mod:`scheduler.reminders_messages`.

Everything is set-based: one query for the people, then a query or two per kind and per thousand
recipients, one for the keys already in the outbox, and health only for new renewal reminders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from bot.health.service import AccountHealth, latest_health
from bot.log import get_logger
from bot.recipients import address_for, local_days
from bot.serialize import outbox_message
from scheduler.reminders_due import (
    DEFAULT_SETTINGS,
    Due,
    MilestoneDue,
    ReminderSettings,
    RenewalDue,
    existing_keys,
    follow_ups_due,
    milestones_due,
    renewals_due,
)
from scheduler.reminders_messages import follow_up_reply, milestone_reply, renewal_reply
from storage import outbox
from storage.db import Database
from storage.models import Person

log = get_logger("touchpoint.scheduler.reminders")

PURPOSE = "reminder"


@dataclass(frozen=True, slots=True)
class ReminderStats:
    """One run. ``due`` counts reminders due now, sent before or not; ``enqueued`` the new outbox rows
    (per kind in ``by_kind``). ``unreachable`` are the people who had reminders due but no address."""

    people_in_hours: int = 0
    due: int = 0
    enqueued: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    unreachable: tuple[int, ...] = ()


def _kind(due: Due) -> str:
    if isinstance(due, MilestoneDue):
        return "milestone"
    if isinstance(due, RenewalDue):
        return "renewal"
    return "followup"


# ------------------------------------------------------------------------------------------------ run


async def enqueue_due_reminders(
    db: Database, *, now: datetime, settings: ReminderSettings = DEFAULT_SETTINGS
) -> ReminderStats:
    """Put every reminder due now (for people inside their working hours) in the outbox, once."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    async with db.sessions() as session:
        people = (
            await session.execute(
                select(Person.id, Person.timezone, Person.slack_user_id, Person.teams_user_id)
            )
        ).all()
        local = local_days([(p.id, p.timezone) for p in people], now, settings.hours)
        if not local:
            return ReminderStats()
        today_of = {person_id: moment.date() for person_id, moment in local.items()}
        candidates: list[Due] = [
            *await milestones_due(session, today_of, settings),
            *await renewals_due(session, today_of, settings),
            *await follow_ups_due(session, today_of),
        ]
        present = await existing_keys(session, (c.key for c in candidates))

    addresses = {
        p.id: address for p in people if (address := address_for(p.id, p.slack_user_id, p.teams_user_id))
    }
    new = [c for c in candidates if c.key not in present]
    unreachable = sorted({c.person_id for c in new if c.person_id not in addresses})
    for person_id in unreachable:
        log.warning("reminder_recipient_unreachable", person_id=person_id)
    new = [c for c in new if c.person_id in addresses]

    health = await _renewal_health(db, [c for c in new if isinstance(c, RenewalDue)])
    messages: list[outbox.NewMessage] = []
    by_kind: dict[str, int] = defaultdict(int)
    for due in new:
        if isinstance(due, MilestoneDue):
            reply = milestone_reply(due)
        elif isinstance(due, RenewalDue):
            reply = renewal_reply(due, health.get((due.account_id, due.today)))
        else:
            reply = follow_up_reply(due)
        address = addresses[due.person_id]
        messages.append(outbox_message(due.key, PURPOSE, address, reply))
        by_kind[_kind(due)] += 1
    enqueued = await outbox.enqueue(db, messages, now=now)
    stats = ReminderStats(
        people_in_hours=len(local),
        due=len(candidates),
        enqueued=enqueued,
        by_kind=dict(sorted(by_kind.items())),
        unreachable=tuple(unreachable),
    )
    log.info(
        "reminders_enqueued",
        people_in_hours=stats.people_in_hours,
        due=stats.due,
        enqueued=stats.enqueued,
        unreachable=len(stats.unreachable),
        **stats.by_kind,
    )
    return stats


async def _renewal_health(db: Database, due: Sequence[RenewalDue]) -> dict[tuple[int, date], AccountHealth]:
    """Health of the accounts of new renewal reminders, on each recipient's local today."""
    by_day: dict[date, list[int]] = defaultdict(list)
    for item in due:
        by_day[item.today].append(item.account_id)
    result: dict[tuple[int, date], AccountHealth] = {}
    for day, ids in by_day.items():
        for account_id, health in (await latest_health(db, ids, day)).items():
            result[(account_id, day)] = health
    return result


__all__ = ["ReminderStats", "enqueue_due_reminders"]
