"""Which reminders are due: the settings of what is reminded when, the idempotency key of each kind of
reminder, and the set-based queries that find, for each person's local today, the reminders due and the
keys already in the outbox.

Keys:

- ``milestone:{id}:before:{due}``: once while the milestone is due within ``milestone_days_before``
  days (the due day included);
- ``milestone:{id}:overdue:{due}:{week}``: from the day after the due date, once per 7 days;
- ``renewal:{account}:{renewal_date}:{days}``: the smallest of 90/60/30 the renewal is within, so
  after downtime only the current threshold is sent;
- ``followup:{id}:due:{due_date}``: once, when an open follow-up falls due (or is overdue and was never
  reminded).

Nothing is reminded about a churned account (milestones, renewals and follow-ups alike).

A reminder the person snoozed comes back when the snooze ends: the key of a reminder whose snooze ended
after its own day carries ``:s{snoozed_until}`` (and an overdue milestone's weekly cadence restarts from
that day), so "Snooze 1 day" means tomorrow, not next week.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.recipients import DEFAULT_WORKING_HOURS, WorkingHours
from storage.models import Account, FollowUp, FollowUpStatus, Milestone, OutboxMessage
from storage.queries import not_churned

CHUNK = 1000


@dataclass(frozen=True, slots=True)
class ReminderSettings:
    """What is reminded when. ``hours`` None reminds at any hour (tests, or a team that wants it)."""

    milestone_days_before: int = 3
    overdue_every_days: int = 7
    renewal_days: tuple[int, ...] = (90, 60, 30)
    hours: WorkingHours | None = DEFAULT_WORKING_HOURS

    def __post_init__(self) -> None:
        if self.milestone_days_before < 0:
            raise ValueError("milestone_days_before cannot be negative")
        if self.overdue_every_days < 1:
            raise ValueError("overdue_every_days must be at least 1")
        if not self.renewal_days or min(self.renewal_days) < 1:
            raise ValueError("renewal_days must be one or more positive numbers of days")


DEFAULT_SETTINGS = ReminderSettings()


@dataclass(frozen=True, slots=True)
class MilestoneDue:
    key: str
    person_id: int
    today: date
    milestone_id: int
    name: str
    due_date: date
    account_id: int
    account_name: str


@dataclass(frozen=True, slots=True)
class RenewalDue:
    key: str
    person_id: int
    today: date
    account_id: int
    account_name: str
    renewal_date: date
    arr: Decimal | None


@dataclass(frozen=True, slots=True)
class FollowUpDue:
    key: str
    person_id: int
    today: date
    follow_up_id: int
    what: str
    due_date: date
    account_id: int
    account_name: str


Due = MilestoneDue | RenewalDue | FollowUpDue


def milestone_key(
    milestone_id: int,
    due: date,
    snoozed_until: date | None,
    today: date,
    *,
    days_before: int = DEFAULT_SETTINGS.milestone_days_before,
    every: int = DEFAULT_SETTINGS.overdue_every_days,
) -> str | None:
    """The key of the milestone reminder due on ``today`` (None when none is). Not for done milestones."""
    if snoozed_until is not None and snoozed_until > today:
        return None
    days_left = (due - today).days
    if 0 <= days_left <= days_before:
        key = f"milestone:{milestone_id}:before:{due.isoformat()}"
        if snoozed_until is not None and due - timedelta(days=days_before) < snoozed_until <= due:
            key += f":s{snoozed_until.isoformat()}"
        return key
    if days_left < 0:
        anchor, snooze = due + timedelta(days=1), ""
        if snoozed_until is not None and snoozed_until > anchor:
            anchor, snooze = snoozed_until, f":s{snoozed_until.isoformat()}"
        week = (today - anchor).days // every
        return f"milestone:{milestone_id}:overdue:{due.isoformat()}{snooze}:{week}"
    return None


def renewal_threshold(renewal: date, today: date, thresholds: Iterable[int]) -> int | None:
    """The smallest threshold the renewal is within (90, 60, 30 days...); None when past or too far."""
    days_left = (renewal - today).days
    if days_left <= 0:
        return None
    within = [t for t in thresholds if days_left <= t]
    return min(within) if within else None


def follow_up_key(follow_up_id: int, due: date, snoozed_until: date | None, today: date) -> str | None:
    if due > today or (snoozed_until is not None and snoozed_until > today):
        return None
    key = f"followup:{follow_up_id}:due:{due.isoformat()}"
    if snoozed_until is not None and snoozed_until > due:
        key += f":s{snoozed_until.isoformat()}"
    return key


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


async def milestones_due(
    session: AsyncSession, today_of: dict[int, date], settings: ReminderSettings
) -> list[Due]:
    found: list[Due] = []
    latest = max(today_of.values()) + timedelta(days=settings.milestone_days_before)
    for ids in _chunks(sorted(today_of)):
        rows = await session.execute(
            select(
                Milestone.id,
                Milestone.name,
                Milestone.due_date,
                Milestone.snoozed_until,
                Account.id,
                Account.name,
                Account.owner_id,
            )
            .join(Account, Account.id == Milestone.account_id)
            .where(
                Milestone.completed_at.is_(None),
                Milestone.due_date <= latest,
                Account.owner_id.in_(ids),
                not_churned(),
            )
        )
        for milestone_id, name, due, snoozed, account_id, account_name, owner_id in rows:
            if owner_id is None:
                continue
            today = today_of[owner_id]
            key = milestone_key(
                milestone_id,
                due,
                snoozed,
                today,
                days_before=settings.milestone_days_before,
                every=settings.overdue_every_days,
            )
            if key is not None:
                found.append(
                    MilestoneDue(key, owner_id, today, milestone_id, name, due, account_id, account_name)
                )
    return found


async def renewals_due(
    session: AsyncSession, today_of: dict[int, date], settings: ReminderSettings
) -> list[Due]:
    found: list[Due] = []
    earliest = min(today_of.values())
    latest = max(today_of.values()) + timedelta(days=max(settings.renewal_days))
    for ids in _chunks(sorted(today_of)):
        rows = await session.execute(
            select(Account.id, Account.name, Account.renewal_date, Account.arr, Account.owner_id).where(
                Account.owner_id.in_(ids),
                Account.renewal_date > earliest,
                Account.renewal_date <= latest,
                not_churned(),
            )
        )
        for account_id, name, renewal, arr, owner_id in rows:
            if owner_id is None or renewal is None:
                continue
            today = today_of[owner_id]
            threshold = renewal_threshold(renewal, today, settings.renewal_days)
            if threshold is not None:
                key = f"renewal:{account_id}:{renewal.isoformat()}:{threshold}"
                found.append(RenewalDue(key, owner_id, today, account_id, name, renewal, arr))
    return found


async def follow_ups_due(session: AsyncSession, today_of: dict[int, date]) -> list[Due]:
    found: list[Due] = []
    latest = max(today_of.values())
    recipient = func.coalesce(FollowUp.author_id, Account.owner_id)
    for ids in _chunks(sorted(today_of)):
        rows = await session.execute(
            select(
                FollowUp.id,
                FollowUp.summary,
                FollowUp.next_step,
                FollowUp.due_date,
                FollowUp.snoozed_until,
                Account.id,
                Account.name,
                recipient,
            )
            .join(Account, Account.id == FollowUp.account_id)
            .where(
                FollowUp.status == FollowUpStatus.OPEN.value,
                FollowUp.due_date.is_not(None),
                FollowUp.due_date <= latest,
                recipient.in_(ids),
                not_churned(),
            )
        )
        for follow_up_id, summary, next_step, due, snoozed, account_id, account_name, person_id in rows:
            if due is None:
                continue
            today = today_of[person_id]
            key = follow_up_key(follow_up_id, due, snoozed, today)
            if key is not None:
                what = next_step or summary
                found.append(
                    FollowUpDue(key, person_id, today, follow_up_id, what, due, account_id, account_name)
                )
    return found


async def existing_keys(session: AsyncSession, keys: Iterable[str]) -> set[str]:
    """The ``keys`` already in the outbox (sent, pending or dead)."""
    wanted = sorted(set(keys))
    present: set[str] = set()
    for i in range(0, len(wanted), CHUNK):
        rows = await session.execute(
            select(OutboxMessage.idempotency_key).where(
                OutboxMessage.idempotency_key.in_(wanted[i : i + CHUNK])
            )
        )
        present.update(rows.scalars())
    return present


__all__ = [
    "CHUNK",
    "DEFAULT_SETTINGS",
    "Due",
    "FollowUpDue",
    "MilestoneDue",
    "ReminderSettings",
    "RenewalDue",
    "existing_keys",
    "follow_up_key",
    "follow_ups_due",
    "milestone_key",
    "milestones_due",
    "renewal_threshold",
    "renewals_due",
]
