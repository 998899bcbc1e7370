"""The team digest, for a channel or a manager: accounts by band with a 30-day chart, who moved band and
who is falling, red accounts renewing soon, expansion and contraction of ARR, overdue milestones and
feedback waiting for an answer. A handful of set-based queries over the team's accounts.

Churned accounts are left out of everything about health, renewals and milestones. Their ARR changes
still count in expansion and contraction (a churn is the largest contraction there is, and it happened
while they were customers), and feedback about them still waits for its answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.core.context import BotContext
from bot.core.lines import milestone_line
from bot.digests.charts import band_chart_png
from bot.digests.parts import (
    BAND_RANK,
    BANDS,
    MAX_LINES,
    OPEN_FEEDBACK,
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
)
from bot.format import (
    band_mark,
    day_text,
    money,
    plural,
    score_text,
    signed_money,
    trend_arrow,
)
from bot.health.service import AccountHealth, latest_health
from bot.success.retention import percent, retention
from bot.types import Block, Context, Header, Image, Reply, Text
from storage import queries
from storage.arr_history import AccountMovement, ArrMovements, movements
from storage.models import (
    Account,
    Band,
    FeedbackItem,
    HealthSnapshot,
    Milestone,
    Person,
    Role,
)
from storage.queries import AccountRow, MilestoneRow

FALLERS = 5


FALLING_DAYS = 7


RED_RENEWAL_DAYS = 90


BIGGEST_MOVES = 3  # accounts named each way in "Expansion and contraction"


CHART_DAYS = 30


CHART_NAME = "health-30d.png"


CHART_URL = f"attachment://{CHART_NAME}"


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


def _scope_clauses(owner_ids: Sequence[int] | None, segment: str | None) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if owner_ids is not None:
        clauses.append(Account.owner_id.in_(list(owner_ids)))
    if segment is not None:
        clauses.append(func.lower(Account.segment) == segment.lower())
    return clauses


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
    red accounts renewing within 90 days, ARR expansion and contraction since ``since``, the
    quarter's retention to date (GRR, NRR), and overdue milestones.
    """
    scope = _scope_clauses(owner_ids, segment)
    live = [*scope, queries.not_churned()]
    async with ctx.db.sessions() as session:
        day = await queries.latest_snapshot_day(session, today)
        previous = await comparison_day(session, day, since)
        by_day = await _band_totals(session, live, day, previous) if day else {}
        changes = await band_changes(session, live, day, previous) if day and previous else []
        faller_ids = await _fallers(session, live, day) if day else []
        red_renewing = await _red_renewing(session, live, day, today) if day else []
        overdue, overdue_count = await _overdue_milestones(session, live, today)
        waiting, waiting_count = await _waiting_feedback(session, owner_ids, segment)
        arr_moves = await _arr_movements(session, scope, since or today - timedelta(days=1), today)
        kept = await retention(session, "quarter", today, await _scope_ids(session, scope))
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
        return quiet(title)

    blocks: list[Block] = [Header(f"{title}: digest for {day_text(today)}")]
    if day is not None:  # reds, changes, fallers and renewals all need a snapshot day
        before_counts = by_day.get(previous, {}) if previous else None
        blocks.append(Text(_band_summary(today_counts, before_counts, day, previous)))
    if changes:
        blocks.append(Text(section(f"Changed band since {day_text(previous)}", change_lines(changes))))
    chart = await _chart(by_day, day) if day is not None else None
    images: dict[str, bytes] = {}
    if chart is not None:
        images[CHART_NAME] = chart
        blocks.append(Image(url=CHART_URL, alt=_chart_alt(today_counts), title="Health, last 30 days"))
    if fallers:
        lines = [_faller_line(accounts[i], health.get(i)) for i in fallers]
        blocks.append(Text(section(f"Falling fastest ({FALLING_DAYS} days)", lines)))
    if red_renewing:
        lines = [renewal_line(accounts[i], health.get(i), today, owner=True) for i in red_renewing]
        blocks.append(Text(section(f"Red and renewing within {RED_RENEWAL_DAYS} days", lines)))
    if arr_moves:
        blocks.append(Text(_arr_section(arr_moves)))
    if kept.starting:
        blocks.append(
            Text(f"**Retention, {kept.period.label}**: GRR {percent(kept.grr)} · NRR {percent(kept.nrr)}")
        )
    if overdue_count:
        lines = [milestone_line(m, today) for m in overdue]
        blocks.append(Text(section(f"Milestones overdue ({overdue_count})", lines, total=overdue_count)))
    if waiting_count:
        lines = [feedback_line(f, today, recipient=True) for f in waiting]
        title_line = f"Feedback waiting for an answer ({waiting_count})"
        blocks.append(Text(section(title_line, lines, total=waiting_count)))
    health_of = f"Health of {day_text(day)}" if day else "No health computed yet"
    blocks.append(Context((health_of, "`digest list` to change your digests")))
    summary = f"{title}: {plural(reds, 'red account')}"
    if overdue_count:
        summary += f", {plural(overdue_count, 'milestone')} overdue"
    if waiting_count:
        summary += f", {plural(waiting_count, 'feedback item')} waiting"
    return Digest(reply=Reply(summary=summary, blocks=capped(blocks), shared=True), images=images)


async def _arr_movements(
    session: AsyncSession, scope: list[ColumnElement[bool]], since: date, today: date
) -> ArrMovements:
    """ARR changes recorded after ``since`` up to ``today`` on the digest's accounts. The previous
    digest counted changes up to its own day, so each change is told once."""
    return await movements(session, since, today, await _scope_ids(session, scope))


async def _scope_ids(session: AsyncSession, scope: list[ColumnElement[bool]]) -> list[int] | None:
    """The ids of the digest's accounts; None for every account."""
    if not scope:
        return None
    return list((await session.execute(select(Account.id).where(*scope))).scalars())


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


async def _overdue_milestones(
    session: AsyncSession, scope: list[ColumnElement[bool]], today: date
) -> tuple[list[MilestoneRow], int]:
    """The first overdue milestones (oldest first) and how many there are in all."""
    where = [open_milestone(today), Milestone.due_date < today, *scope]
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
        select(*milestone_columns())
        .join(Account, Account.id == Milestone.account_id)
        .where(*where)
        .order_by(Milestone.due_date, Account.name, Milestone.name)
        .limit(MAX_LINES)
    )
    return [MilestoneRow(*row) for row in (await session.execute(stmt)).all()], int(total)


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
        select(*feedback_columns())
        .outerjoin(Account, Account.id == FeedbackItem.account_id)
        .outerjoin(Person, Person.id == FeedbackItem.recipient_id)
        .where(*where)
    )
    total = (await session.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
    if not total:
        return [], 0
    stmt = base.order_by(FeedbackItem.created_at, FeedbackItem.id).limit(MAX_LINES)
    return [FeedbackLine(*row) for row in (await session.execute(stmt)).all()], int(total)


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


def _faller_line(account: AccountRow, health: AccountHealth | None) -> str:
    band = health.band if health else Band.UNKNOWN
    score = health.score if health else None
    arrow = trend_arrow(health.trend_7 if health else None)
    line = f"{band_mark(band)} **{account.name}** {score_text(score)} {arrow} · {money(account.arr)}"
    reasons = [d.reason for d in health.drivers[:2]] if health else []
    return line + (f" · {'; '.join(reasons)}" if reasons else "")


async def _chart(by_day: BandTotals, day: date) -> bytes | None:
    """The chart of the 30 days up to ``day``, drawn in a worker thread (it takes a tenth of a second)."""
    days = [day - timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1)]
    if not any(d in by_day for d in days):
        return None
    columns = [{band: c for band, (c, _) in by_day.get(d, {}).items()} for d in days]
    return await asyncio.to_thread(band_chart_png, days, columns)


def _chart_alt(counts: Mapping[str, tuple[int, Decimal]]) -> str:
    parts = [f"{counts[b.value][0]} {b.value}" for b in BANDS if b.value in counts]
    return f"Accounts by health band over the last {CHART_DAYS} days; today {', '.join(parts) or 'none'}"
