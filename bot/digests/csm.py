"""The CSM digest, one per person's DM: their accounts that changed band, renewals in 30/60/90 days,
follow-ups and milestones due (with Done / Snooze), open feedback sent to them, success-plan outcomes at
risk and achieved, and advocates worth asking for a reference. Built for many people at once, in
batches, with one set of queries per batch. Churned accounts are left out of all of it but the feedback
sent to the person, which still waits for an answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, union
from sqlalchemy.ext.asyncio import AsyncSession

from bot import actions
from bot.core.context import BotContext
from bot.core.lines import follow_up_line, list_line, milestone_line, worst_first
from bot.digests.parts import (
    OPEN_FEEDBACK,
    BandChange,
    Digest,
    FeedbackLine,
    band_changes,
    capped,
    change_lines,
    comparison_day,
    feedback_columns,
    feedback_line,
    milestone_columns,
    open_milestone,
    quiet,
    renewal_line,
    section,
    with_buttons,
)
from bot.format import (
    day_text,
    plural,
)
from bot.health.load import MAX_IDS_PER_QUERY
from bot.health.service import AccountHealth, latest_health
from bot.success.plan_text import Highlights, highlight_line, plan_highlights
from bot.success.plans import plans_for_accounts
from bot.types import Block, Context, Header, Reply, Text
from storage import queries
from storage.models import (
    Account,
    Band,
    FeedbackItem,
    FollowUp,
    Milestone,
    Outcome,
    OutcomeStatus,
    Person,
    SurveyKind,
    SurveyResponse,
)
from storage.queries import AccountRow, FollowUpRow, MilestoneRow

RENEWAL_BUCKETS = ((30, "Within 30 days"), (60, "31 to 60 days"), (90, "61 to 90 days"))


PEOPLE_PER_BATCH = 500


ADVOCATE_DAYS = 90


ADVOCATE_MIN_SCORE = 9


async def build_csm_digest(
    ctx: BotContext, person_id: int, *, today: date, since: date | None = None
) -> Digest:
    """The DM digest of one person's accounts (see :func:`build_csm_digests`)."""
    return (await build_csm_digests(ctx, [person_id], today=today, since=since))[person_id]


async def build_csm_digests(
    ctx: BotContext, person_ids: Iterable[int], *, today: date, since: date | None = None
) -> dict[int, Digest]:
    """The DM digests of many people at once, keyed by person id, with the same few queries per batch.

    Each shows the person's accounts worst first, band changes since the snapshot of ``since``
    (default: the day before), follow-ups and milestones due today or overdue with Done/Snooze
    buttons, and renewals in the next 30, 60 and 90 days.
    """
    ids = sorted(set(person_ids))
    result: dict[int, Digest] = {}
    for start in range(0, len(ids), PEOPLE_PER_BATCH):
        result.update(await _csm_batch(ctx, ids[start : start + PEOPLE_PER_BATCH], today, since))
    return result


async def _csm_batch(
    ctx: BotContext, people: list[int], today: date, since: date | None
) -> dict[int, Digest]:
    owned = Account.owner_id.in_(people)
    live = queries.not_churned()
    async with ctx.db.sessions() as session:
        day = await queries.latest_snapshot_day(session, today)
        previous = await comparison_day(session, day, since)
        stmt = queries.account_select().where(owned, live).order_by(Account.name)
        accounts = [AccountRow(*row) for row in (await session.execute(stmt)).all()]
        changes = await band_changes(session, [owned, live], day, previous) if day and previous else []
        follow_ups = await _due_follow_ups(session, people, today)
        milestones = await _due_milestones(session, people, today)
        feedback = await _open_feedback(session, people)
        advocates = await _advocates(session, people, today)
    health: dict[int, AccountHealth] = {}
    if day and accounts:
        ids = [a.id for a in accounts]
        health = await latest_health(ctx.db, ids, day, model=ctx.health_model, compute_missing=False)

    plans = await _plan_highlights(ctx, accounts, health, today)

    by_owner: dict[int, list[AccountRow]] = {}
    for account in accounts:
        assert account.owner_id is not None
        by_owner.setdefault(account.owner_id, []).append(account)
    changes_by_owner: dict[int, list[BandChange]] = {}
    for change in changes:
        assert change.owner_id is not None
        changes_by_owner.setdefault(change.owner_id, []).append(change)
    follow_ups_by_person: dict[int, list[FollowUpRow]] = {}
    for row, concerned in follow_ups:
        for person_id in concerned:
            follow_ups_by_person.setdefault(person_id, []).append(row)
    milestones_by_owner: dict[int, list[MilestoneRow]] = {}
    for owner_id, milestone in milestones:
        milestones_by_owner.setdefault(owner_id, []).append(milestone)
    feedback_by_person: dict[int, list[FeedbackLine]] = {}
    for recipient_id, line in feedback:
        feedback_by_person.setdefault(recipient_id, []).append(line)
    advocates_by_owner: dict[int, list[Advocate]] = {}
    for owner_id, advocate in advocates:
        advocates_by_owner.setdefault(owner_id, []).append(advocate)

    return {
        person_id: _csm_digest(
            today=today,
            day=day,
            previous=previous,
            accounts=by_owner.get(person_id, []),
            health=health,
            changes=changes_by_owner.get(person_id, []),
            follow_ups=follow_ups_by_person.get(person_id, []),
            milestones=milestones_by_owner.get(person_id, []),
            feedback=feedback_by_person.get(person_id, []),
            advocates=advocates_by_owner.get(person_id, []),
            plans=[(a.name, plans[a.id]) for a in by_owner.get(person_id, []) if a.id in plans],
        )
        for person_id in people
    }


async def _plan_highlights(
    ctx: BotContext, accounts: Sequence[AccountRow], health: Mapping[int, AccountHealth], today: date
) -> dict[int, Highlights]:
    """Success-plan outcomes at risk and achieved this week, per account that has any.

    Evaluating an outcome needs the account's usage and surveys, so only accounts that can have
    something to show are evaluated: those whose stored health has a success-plan component below
    100 (an outcome behind its line or missed), and those with an outcome achieved this week.
    """
    ids = [a.id for a in accounts]
    behind = {
        account_id
        for account_id, h in health.items()
        if any(c.name == "success_plan" and c.score is not None and c.score < 100 for c in h.components)
    }
    week_start = datetime.combine(today - timedelta(days=6), datetime.min.time(), tzinfo=UTC)
    found: dict[int, Highlights] = {}
    async with ctx.db.sessions() as session:
        achieved: set[int] = set()
        for start in range(0, len(ids), MAX_IDS_PER_QUERY):
            stmt = select(Outcome.account_id).where(
                Outcome.account_id.in_(ids[start : start + MAX_IDS_PER_QUERY]),
                Outcome.status == OutcomeStatus.ACHIEVED.value,
                Outcome.achieved_at >= week_start,
            )
            achieved.update((await session.execute(stmt)).scalars())
        wanted = sorted((behind & set(ids)) | achieved)
        for account_id, states in (await plans_for_accounts(session, wanted, today)).items():
            highlights = plan_highlights(states, today)
            if highlights.at_risk or highlights.achieved_this_week:
                found[account_id] = highlights
    return found


def _plan_lines(plans: Sequence[tuple[str, Highlights]], today: date) -> tuple[str, list[str]]:
    """The title and lines of the digest's success-plan section: at risk first, then achieved."""
    at_risk = [(name, s) for name, h in plans for s in h.at_risk]
    achieved = [(name, s) for name, h in plans for s in h.achieved_this_week]
    counts = [f"{len(at_risk)} at risk"] if at_risk else []
    counts += [f"{len(achieved)} achieved this week"] if achieved else []
    lines = [f"**{name}**: {highlight_line(s, today)}" for name, s in (*at_risk, *achieved)]
    return f"Success plans: {', '.join(counts)}", lines


async def _due_follow_ups(
    session: AsyncSession, people: list[int], today: date
) -> list[tuple[FollowUpRow, set[int]]]:
    """Open follow-ups due today or earlier that these people wrote or whose account they own, with
    the ids of the people among them each concerns."""
    stmt = (
        queries.open_follow_up_select(today)
        .add_columns(FollowUp.author_id, Account.owner_id)
        .where(FollowUp.due_date <= today, queries.not_churned())
        # Two index look-ups (by author, by the owner's accounts) rather than one OR across two
        # tables, which no index serves: it scanned every open follow-up.
        .where(
            FollowUp.id.in_(
                union(
                    select(FollowUp.id).where(FollowUp.author_id.in_(people)),
                    select(FollowUp.id)
                    .join(Account, Account.id == FollowUp.account_id)
                    .where(Account.owner_id.in_(people)),
                )
            )
        )
        .order_by(FollowUp.due_date, FollowUp.created_at, FollowUp.id)
    )
    wanted = set(people)
    found = []
    for row in (await session.execute(stmt)).all():
        *fields, author_id, owner_id = row
        found.append((FollowUpRow(*fields), {author_id, owner_id} & wanted))
    return found


async def _due_milestones(
    session: AsyncSession, people: list[int], today: date
) -> list[tuple[int, MilestoneRow]]:
    """Open milestones due today or earlier on accounts these people own, oldest first, with the owner."""
    stmt = (
        select(*milestone_columns(), Account.owner_id)
        .join(Account, Account.id == Milestone.account_id)
        .where(open_milestone(today), Milestone.due_date <= today, Account.owner_id.in_(people))
        .where(queries.not_churned())
        .order_by(Milestone.due_date, Account.name, Milestone.name)
    )
    return [(row[-1], MilestoneRow(*row[:-1])) for row in (await session.execute(stmt)).all()]


async def _open_feedback(session: AsyncSession, people: list[int]) -> list[tuple[int, FeedbackLine]]:
    """Feedback sent to these people and not yet resolved, oldest first, with its recipient."""
    stmt = (
        select(*feedback_columns(), FeedbackItem.recipient_id)
        .outerjoin(Account, Account.id == FeedbackItem.account_id)
        .join(Person, Person.id == FeedbackItem.recipient_id)
        .where(FeedbackItem.state.in_(OPEN_FEEDBACK), FeedbackItem.recipient_id.in_(people))
        .order_by(FeedbackItem.created_at, FeedbackItem.id)
    )
    return [(row[-1], FeedbackLine(*row[:-1])) for row in (await session.execute(stmt)).all()]


@dataclass(frozen=True, slots=True)
class Advocate:
    account_name: str
    score: int
    comment: str | None
    respondent_email: str | None
    submitted_at: datetime


async def _advocates(session: AsyncSession, people: list[int], today: date) -> list[tuple[int, Advocate]]:
    """NPS promoters (9-10) of the last ADVOCATE_DAYS days on these people's accounts, newest first."""
    start = datetime.combine(today - timedelta(days=ADVOCATE_DAYS), datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    stmt = (
        select(
            Account.name,
            SurveyResponse.score,
            SurveyResponse.comment,
            SurveyResponse.respondent_email,
            SurveyResponse.submitted_at,
            Account.owner_id,
        )
        .join(Account, Account.id == SurveyResponse.account_id)
        .where(
            SurveyResponse.kind == SurveyKind.NPS.value,
            SurveyResponse.score >= ADVOCATE_MIN_SCORE,
            SurveyResponse.submitted_at >= start,
            SurveyResponse.submitted_at < end,
            Account.owner_id.in_(people),
            queries.not_churned(),
        )
        .order_by(SurveyResponse.submitted_at.desc(), Account.name)
    )
    found: list[tuple[int, Advocate]] = []
    for name, score, comment, email, submitted_at, owner_id in (await session.execute(stmt)).all():
        if owner_id is not None:
            found.append((owner_id, Advocate(name, score, comment, email, submitted_at)))
    return found


def _advocate_line(advocate: Advocate) -> str:
    line = f"⭐ **{advocate.account_name}** · NPS {advocate.score} · {day_text(advocate.submitted_at.date())}"
    if advocate.respondent_email:
        line += f" · {advocate.respondent_email}"
    if advocate.comment and advocate.comment.strip():
        text = " ".join(advocate.comment.split())
        line += f" · “{text if len(text) <= 80 else text[:79] + '…'}”"
    return line


def _csm_digest(
    *,
    today: date,
    day: date | None,
    previous: date | None,
    accounts: list[AccountRow],
    health: Mapping[int, AccountHealth],
    changes: list[BandChange],
    follow_ups: list[FollowUpRow],
    milestones: list[MilestoneRow],
    feedback: list[FeedbackLine],
    advocates: list[Advocate],
    plans: list[tuple[str, Highlights]],
) -> Digest:
    items = sorted(((a, health.get(a.id)) for a in accounts), key=worst_first)
    reds = [a for a, h in items if h is not None and h.band is Band.RED]
    horizon = today + timedelta(days=RENEWAL_BUCKETS[-1][0])
    renewing = sorted(
        (a for a in accounts if a.renewal_date is not None and today <= a.renewal_date <= horizon),
        key=lambda a: (a.renewal_date, a.name),
    )
    if not (reds or changes or follow_ups or milestones or renewing or feedback or plans):
        return quiet(None)

    blocks: list[Block] = [Header(f"Your digest for {day_text(today)}")]
    lines = [list_line(a, h, today) for a, h in items]
    blocks.append(Text(section(f"Your accounts ({len(items)}), worst health first", lines)))
    if changes and previous is not None:
        blocks.append(Text(section(f"Changed since {day_text(previous)}", change_lines(changes))))
    if follow_ups:
        blocks += with_buttons(
            f"Follow-ups due ({len(follow_ups)})",
            [(follow_up_line(f, today), f.id) for f in follow_ups],
            actions.FOLLOWUP_DONE,
            actions.FOLLOWUP_SNOOZE,
            "followup_id",
            more="use `followups overdue` for the rest",
        )
    if milestones:
        blocks += with_buttons(
            f"Milestones due or overdue ({len(milestones)})",
            [(milestone_line(m, today), m.id) for m in milestones],
            actions.MILESTONE_DONE,
            actions.MILESTONE_SNOOZE,
            "milestone_id",
            more="use `milestones` for the rest",
        )
    if feedback:
        lines = [feedback_line(f, today, recipient=False) for f in feedback]
        blocks.append(Text(section(f"Feedback for you to answer ({len(feedback)})", lines)))
    if renewing:
        renewal_lines: list[str] = []
        low = -1
        for days, label in RENEWAL_BUCKETS:
            bucket = [a for a in renewing if a.renewal_date and low < (a.renewal_date - today).days <= days]
            low = days
            if bucket:
                renewal_lines.append(f"_{label}_")
                renewal_lines += [renewal_line(a, health.get(a.id), today, owner=False) for a in bucket]
        blocks.append(Text("**Renewals in the next 90 days**\n" + "\n".join(renewal_lines)))
    if plans:
        title, lines = _plan_lines(plans, today)
        blocks.append(Text(section(title, lines)))
    if advocates:
        lines = [_advocate_line(a) for a in advocates]
        blocks.append(Text(section(f"Advocates: promoters in the last {ADVOCATE_DAYS} days", lines)))
    health_of = f"Health of {day_text(day)}" if day else "No health computed yet"
    blocks.append(Context((health_of, "`digest list` to change your digests")))
    parts = [plural(len(follow_ups), "follow-up") + " due"] if follow_ups else []
    if feedback:
        parts.append(plural(len(feedback), "feedback item") + " to answer")
    if milestones:
        parts.append(plural(len(milestones), "milestone") + " due")
    if renewing:
        parts.append(plural(len(renewing), "renewal") + " in 90 days")
    if reds:
        parts.append(plural(len(reds), "red account"))
    return Digest(reply=Reply(summary="Your digest: " + ", ".join(parts), blocks=capped(blocks)))
