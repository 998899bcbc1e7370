"""An account's timeline: every touch with it, newest first, read from the tables that hold them.

Each source answers its newest entries (at most what the page needs) and how many it has in all, so a
page is the newest ``offset + limit`` of every source merged, however long the history: no source is
read whole. Sources (their kind names, which ``timeline ACCOUNT KIND`` filters on):

- ``followups``: follow-ups and notes logged (calls, emails, meetings, QBRs, notes), with the message
  they were captured from when there is one, and when they were done;
- ``feedback``: feedback items about the account and each change of their state;
- ``surveys``: survey answers that came with a comment;
- ``milestones``: milestones completed, and those overdue (on their due day);
- ``outcomes``: success-plan outcomes achieved;
- ``health``: band changes between consecutive daily snapshots, and health alerts sent;
- ``renewals``: renewals closed (renewed, downgraded, churned);
- ``tickets``: help-desk escalations (a connector's tickets).

Replies written in the thread of a feedback item's or a health alert's post (:mod:`storage.living`)
are on the timeline too, under ``feedback`` and ``health``; they are discussion, not events, so
:func:`recent` (what a channel following the account is told) leaves them out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    FeedbackItem,
    FeedbackTransition,
    FollowUp,
    HealthAlert,
    HealthSnapshot,
    Milestone,
    Outcome,
    Person,
    RenewalOutcome,
    SupportTicket,
    SurveyResponse,
    ThreadReply,
)
from storage.support_tickets import linked_organizations

KINDS = ("followups", "feedback", "surveys", "milestones", "outcomes", "health", "renewals", "tickets")
HEALTH_DAYS = 400  # band changes are looked for in this many days of snapshots


@dataclass(frozen=True, slots=True)
class Entry:
    """One touch: when, which kind, who (a person's name, or None), what happened, and where it came
    from (a chat message's link, or None)."""

    at: datetime
    kind: str
    who: str | None
    what: str
    link: str | None = None
    timed: bool = True  # False: only the day is known (a due day, a daily snapshot)
    # Which row it was read from ("feedback:12", "band:2026-12-04"): stable however often it is read,
    # so a channel following the account is told of it once.
    ident: str = ""


def _end_of(day: date) -> datetime:
    """A day-only event (a due day, a snapshot) sorts after that day's timed events."""
    return datetime.combine(day, time(23, 59), tzinfo=UTC)


Source = Callable[[AsyncSession, int, date, int], Awaitable[tuple[list[Entry], int]]]


async def _page(session: AsyncSession, statement: Any, limit: int) -> list[Any]:
    return list((await session.execute(statement.limit(limit))).all())


async def _count(session: AsyncSession, statement: Any) -> int:
    return int((await session.execute(select(func.count()).select_from(statement.subquery()))).scalar_one())


async def _followups(session: AsyncSession, account: int, today: date, limit: int) -> tuple[list[Entry], int]:
    base = (
        select(
            FollowUp.created_at,
            FollowUp.kind,
            Person.name,
            FollowUp.summary,
            FollowUp.next_step,
            FollowUp.done_at,
            FollowUp.source_link,
            FollowUp.id,
        )
        .outerjoin(Person, Person.id == FollowUp.author_id)
        .where(FollowUp.account_id == account)
    )
    rows = await _page(session, base.order_by(FollowUp.created_at.desc(), FollowUp.id.desc()), limit)
    entries = []
    for created, kind, who, summary, next_step, done_at, link, row_id in rows:
        what = f"{kind.capitalize()}: {summary}"
        if next_step:
            what += f" · next: {next_step}" + (f" (done {done_at:%Y-%m-%d})" if done_at else "")
        entries.append(Entry(created, "followups", who, what, link, ident=f"followup:{row_id}"))
    return entries, await _count(session, base)


async def _feedback(session: AsyncSession, account: int, today: date, limit: int) -> tuple[list[Entry], int]:
    items = (
        select(
            FeedbackItem.created_at, Person.name, FeedbackItem.text, FeedbackItem.source_link, FeedbackItem.id
        )
        .outerjoin(Person, Person.id == FeedbackItem.originator_id)
        .where(FeedbackItem.account_id == account)
    )
    moves = (
        select(
            FeedbackTransition.at,
            Person.name,
            FeedbackTransition.from_state,
            FeedbackTransition.to_state,
            FeedbackTransition.note,
            FeedbackItem.id,
            FeedbackTransition.id,
        )
        .join(FeedbackItem, FeedbackItem.id == FeedbackTransition.item_id)
        .outerjoin(Person, Person.id == FeedbackTransition.actor_id)
        .where(FeedbackItem.account_id == account, FeedbackTransition.from_state.is_not(None))
    )
    entries = [
        Entry(at, "feedback", who, f"Feedback #{item}: {text}", link, ident=f"feedback:{item}")
        for at, who, text, link, item in await _page(
            session, items.order_by(FeedbackItem.created_at.desc(), FeedbackItem.id.desc()), limit
        )
    ]
    for at, who, old, new, note, item, move in await _page(
        session, moves.order_by(FeedbackTransition.at.desc(), FeedbackTransition.id.desc()), limit
    ):
        what = f"Feedback #{item}: {old} → {new}" + (f" · {note}" if note else "")
        entries.append(Entry(at, "feedback", who, what, ident=f"feedback-move:{move}"))
    return entries, await _count(session, items) + await _count(session, moves)


async def _surveys(session: AsyncSession, account: int, today: date, limit: int) -> tuple[list[Entry], int]:
    base = select(
        SurveyResponse.submitted_at,
        SurveyResponse.respondent_email,
        SurveyResponse.kind,
        SurveyResponse.score,
        SurveyResponse.comment,
        SurveyResponse.id,
    ).where(
        SurveyResponse.account_id == account,
        SurveyResponse.comment.is_not(None),
        SurveyResponse.comment != "",
    )
    rows = await _page(
        session, base.order_by(SurveyResponse.submitted_at.desc(), SurveyResponse.id.desc()), limit
    )
    entries = [
        Entry(at, "surveys", who, f"{kind.upper()} {score}: “{comment}”", ident=f"survey:{row_id}")
        for at, who, kind, score, comment, row_id in rows
    ]
    return entries, await _count(session, base)


async def _milestones(
    session: AsyncSession, account: int, today: date, limit: int
) -> tuple[list[Entry], int]:
    done = select(Milestone.completed_at, Milestone.name, Milestone.id).where(
        Milestone.account_id == account, Milestone.completed_at.is_not(None)
    )
    overdue = select(Milestone.due_date, Milestone.name, Milestone.id).where(
        Milestone.account_id == account, Milestone.completed_at.is_(None), Milestone.due_date < today
    )
    entries = [
        Entry(at, "milestones", None, f"Milestone done: {name}", ident=f"milestone-done:{row_id}")
        for at, name, row_id in await _page(session, done.order_by(Milestone.completed_at.desc()), limit)
    ]
    entries += [
        Entry(
            _end_of(due),
            "milestones",
            None,
            f"Milestone overdue: {name}",
            timed=False,
            ident=f"milestone-overdue:{row_id}",
        )
        for due, name, row_id in await _page(session, overdue.order_by(Milestone.due_date.desc()), limit)
    ]
    return entries, await _count(session, done) + await _count(session, overdue)


async def _outcomes(session: AsyncSession, account: int, today: date, limit: int) -> tuple[list[Entry], int]:
    base = (
        select(Outcome.achieved_at, Person.name, Outcome.title, Outcome.achieved_value, Outcome.id)
        .outerjoin(Person, Person.id == Outcome.achieved_by_id)
        .where(Outcome.account_id == account, Outcome.achieved_at.is_not(None))
    )
    rows = await _page(session, base.order_by(Outcome.achieved_at.desc()), limit)
    entries = [
        Entry(
            at,
            "outcomes",
            who,
            f"Outcome achieved: {title}" + (f" ({value:g})" if value is not None else ""),
            ident=f"outcome:{row_id}",
        )
        for at, who, title, value, row_id in rows
    ]
    return entries, await _count(session, base)


async def _health(session: AsyncSession, account: int, today: date, limit: int) -> tuple[list[Entry], int]:
    since = date.fromordinal(today.toordinal() - HEALTH_DAYS)
    earlier = aliased(HealthSnapshot)
    previous_band = (
        select(earlier.band)
        .where(earlier.account_id == HealthSnapshot.account_id, earlier.day < HealthSnapshot.day)
        .order_by(earlier.day.desc())
        .limit(1)
        .scalar_subquery()
    )
    changes = (
        select(HealthSnapshot.day, previous_band.label("before"), HealthSnapshot.band, HealthSnapshot.score)
        .where(HealthSnapshot.account_id == account, HealthSnapshot.day >= since)
        .subquery()
    )
    band_changes = select(changes).where(
        and_(changes.c.before.is_not(None), changes.c.before != changes.c.band)
    )
    alerts = select(HealthAlert.created_at, HealthAlert.kind, HealthAlert.id).where(
        HealthAlert.account_id == account
    )
    entries = [
        Entry(
            _end_of(day),
            "health",
            None,
            f"Health {before} → {band}" + (f" (score {score:.0f})" if score is not None else ""),
            timed=False,
            ident=f"band:{day.isoformat()}",
        )
        for day, before, band, score in await _page(
            session, band_changes.order_by(changes.c.day.desc()), limit
        )
    ]
    entries += [
        Entry(at, "health", None, f"Health alert sent: {kind.replace('_', ' ')}", ident=f"alert:{row_id}")
        for at, kind, row_id in await _page(session, alerts.order_by(HealthAlert.created_at.desc()), limit)
    ]
    return entries, await _count(session, band_changes) + await _count(session, alerts)


def _money(value: Decimal | None) -> str:
    return "?" if value is None else f"{value:,.0f}"


async def _renewals(session: AsyncSession, account: int, today: date, limit: int) -> tuple[list[Entry], int]:
    base = select(
        RenewalOutcome.closed_on,
        RenewalOutcome.result,
        RenewalOutcome.arr_before,
        RenewalOutcome.arr_after,
        RenewalOutcome.source_id,
    ).where(RenewalOutcome.account_id == account)
    rows = await _page(session, base.order_by(RenewalOutcome.closed_on.desc()), limit)
    entries = [
        Entry(
            _end_of(day),
            "renewals",
            None,
            f"Renewal {result}: ARR {_money(before)} → {_money(after)}",
            timed=False,
            ident=f"renewal:{row_id}",
        )
        for day, result, before, after, row_id in rows
    ]
    return entries, await _count(session, base)


async def _tickets(session: AsyncSession, account: int, today: date, limit: int) -> tuple[list[Entry], int]:
    organizations = [
        org for org, linked in (await linked_organizations(session, "zendesk")).items() if linked == account
    ]
    if not organizations:
        return [], 0
    base = select(SupportTicket.created_at, SupportTicket.ticket_id, SupportTicket.solved_at).where(
        SupportTicket.source == "zendesk",
        SupportTicket.organization_id.in_(organizations),
        SupportTicket.escalated,
    )
    rows = await _page(session, base.order_by(SupportTicket.created_at.desc()), limit)
    entries = [
        Entry(
            at,
            "tickets",
            None,
            f"Escalated ticket #{ticket} opened" + (" (solved)" if solved else ""),
            ident=f"ticket:{ticket}",
        )
        for at, ticket, solved in rows
    ]
    return entries, await _count(session, base)


def _replies(subject_kind: str, timeline_kind: str, label: str) -> Source:
    """The replies in the threads of ``subject_kind``'s posts about the account."""

    async def source(session: AsyncSession, account: int, today: date, limit: int) -> tuple[list[Entry], int]:
        base = (
            select(
                ThreadReply.at,
                Person.name,
                ThreadReply.subject_id,
                ThreadReply.text,
                ThreadReply.link,
                ThreadReply.id,
            )
            .outerjoin(Person, Person.id == ThreadReply.author_id)
            .where(ThreadReply.account_id == account, ThreadReply.subject_kind == subject_kind)
        )
        rows = await _page(session, base.order_by(ThreadReply.at.desc(), ThreadReply.id.desc()), limit)
        entries = [
            Entry(
                at,
                timeline_kind,
                who,
                f"In the thread of {label} #{subject}: {text}",
                link,
                ident=f"reply:{row_id}",
            )
            for at, who, subject, text, link, row_id in rows
        ]
        return entries, await _count(session, base)

    return source


SOURCES: dict[str, Source] = {
    "followups": _followups,
    "feedback": _feedback,
    "surveys": _surveys,
    "milestones": _milestones,
    "outcomes": _outcomes,
    "health": _health,
    "renewals": _renewals,
    "tickets": _tickets,
}


# Discussion in the threads of living messages, by the timeline kind it shows under.
REPLIES: dict[str, Source] = {
    "feedback": _replies("feedback", "feedback", "feedback"),
    "health": _replies("alert", "health", "health alert"),
}


async def timeline(
    session: AsyncSession, account_id: int, *, today: date, offset: int, limit: int, kind: str | None = None
) -> tuple[list[Entry], int]:
    """The entries ``offset`` to ``offset + limit`` of the account's timeline (of one ``kind`` when
    given), newest first, and how many there are in all."""
    wanted = offset + limit
    entries: list[Entry] = []
    total = 0
    for name, source in SOURCES.items():
        if kind is not None and name != kind:
            continue
        for read in (source, REPLIES.get(name)):
            if read is not None:
                found, count = await read(session, account_id, today, wanted)
                entries.extend(found)
                total += count
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[offset:wanted], total


async def recent(
    session: AsyncSession, account_id: int, *, today: date, kinds: tuple[str, ...], limit: int
) -> list[Entry]:
    """The newest ``limit`` entries of each of ``kinds`` (what a channel following the account is told)."""
    entries: list[Entry] = []
    for kind in kinds:
        found, _count_of = await SOURCES[kind](session, account_id, today, limit)
        entries.extend(found)
    entries.sort(key=lambda entry: entry.at)
    return entries
