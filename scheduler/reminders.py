"""Reminders to CSMs: milestones coming up or overdue, renewals at 90/60/30 days, follow-ups falling due.

:func:`enqueue_due_reminders` runs every 15 minutes. Each run it works out, for the people inside their
working hours (their own time zone, weekdays 08:00-18:00 by default), which reminders are due on their
local today, and puts them in the outbox. The idempotency key of each reminder names the object and the
period it is for, so running again (or on two replicas at once) never sends one twice, and a reminder
that fell due at night or on a weekend is simply sent on the first run inside working hours.

Keys:

- ``milestone:{id}:before:{due}``: once while the milestone is due within ``milestone_days_before``
  days (the due day included);
- ``milestone:{id}:overdue:{due}:{week}``: from the day after the due date, once per 7 days;
- ``renewal:{account}:{renewal_date}:{days}``: the smallest of 90/60/30 the renewal is within, so
  after downtime only the current threshold is sent;
- ``followup:{id}:due:{due_date}``: once, when an open follow-up falls due (or is overdue and was never
  reminded).

A reminder the person snoozed comes back when the snooze ends: the key of a reminder whose snooze ended
after its own day carries ``:s{snoozed_until}`` (and an overdue milestone's weekly cadence restarts from
that day), so "Snooze 1 day" means tomorrow, not next week.

Everything is set-based: one query for the people, then a query or two per kind and per thousand
recipients, one for the keys already in the outbox, and health only for new renewal reminders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import actions
from bot.core.lines import item_buttons
from bot.format import band_mark, day_text, days_until_text, money, plural, score_text, trend_text, truncate
from bot.health.service import AccountHealth, latest_health
from bot.log import get_logger
from bot.recipients import DEFAULT_WORKING_HOURS, WorkingHours, address_for, local_days
from bot.serialize import outbox_message
from bot.types import Actions, Block, Button, Fields, Reply, Text
from storage import outbox
from storage.db import Database
from storage.models import Account, FollowUp, FollowUpStatus, LifecycleStage, Milestone, OutboxMessage, Person

log = get_logger("touchpoint.scheduler.reminders")

PURPOSE = "reminder"
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
class ReminderStats:
    """One run. ``due`` counts reminders due now, sent before or not; ``enqueued`` the new outbox rows
    (per kind in ``by_kind``). ``unreachable`` are the people who had reminders due but no address."""

    people_in_hours: int = 0
    due: int = 0
    enqueued: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    unreachable: tuple[int, ...] = ()


# ------------------------------------------------------------------------------------- what is due


@dataclass(frozen=True, slots=True)
class _MilestoneDue:
    key: str
    person_id: int
    today: date
    milestone_id: int
    name: str
    due_date: date
    account_id: int
    account_name: str


@dataclass(frozen=True, slots=True)
class _RenewalDue:
    key: str
    person_id: int
    today: date
    account_id: int
    account_name: str
    renewal_date: date
    arr: Decimal | None


@dataclass(frozen=True, slots=True)
class _FollowUpDue:
    key: str
    person_id: int
    today: date
    follow_up_id: int
    what: str
    due_date: date
    account_id: int
    account_name: str


_Due = _MilestoneDue | _RenewalDue | _FollowUpDue


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


async def _milestones_due(
    session: AsyncSession, today_of: dict[int, date], settings: ReminderSettings
) -> list[_Due]:
    found: list[_Due] = []
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
                    _MilestoneDue(key, owner_id, today, milestone_id, name, due, account_id, account_name)
                )
    return found


async def _renewals_due(
    session: AsyncSession, today_of: dict[int, date], settings: ReminderSettings
) -> list[_Due]:
    found: list[_Due] = []
    earliest = min(today_of.values())
    latest = max(today_of.values()) + timedelta(days=max(settings.renewal_days))
    for ids in _chunks(sorted(today_of)):
        rows = await session.execute(
            select(Account.id, Account.name, Account.renewal_date, Account.arr, Account.owner_id).where(
                Account.owner_id.in_(ids),
                Account.renewal_date > earliest,
                Account.renewal_date <= latest,
                or_(
                    Account.lifecycle_stage.is_(None),
                    Account.lifecycle_stage != LifecycleStage.CHURNED.value,
                ),
            )
        )
        for account_id, name, renewal, arr, owner_id in rows:
            if owner_id is None or renewal is None:
                continue
            today = today_of[owner_id]
            threshold = renewal_threshold(renewal, today, settings.renewal_days)
            if threshold is not None:
                key = f"renewal:{account_id}:{renewal.isoformat()}:{threshold}"
                found.append(_RenewalDue(key, owner_id, today, account_id, name, renewal, arr))
    return found


async def _follow_ups_due(session: AsyncSession, today_of: dict[int, date]) -> list[_Due]:
    found: list[_Due] = []
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
                    _FollowUpDue(key, person_id, today, follow_up_id, what, due, account_id, account_name)
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


# ------------------------------------------------------------------------------------------ messages


def _open_account(account_id: int) -> Button:
    return Button(label="Open account", action=actions.ACCOUNT_OPEN, payload={"account_id": account_id})


def _log_follow_up(account_id: int) -> Button:
    return Button(
        label="Log follow-up", action=actions.FOLLOWUP_OPEN_FORM, payload={"account_id": account_id}
    )


def milestone_reply(due: _MilestoneDue) -> Reply:
    days_left = (due.due_date - due.today).days
    if days_left >= 0:
        mark = "⏰"
        when = f"is due {days_until_text(due.due_date, due.today)} ({day_text(due.due_date)})"
    else:
        mark = "⚠️"
        when = f"is overdue by {plural(-days_left, 'day')} (due {day_text(due.due_date)})"
    text = f"{mark} **{due.account_name}**: {due.name} {when}."
    buttons = (
        *item_buttons(actions.MILESTONE_DONE, actions.MILESTONE_SNOOZE, "milestone_id", due.milestone_id),
        _log_follow_up(due.account_id),
    )
    return Reply(summary=text.replace("**", ""), blocks=(Text(text), Actions(buttons)))


def health_text(health: AccountHealth | None) -> str:
    if health is None or health.score is None:
        return f"{band_mark('unknown')} not enough data"
    trend = trend_text(health.trend_7, 7) or trend_text(health.trend_30, 30)
    text = f"{band_mark(health.band)} {score_text(health.score)} ({health.band.value})"
    return f"{text}, {trend}" if trend else text


def renewal_reply(due: _RenewalDue, health: AccountHealth | None) -> Reply:
    days_left = (due.renewal_date - due.today).days
    text = f"🔁 **{due.account_name}** renews in {plural(days_left, 'day')} ({day_text(due.renewal_date)})."
    blocks: list[Block] = [
        Text(text),
        Fields((("Health", health_text(health)), ("ARR", money(due.arr)))),
    ]
    if health is not None and health.drivers:
        blocks.append(Text("**Why:** " + "; ".join(d.reason for d in health.drivers)))
    blocks.append(Actions((_open_account(due.account_id), _log_follow_up(due.account_id))))
    summary = text.replace("**", "")
    if health is not None and health.score is not None:
        summary += f" Health {score_text(health.score)} ({health.band.value})."
    return Reply(summary=summary, blocks=tuple(blocks))


def follow_up_reply(due: _FollowUpDue) -> Reply:
    overdue = (due.today - due.due_date).days
    when = "due today" if overdue <= 0 else f"overdue by {plural(overdue, 'day')}"
    text = f"📌 Follow-up {when} for **{due.account_name}**: {truncate(due.what, 300)}"
    buttons = item_buttons(actions.FOLLOWUP_DONE, actions.FOLLOWUP_SNOOZE, "followup_id", due.follow_up_id)
    return Reply(summary=text.replace("**", ""), blocks=(Text(text), Actions(buttons)))


def _kind(due: _Due) -> str:
    if isinstance(due, _MilestoneDue):
        return "milestone"
    if isinstance(due, _RenewalDue):
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
        candidates: list[_Due] = [
            *await _milestones_due(session, today_of, settings),
            *await _renewals_due(session, today_of, settings),
            *await _follow_ups_due(session, today_of),
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

    health = await _renewal_health(db, [c for c in new if isinstance(c, _RenewalDue)])
    messages: list[outbox.NewMessage] = []
    by_kind: dict[str, int] = defaultdict(int)
    for due in new:
        if isinstance(due, _MilestoneDue):
            reply = milestone_reply(due)
        elif isinstance(due, _RenewalDue):
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


async def _renewal_health(db: Database, due: Sequence[_RenewalDue]) -> dict[tuple[int, date], AccountHealth]:
    """Health of the accounts of new renewal reminders, on each recipient's local today."""
    by_day: dict[date, list[int]] = defaultdict(list)
    for item in due:
        by_day[item.today].append(item.account_id)
    result: dict[tuple[int, date], AccountHealth] = {}
    for day, ids in by_day.items():
        for account_id, health in (await latest_health(db, ids, day)).items():
            result[(account_id, day)] = health
    return result


__all__ = [
    "DEFAULT_SETTINGS",
    "ReminderSettings",
    "ReminderStats",
    "enqueue_due_reminders",
    "follow_up_key",
    "milestone_key",
    "renewal_threshold",
]
