"""What a digest says: a team digest for a channel (or a manager) and a CSM digest for a person's DM.

The builders turn a handful of set-based queries into a :class:`Digest`: the :class:`Reply` to post
and any images it refers to (``attachment://NAME`` urls) as PNG bytes for the adapter to upload.
Nothing here writes to the database or sends anything; the scheduler queues what it builds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot import actions
from bot.charts import stacked_bars_png
from bot.core.context import BotContext
from bot.format import (
    band_mark,
    day_text,
    days_until_text,
    money,
    plural,
    score_text,
    signed_money,
    trend_arrow,
)
from bot.health.load import MAX_IDS_PER_QUERY
from bot.health.service import AccountHealth, latest_health
from bot.success.plan_text import Highlights, highlight_line, plan_highlights
from bot.success.plans import plans_for_accounts
from bot.types import Actions, Block, Context, Header, Image, Reply, Text
from handlers.accounts import list_line, worst_first
from handlers.followups import follow_up_line, item_buttons
from handlers.milestones import milestone_line
from storage import queries
from storage.arr_history import AccountMovement, ArrMovements, movements
from storage.models import (
    Account,
    Band,
    DigestCadence,
    DigestScope,
    DigestSubscription,
    FeedbackItem,
    FeedbackState,
    FollowUp,
    HealthSnapshot,
    Milestone,
    Outcome,
    OutcomeStatus,
    Person,
    Role,
    SurveyKind,
    SurveyResponse,
)
from storage.queries import AccountRow, FollowUpRow, MilestoneRow

QUIET = "All quiet: nothing needs you today."
MAX_BLOCKS = 40
MAX_LINES = 10  # lines in one list before "…and N more"
MAX_ITEMS_WITH_BUTTONS = 5  # each takes two blocks (the line and its buttons)
FALLERS = 5
FALLING_DAYS = 7
RED_RENEWAL_DAYS = 90
BIGGEST_MOVES = 3  # accounts named each way in "Expansion and contraction"
RENEWAL_BUCKETS = ((30, "Within 30 days"), (60, "31 to 60 days"), (90, "61 to 90 days"))
CHART_DAYS = 30
CHART_NAME = "health-30d.png"
CHART_URL = f"attachment://{CHART_NAME}"
BANDS = (Band.RED, Band.YELLOW, Band.GREEN, Band.UNKNOWN)
BAND_RANK = {band.value: rank for rank, band in enumerate(BANDS)}
PEOPLE_PER_BATCH = 500
ADVOCATE_DAYS = 90
ADVOCATE_MIN_SCORE = 9
OPEN_FEEDBACK = (FeedbackState.NEW.value, FeedbackState.ACKNOWLEDGED.value)
FEEDBACK_MARKS = {FeedbackState.NEW.value: "🆕", FeedbackState.ACKNOWLEDGED.value: "👀"}
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class Digest:
    """A digest to post: the reply, and the images its ``Image`` blocks name (file name -> PNG bytes)."""

    reply: Reply
    images: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BandChange:
    account_id: int
    account_name: str
    owner_id: int | None
    before: str
    after: str
    score_before: float | None
    score_after: float | None


# ------------------------------------------------------------------------------------ the entry point


def digest_today(ctx: BotContext, subscription: DigestSubscription, now: datetime) -> date:
    """The calendar day ``now`` falls on in the subscription's time zone."""
    try:
        return now.astimezone(ZoneInfo(subscription.timezone)).date()
    except (KeyError, ValueError):
        return ctx.local_date(now)


def previous_digest_day(subscription: DigestSubscription, today: date) -> date:
    """The day of the previous digest: its period when that is a date, else one cadence back."""
    period = subscription.last_sent_period or ""
    if _ISO_DAY.fullmatch(period):  # "2026-11-24", not a week such as "2026-W48"
        try:
            return date.fromisoformat(period)
        except ValueError:
            pass
    return today - timedelta(days=7 if subscription.cadence == DigestCadence.WEEKLY else 1)


async def build_digest(ctx: BotContext, subscription: DigestSubscription, *, now: datetime) -> Digest | None:
    """The digest ``subscription`` gets at ``now``; None when there is no one to build it for
    (the subscription is inactive, or the people it depends on were deleted)."""
    if not subscription.active:
        return None
    today = digest_today(ctx, subscription, now)
    since = previous_digest_day(subscription, today)
    if subscription.scope == DigestScope.MINE:
        person_id = subscription.person_id or subscription.created_by_id
        if person_id is None:
            return None
        return await build_csm_digest(ctx, person_id, today=today, since=since)
    if subscription.scope == DigestScope.SEGMENT and subscription.segment:
        return await build_team_digest(
            ctx,
            owner_ids=None,
            segment=subscription.segment,
            title=f"Segment {subscription.segment}",
            today=today,
            since=since,
        )
    # A team digest covers the team of whoever set it up (or of its recipient, if they are gone).
    base_id = subscription.created_by_id or subscription.person_id
    if base_id is None:
        return None
    async with ctx.db.sessions() as session:
        scope = await team_scope(session, base_id)
    if scope is None:
        return None
    owner_ids, title = scope
    return await build_team_digest(ctx, owner_ids=owner_ids, title=title, today=today, since=since)


async def team_scope(session: AsyncSession, person_id: int) -> tuple[list[int] | None, str] | None:
    """Whose accounts a team digest of ``person_id`` covers (None: everyone's) and its title, as
    ``handlers.scope.owner_scope``: an admin sees all, a manager their reports', anyone else their own."""
    person = (await session.execute(select(Person.name, Person.role).where(Person.id == person_id))).first()
    if person is None:
        return None
    name, role = person
    if role == Role.ADMIN:
        return None, "All accounts"
    if role == Role.CS_MANAGER:
        reports = (await session.execute(select(Person.id).where(Person.manager_id == person_id))).scalars()
        return [person_id, *reports], f"{name}'s team"
    return [person_id], f"{name}'s accounts"


# ------------------------------------------------------------------------------------- team digest


def _scope_clauses(owner_ids: Sequence[int] | None, segment: str | None) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if owner_ids is not None:
        clauses.append(Account.owner_id.in_(list(owner_ids)))
    if segment is not None:
        clauses.append(func.lower(Account.segment) == segment.lower())
    return clauses


async def _comparison_day(session: AsyncSession, day: date | None, since: date | None) -> date | None:
    """The snapshot day to compare ``day`` with: the latest one on or before ``since``."""
    if day is None:
        return None
    since = day - timedelta(days=1) if since is None else since
    if since >= day:
        return None
    return await queries.latest_snapshot_day(session, since)


async def build_team_digest(
    ctx: BotContext,
    *,
    owner_ids: Sequence[int] | None,
    segment: str | None = None,
    title: str,
    today: date,
    since: date | None = None,
) -> Digest:
    """The digest of the accounts owned by ``owner_ids`` (None: all) in ``segment`` (None: any).

    Health counts and ARR by band with their movement since the snapshot of ``since`` (default: the
    day before), accounts that changed band, a 30-day chart, the accounts falling fastest with why,
    red accounts renewing within 90 days, ARR expansion and contraction since ``since``, and overdue
    milestones.
    """
    scope = _scope_clauses(owner_ids, segment)
    async with ctx.db.sessions() as session:
        day = await queries.latest_snapshot_day(session, today)
        previous = await _comparison_day(session, day, since)
        by_day = await _band_totals(session, scope, day, previous) if day else {}
        changes = await _band_changes(session, scope, day, previous) if day and previous else []
        faller_ids = await _fallers(session, scope, day) if day else []
        red_renewing = await _red_renewing(session, scope, day, today) if day else []
        overdue, overdue_count = await _overdue_milestones(session, scope, today)
        waiting, waiting_count = await _waiting_feedback(session, owner_ids, segment)
        arr_moves = await _arr_movements(session, scope, since or today - timedelta(days=1), today)
        accounts = await queries.accounts_by_ids(session, sorted({*faller_ids, *red_renewing}))
    health: dict[int, AccountHealth] = {}
    if day and accounts:
        health = await latest_health(
            ctx.db, list(accounts), day, model=ctx.health_model, compute_missing=False
        )

    today_counts = by_day.get(day, {}) if day else {}
    reds = today_counts.get(Band.RED.value, (0, Decimal(0)))[0]
    fallers = [i for i in faller_ids if i in accounts]
    if not (reds or changes or fallers or red_renewing or arr_moves or overdue_count or waiting_count):
        return _quiet(title)

    blocks: list[Block] = [Header(f"{title}: digest for {day_text(today)}")]
    if day is not None:  # reds, changes, fallers and renewals all need a snapshot day
        before_counts = by_day.get(previous, {}) if previous else None
        blocks.append(Text(_band_summary(today_counts, before_counts, day, previous)))
    if changes:
        blocks.append(Text(_section(f"Changed band since {day_text(previous)}", _change_lines(changes))))
    chart = _chart(by_day, day) if day is not None else None
    images: dict[str, bytes] = {}
    if chart is not None:
        images[CHART_NAME] = chart
        blocks.append(Image(url=CHART_URL, alt=_chart_alt(today_counts), title="Health, last 30 days"))
    if fallers:
        lines = [_faller_line(accounts[i], health.get(i)) for i in fallers]
        blocks.append(Text(_section(f"Falling fastest ({FALLING_DAYS} days)", lines)))
    if red_renewing:
        lines = [_renewal_line(accounts[i], health.get(i), today, owner=True) for i in red_renewing]
        blocks.append(Text(_section(f"Red and renewing within {RED_RENEWAL_DAYS} days", lines)))
    if arr_moves:
        blocks.append(Text(_arr_section(arr_moves)))
    if overdue_count:
        lines = [milestone_line(m, today) for m in overdue]
        blocks.append(Text(_section(f"Milestones overdue ({overdue_count})", lines, total=overdue_count)))
    if waiting_count:
        lines = [_feedback_line(f, today, recipient=True) for f in waiting]
        title_line = f"Feedback waiting for an answer ({waiting_count})"
        blocks.append(Text(_section(title_line, lines, total=waiting_count)))
    health_of = f"Health of {day_text(day)}" if day else "No health computed yet"
    blocks.append(Context((health_of, "`digest list` to change your digests")))
    summary = f"{title}: {plural(reds, 'red account')}"
    if overdue_count:
        summary += f", {plural(overdue_count, 'milestone')} overdue"
    if waiting_count:
        summary += f", {plural(waiting_count, 'feedback item')} waiting"
    return Digest(reply=Reply(summary=summary, blocks=_capped(blocks), shared=True), images=images)


async def _arr_movements(
    session: AsyncSession, scope: list[ColumnElement[bool]], since: date, today: date
) -> ArrMovements:
    """ARR changes recorded after ``since`` up to ``today`` on the digest's accounts. The previous
    digest counted changes up to its own day, so each change is told once."""
    ids = None
    if scope:
        ids = list((await session.execute(select(Account.id).where(*scope))).scalars())
    return await movements(session, since, today, ids)


def _movement_line(move: AccountMovement) -> str:
    mark = "▲" if move.change > 0 else "▼"
    values = f"{money(move.before)} → {money(move.after)}"
    return f"{mark} **{move.account_name}** {signed_money(move.change)} ({values})"


def _arr_section(moves: ArrMovements) -> str:
    """Expanded and contracted ARR with their accounts, the net, and the biggest moves each way."""
    lines: list[str] = []
    if moves.expansion:
        counted = plural(len(moves.expansion), "account")
        lines.append(f"Expanded {signed_money(moves.expanded)} ({counted})")
    if moves.contraction:
        lines.append(
            f"Contracted {signed_money(moves.contracted)} ({plural(len(moves.contraction), 'account')})"
        )
    lines.append(f"Net {signed_money(moves.net)}")
    lines += [_movement_line(m) for m in moves.expansion[:BIGGEST_MOVES]]
    lines += [_movement_line(m) for m in moves.contraction[:BIGGEST_MOVES]]
    return f"**Expansion and contraction since {day_text(moves.start)}**\n" + "\n".join(lines)


BandTotals = dict[date, dict[str, tuple[int, Decimal]]]


async def _band_totals(
    session: AsyncSession, scope: list[ColumnElement[bool]], day: date, previous: date | None
) -> BandTotals:
    """Accounts and ARR per band per day, for the chart's 30 days and the comparison day."""
    h = HealthSnapshot
    window = h.day.between(day - timedelta(days=CHART_DAYS - 1), day)
    stmt = (
        select(h.day, h.band, func.count(), func.coalesce(func.sum(Account.arr), 0))
        .join(Account, Account.id == h.account_id)
        .where(or_(window, h.day == previous) if previous else window, *scope)
        .group_by(h.day, h.band)
    )
    totals: BandTotals = {}
    for on, band, count, arr in await session.execute(stmt):
        totals.setdefault(on, {})[band if band in BAND_RANK else Band.UNKNOWN.value] = (
            int(count),
            Decimal(arr or 0),
        )
    return totals


async def _band_changes(
    session: AsyncSession, scope: list[ColumnElement[bool]], day: date, previous: date
) -> list[BandChange]:
    """Accounts whose band on ``day`` differs from ``previous``: worst new band first, then by name."""
    now, past = aliased(HealthSnapshot), aliased(HealthSnapshot)
    stmt = (
        select(now.account_id, Account.name, Account.owner_id, past.band, now.band, past.score, now.score)
        .join(Account, Account.id == now.account_id)
        .join(past, and_(past.account_id == now.account_id, past.day == previous))
        .where(now.day == day, now.band != past.band, *scope)
    )
    if scope:
        # Start from the scope's accounts: otherwise the day's snapshots of every account are walked
        # and filtered by owner afterwards (150-270 ms per CSM digest at 20,000 accounts on SQLite).
        stmt = stmt.where(now.account_id.in_(select(Account.id).where(*scope)))
    changes = [BandChange(*row) for row in await session.execute(stmt)]
    return sorted(changes, key=lambda c: (BAND_RANK.get(c.after, 9), c.account_name))


async def _fallers(session: AsyncSession, scope: list[ColumnElement[bool]], day: date) -> list[int]:
    """The accounts whose score fell the most over the last week, most first."""
    now, past = aliased(HealthSnapshot), aliased(HealthSnapshot)
    fall = now.score - past.score
    stmt = (
        select(now.account_id)
        .join(Account, Account.id == now.account_id)
        .join(past, and_(past.account_id == now.account_id, past.day == day - timedelta(days=FALLING_DAYS)))
        .where(now.day == day, fall <= -1, *scope)
        .order_by(fall, Account.name)
        .limit(FALLERS)
    )
    return list((await session.execute(stmt)).scalars())


async def _red_renewing(
    session: AsyncSession, scope: list[ColumnElement[bool]], day: date, today: date
) -> list[int]:
    h = HealthSnapshot
    stmt = (
        select(h.account_id)
        .join(Account, Account.id == h.account_id)
        .where(h.day == day, h.band == Band.RED.value, *scope)
        .where(Account.renewal_date.between(today, today + timedelta(days=RED_RENEWAL_DAYS)))
        .order_by(Account.renewal_date, Account.name)
    )
    return list((await session.execute(stmt)).scalars())


def _milestone_columns() -> tuple[Any, ...]:  # column expressions of a MilestoneRow
    return (
        Milestone.id,
        Milestone.account_id,
        Account.name,
        Milestone.name,
        Milestone.kind,
        Milestone.due_date,
        Milestone.completed_at.is_not(None),
        Milestone.snoozed_until,
    )


def _open_milestone(today: date) -> ColumnElement[bool]:
    return and_(
        Milestone.completed_at.is_(None),
        or_(Milestone.snoozed_until.is_(None), Milestone.snoozed_until <= today),
    )


async def _overdue_milestones(
    session: AsyncSession, scope: list[ColumnElement[bool]], today: date
) -> tuple[list[MilestoneRow], int]:
    """The first overdue milestones (oldest first) and how many there are in all."""
    where = [_open_milestone(today), Milestone.due_date < today, *scope]
    total = (
        await session.execute(
            select(func.count())
            .select_from(Milestone)
            .join(Account, Account.id == Milestone.account_id)
            .where(*where)
        )
    ).scalar_one()
    if not total:
        return [], 0
    stmt = (
        select(*_milestone_columns())
        .join(Account, Account.id == Milestone.account_id)
        .where(*where)
        .order_by(Milestone.due_date, Account.name, Milestone.name)
        .limit(MAX_LINES)
    )
    return [MilestoneRow(*row) for row in (await session.execute(stmt)).all()], int(total)


@dataclass(frozen=True, slots=True)
class FeedbackLine:
    id: int
    account_name: str | None
    text: str
    state: str
    created_at: datetime
    recipient_name: str | None
    recipient_channel: str | None


def _feedback_columns() -> tuple[Any, ...]:  # column expressions of a FeedbackLine
    return (
        FeedbackItem.id,
        Account.name,
        FeedbackItem.text,
        FeedbackItem.state,
        FeedbackItem.created_at,
        Person.name,
        FeedbackItem.recipient_channel,
    )


async def _waiting_feedback(
    session: AsyncSession, owner_ids: Sequence[int] | None, segment: str | None
) -> tuple[list[FeedbackLine], int]:
    """Feedback not yet resolved, oldest first: sent to the team's people or about their accounts
    (``owner_ids`` None: everyone's) in ``segment``; and how many there are in all."""
    where: list[ColumnElement[bool]] = [FeedbackItem.state.in_(OPEN_FEEDBACK)]
    if owner_ids is not None:
        ids = list(owner_ids)
        where.append(or_(FeedbackItem.recipient_id.in_(ids), Account.owner_id.in_(ids)))
    if segment is not None:
        where.append(func.lower(Account.segment) == segment.lower())
    base = (
        select(*_feedback_columns())
        .outerjoin(Account, Account.id == FeedbackItem.account_id)
        .outerjoin(Person, Person.id == FeedbackItem.recipient_id)
        .where(*where)
    )
    total = (await session.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
    if not total:
        return [], 0
    stmt = base.order_by(FeedbackItem.created_at, FeedbackItem.id).limit(MAX_LINES)
    return [FeedbackLine(*row) for row in (await session.execute(stmt)).all()], int(total)


def _age_text(created_at: datetime, today: date) -> str:
    days = (today - created_at.date()).days
    return "today" if days <= 0 else f"{plural(days, 'day')} old"


def _feedback_line(item: FeedbackLine, today: date, *, recipient: bool) -> str:
    mark = FEEDBACK_MARKS.get(item.state, "•")
    about = f"**{item.account_name}**" if item.account_name else "**No account**"
    line = f"{mark} {about} · {item.state} · {_age_text(item.created_at, today)}"
    if recipient:
        line += f" · {item.recipient_name or ('CX channel' if item.recipient_channel else 'unassigned')}"
    text = " ".join(item.text.split())
    return line + f" · “{text if len(text) <= 80 else text[:79] + '…'}”"


def _band_summary(
    counts: Mapping[str, tuple[int, Decimal]],
    before: Mapping[str, tuple[int, Decimal]] | None,
    day: date,
    previous: date | None,
) -> str:
    total = sum(count for count, _ in counts.values())
    lines = [f"**Health of {plural(total, 'account')}**"]
    for band in BANDS:
        count, arr = counts.get(band.value, (0, Decimal(0)))
        old = before.get(band.value, (0, Decimal(0)))[0] if before is not None else None
        if not count and not old:
            continue
        moved = ""
        if old is not None:
            delta = count - old
            moved = f" ({delta:+d})" if delta else " (=)"
        lines.append(f"{band_mark(band)} {band.value.capitalize()}: {count}{moved} · {money(arr)} ARR")
    if previous is not None:
        lines.append(f"_Movement since {day_text(previous)}_")
    return "\n".join(lines)


def _change_lines(changes: Sequence[BandChange]) -> list[str]:
    return [
        f"{band_mark(c.after)} **{c.account_name}**: {c.before} → {c.after}"
        f" ({score_text(c.score_before)} → {score_text(c.score_after)})"
        for c in changes
    ]


def _faller_line(account: AccountRow, health: AccountHealth | None) -> str:
    band = health.band if health else Band.UNKNOWN
    score = health.score if health else None
    arrow = trend_arrow(health.trend_7 if health else None)
    line = f"{band_mark(band)} **{account.name}** {score_text(score)} {arrow} · {money(account.arr)}"
    reasons = [d.reason for d in health.drivers[:2]] if health else []
    return line + (f" · {'; '.join(reasons)}" if reasons else "")


def _renewal_line(account: AccountRow, health: AccountHealth | None, today: date, *, owner: bool) -> str:
    assert account.renewal_date is not None
    band = health.band if health else Band.UNKNOWN
    line = (
        f"{band_mark(band)} **{account.name}** {score_text(health.score if health else None)}"
        f" · {money(account.arr)} · renews {days_until_text(account.renewal_date, today)}"
        f" ({day_text(account.renewal_date)})"
    )
    return line + f" · {account.owner_name or 'unassigned'}" if owner else line


def _chart(by_day: BandTotals, day: date) -> bytes | None:
    days = [day - timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1)]
    if not any(d in by_day for d in days):
        return None
    return stacked_bars_png([{band: c for band, (c, _) in by_day.get(d, {}).items()} for d in days])


def _chart_alt(counts: Mapping[str, tuple[int, Decimal]]) -> str:
    parts = [f"{counts[b.value][0]} {b.value}" for b in BANDS if b.value in counts]
    return f"Accounts by health band over the last {CHART_DAYS} days; today {', '.join(parts) or 'none'}"


# -------------------------------------------------------------------------------------- CSM digest


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
    async with ctx.db.sessions() as session:
        day = await queries.latest_snapshot_day(session, today)
        previous = await _comparison_day(session, day, since)
        stmt = queries.account_select().where(owned).order_by(Account.name)
        accounts = [AccountRow(*row) for row in (await session.execute(stmt)).all()]
        changes = await _band_changes(session, [owned], day, previous) if day and previous else []
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
        .where(FollowUp.due_date <= today)
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
        select(*_milestone_columns(), Account.owner_id)
        .join(Account, Account.id == Milestone.account_id)
        .where(_open_milestone(today), Milestone.due_date <= today, Account.owner_id.in_(people))
        .order_by(Milestone.due_date, Account.name, Milestone.name)
    )
    return [(row[-1], MilestoneRow(*row[:-1])) for row in (await session.execute(stmt)).all()]


async def _open_feedback(session: AsyncSession, people: list[int]) -> list[tuple[int, FeedbackLine]]:
    """Feedback sent to these people and not yet resolved, oldest first, with its recipient."""
    stmt = (
        select(*_feedback_columns(), FeedbackItem.recipient_id)
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
        return _quiet(None)

    blocks: list[Block] = [Header(f"Your digest for {day_text(today)}")]
    lines = [list_line(a, h, today) for a, h in items]
    blocks.append(Text(_section(f"Your accounts ({len(items)}), worst health first", lines)))
    if changes and previous is not None:
        blocks.append(Text(_section(f"Changed since {day_text(previous)}", _change_lines(changes))))
    if follow_ups:
        blocks += _with_buttons(
            f"Follow-ups due ({len(follow_ups)})",
            [(follow_up_line(f, today), f.id) for f in follow_ups],
            actions.FOLLOWUP_DONE,
            actions.FOLLOWUP_SNOOZE,
            "followup_id",
            more="use `followups overdue` for the rest",
        )
    if milestones:
        blocks += _with_buttons(
            f"Milestones due or overdue ({len(milestones)})",
            [(milestone_line(m, today), m.id) for m in milestones],
            actions.MILESTONE_DONE,
            actions.MILESTONE_SNOOZE,
            "milestone_id",
            more="use `milestones` for the rest",
        )
    if feedback:
        lines = [_feedback_line(f, today, recipient=False) for f in feedback]
        blocks.append(Text(_section(f"Feedback for you to answer ({len(feedback)})", lines)))
    if renewing:
        renewal_lines: list[str] = []
        low = -1
        for days, label in RENEWAL_BUCKETS:
            bucket = [a for a in renewing if a.renewal_date and low < (a.renewal_date - today).days <= days]
            low = days
            if bucket:
                renewal_lines.append(f"_{label}_")
                renewal_lines += [_renewal_line(a, health.get(a.id), today, owner=False) for a in bucket]
        blocks.append(Text("**Renewals in the next 90 days**\n" + "\n".join(renewal_lines)))
    if plans:
        title, lines = _plan_lines(plans, today)
        blocks.append(Text(_section(title, lines)))
    if advocates:
        lines = [_advocate_line(a) for a in advocates]
        blocks.append(Text(_section(f"Advocates: promoters in the last {ADVOCATE_DAYS} days", lines)))
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
    return Digest(reply=Reply(summary="Your digest: " + ", ".join(parts), blocks=_capped(blocks)))


def _with_buttons(
    title: str, items: list[tuple[str, int]], done: str, snooze: str, key: str, *, more: str
) -> list[Block]:
    blocks: list[Block] = [Text(f"**{title}**")]
    for line, object_id in items[:MAX_ITEMS_WITH_BUTTONS]:
        blocks.append(Text(line))
        blocks.append(Actions(item_buttons(done, snooze, key, object_id)))
    if len(items) > MAX_ITEMS_WITH_BUTTONS:
        blocks.append(Context((f"…and {len(items) - MAX_ITEMS_WITH_BUTTONS} more: {more}",)))
    return blocks


# ------------------------------------------------------------------------------------------ helpers


def _section(title: str, lines: Sequence[str], *, total: int | None = None) -> str:
    """A bold title over at most MAX_LINES lines, then "…and N more" for the rest."""
    total = len(lines) if total is None else total
    shown = list(lines[:MAX_LINES])
    if total > len(shown):
        shown.append(f"…and {total - len(shown)} more")
    return f"**{title}**\n" + "\n".join(shown)


def _quiet(title: str | None) -> Digest:
    summary = f"{title}: all quiet" if title else QUIET
    return Digest(reply=Reply(summary=summary, blocks=(Text(QUIET),), shared=title is not None))


def _capped(blocks: list[Block]) -> tuple[Block, ...]:
    """At most MAX_BLOCKS blocks, the last (the small print) kept."""
    if len(blocks) <= MAX_BLOCKS:
        return tuple(blocks)
    return (*blocks[: MAX_BLOCKS - 2], Context(("The digest was cut short.",)), blocks[-1])
