"""Reading the health engine's inputs for many accounts at once, as of a day.

Six set-based queries per batch of accounts (accounts, usage, surveys, follow-ups, milestones, success
plan outcomes), each over the day window it needs, never a query per account. A batch is a range of
account ids (what the recompute walks through, so memory stays bounded however many accounts there
are) or an explicit list of ids (what screens showing a few accounts ask for).

Usage values are read capped at :data:`~storage.importer.fields.MAX_NUMBER`, the bound imports keep
to: a value stored before that bound existed (1e308) would otherwise overflow a SUM on PostgreSQL and
fail the whole batch, or reach the engine as infinity.

The usage query also sums, over the PACE_DAYS days ending on D, what a least-squares line through
each metric's daily values needs (count, sum of x, x², y and xy, with x the day's offset from D), so the
recent pace (:func:`bot.health.measures.recent_pace`) costs no query of its own.

"As of day D" means nothing dated after D is read: usage rows up to D, surveys and follow-ups created
before D + 1 at 00:00 UTC, milestones completed by then count as completed, outcomes whose start date
is on or before D (an achievement dated after D is undone by :func:`bot.health.outcomes.evaluate`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, case, func, literal, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.health.components import USAGE_METRICS
from bot.health.inputs import (
    PACE_DAYS,
    RECENT_DAYS,
    SUPPORT_DAYS,
    SURVEY_DAYS,
    TREND_OFFSET_DAYS,
    USAGE_LOOKBACK_DAYS,
    AccountInputs,
    MetricWindow,
    MilestoneStatus,
    OutcomeInput,
    every_day_sums,
    least_squares_slope,
)
from bot.health.outcomes import outcome_input
from storage.importer.fields import MAX_NUMBER
from storage.models import Account, FollowUp, Milestone, Outcome, SurveyResponse, UsageMetric
from storage.queries import not_churned

# Explicit id lists are sent in slices this long (SQLite caps bound parameters per statement).
MAX_IDS_PER_QUERY = 1000


@dataclass(frozen=True, slots=True)
class Accounts:
    """Which accounts to read: ids ``first..last`` inclusive, or exactly ``ids``."""

    first: int | None = None
    last: int | None = None
    ids: tuple[int, ...] | None = None

    @classmethod
    def between(cls, first: int, last: int) -> Accounts:
        return cls(first=first, last=last)

    @classmethod
    def of(cls, ids: Sequence[int]) -> Accounts:
        return cls(ids=tuple(ids))

    def where(self, column: Any) -> ColumnElement[bool]:
        if self.ids is not None:
            condition: ColumnElement[bool] = column.in_(self.ids)
            return condition
        if self.first is None or self.last is None:
            raise ValueError("Accounts needs both ends of the id range, or a list of ids")
        return and_(column >= self.first, column <= self.last)


def start_of(day: date) -> datetime:
    """Midnight UTC at the start of ``day``: timestamps before ``start_of(D + 1)`` are "on or before D"."""
    return datetime.combine(day, time.min, tzinfo=UTC)


async def account_id_ranges(session: AsyncSession, size: int) -> list[tuple[int, int]]:
    """All account ids, cut into consecutive ranges of at most ``size`` accounts."""
    ids = list((await session.execute(select(Account.id).order_by(Account.id))).scalars())
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


async def load_inputs(
    session: AsyncSession, day: date, accounts: Accounts, *, scored_only: bool = False
) -> list[AccountInputs]:
    """The inputs of every account in ``accounts`` as of ``day``, ordered by account id.

    ``scored_only`` leaves out the accounts that had churned by ``day`` (churned, on or before it or on
    a day not known): what the health recompute scores. Plans and cards read churned accounts too.
    """
    if accounts.ids is not None and len(accounts.ids) > MAX_IDS_PER_QUERY:
        result: list[AccountInputs] = []
        for i in range(0, len(accounts.ids), MAX_IDS_PER_QUERY):
            part = Accounts.of(accounts.ids[i : i + MAX_IDS_PER_QUERY])
            result.extend(await load_inputs(session, day, part, scored_only=scored_only))
        return sorted(result, key=lambda a: a.account_id)
    segments = await _segments(session, accounts, not_churned(day) if scored_only else None)
    if not segments:
        return []
    if session.get_bind().dialect.name == "postgresql":
        # These aggregates are costed high enough to trigger JIT compilation, which then takes longer
        # than the query itself (over a second per batch). Only for this transaction.
        await session.execute(text("SET LOCAL jit = off"))
    usage = await _usage(session, day, accounts)
    surveys = await _surveys(session, day, accounts)
    follow_ups = await _last_follow_ups(session, day, accounts)
    milestones = await _milestones(session, day, accounts)
    outcomes = await _outcomes(session, day, accounts)
    return [
        AccountInputs(
            account_id=account_id,
            day=day,
            segment=segment,
            usage=MappingProxyType(usage.get(account_id, {})),
            surveys=MappingProxyType(surveys.get(account_id, {})),
            last_follow_up=follow_ups.get(account_id),
            milestones=milestones.get(account_id, MilestoneStatus()),
            outcomes=tuple(outcomes.get(account_id, ())),
        )
        for account_id, segment in sorted(segments.items())
    ]


async def _segments(
    session: AsyncSession, accounts: Accounts, condition: ColumnElement[bool] | None
) -> dict[int, str | None]:
    stmt = select(Account.id, Account.segment).where(accounts.where(Account.id))
    if condition is not None:
        stmt = stmt.where(condition)
    return {account_id: segment for account_id, segment in await session.execute(stmt)}


def _days_from(column: Any, day: date, dialect: str) -> Any:
    """``column - day`` in days (0 on ``day``, negative before): PostgreSQL subtracts dates as integers,
    SQLite through their Julian day numbers."""
    if dialect == "postgresql":
        return column - literal(day, Date)
    return func.julianday(column) - func.julianday(literal(day, Date))


async def _usage(session: AsyncSession, day: date, accounts: Accounts) -> dict[int, dict[str, MetricWindow]]:
    """One row per account and metric: the window aggregates, the sums the recent pace is fitted from,
    and the value of the latest day."""
    u = UsageMetric
    recent = u.day >= day - timedelta(days=RECENT_DAYS - 1)
    prior_end = day - timedelta(days=TREND_OFFSET_DAYS)
    prior = and_(u.day >= prior_end - timedelta(days=RECENT_DAYS - 1), u.day <= prior_end)
    support = u.day >= day - timedelta(days=SUPPORT_DAYS - 1)
    pace = u.day >= day - timedelta(days=PACE_DAYS - 1)
    capped = case((u.value > MAX_NUMBER, MAX_NUMBER), else_=u.value)
    x = _days_from(u.day, day, session.get_bind().dialect.name)
    # Driving from the account table makes SQLite seek each account's day window in the primary key
    # (account_id, day, metric) instead of scanning every day of the id range: about 30% faster.
    windows = (
        select(
            Account.id.label("account_id"),
            u.metric,
            func.max(u.day).label("last_day"),
            func.avg(case((recent, capped))).label("recent_mean"),
            func.avg(case((prior, capped))).label("prior_mean"),
            func.sum(case((support, capped))).label("total_30d"),
            func.count(case((pace, 1))).label("pace_n"),
            func.min(case((pace, x))).label("pace_first"),
            func.sum(case((pace, x))).label("pace_x"),
            func.sum(case((pace, x * x))).label("pace_xx"),
            func.sum(case((pace, capped))).label("pace_y"),
            func.sum(case((pace, x * capped))).label("pace_xy"),
        )
        .join(u, u.account_id == Account.id)
        .where(
            accounts.where(Account.id),
            u.day >= day - timedelta(days=USAGE_LOOKBACK_DAYS - 1),
            u.day <= day,
            u.metric.in_(sorted(USAGE_METRICS)),
        )
        .group_by(Account.id, u.metric)
        .subquery("windows")
    )
    # The latest value as a correlated lookup by primary key, one per (account, metric) row: a join
    # back to the 10M-row table lets PostgreSQL pick a hash join over a full scan.
    last = aliased(UsageMetric, name="last")
    latest_value = (
        select(last.value)
        .where(
            last.account_id == windows.c.account_id,
            last.metric == windows.c.metric,
            last.day == windows.c.last_day,
        )
        .scalar_subquery()
    )
    latest = select(
        windows.c.account_id,
        windows.c.metric,
        latest_value,
        windows.c.recent_mean,
        windows.c.prior_mean,
        windows.c.total_30d,
        windows.c.pace_n,
        windows.c.pace_first,
        windows.c.pace_x,
        windows.c.pace_xx,
        windows.c.pace_y,
        windows.c.pace_xy,
    )
    result: dict[int, dict[str, MetricWindow]] = defaultdict(dict)
    for account_id, metric, value, recent_mean, prior_mean, total, *fit in await session.execute(latest):
        result[account_id][metric] = _window(value, recent_mean, prior_mean, total, fit)
    return result


def _window(value: Any, recent_mean: Any, prior_mean: Any, total: Any, fit: Sequence[Any]) -> MetricWindow:
    """A metric's window, with its recent slopes fitted from the sums over the pace window."""
    n, first, sum_x, sum_xx, sum_y, sum_xy = fit
    slope = count_slope = None
    span = 0
    if n and first is not None:
        span = 1 - round(float(first))
        y, xy = float(sum_y or 0), float(sum_xy or 0)
        slope = least_squares_slope(int(n), float(sum_x), float(sum_xx), y, xy)
        count_slope = least_squares_slope(*every_day_sums(span), y, xy)
    return MetricWindow(
        latest=_capped(value),
        recent_mean=_float(recent_mean),
        prior_mean=_float(prior_mean),
        total_30d=_float(total),
        slope=_finite(slope),
        count_slope=_finite(count_slope),
        pace_days=span,
    )


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _capped(value: Any) -> float | None:
    """A stored value as read, at most :data:`MAX_NUMBER` (NaN, never stored by an import, too)."""
    if value is None:
        return None
    number = float(value)
    return number if number <= MAX_NUMBER else MAX_NUMBER


async def _surveys(
    session: AsyncSession, day: date, accounts: Accounts
) -> dict[int, dict[str, dict[int, int]]]:
    """Histograms of answers per account and survey kind over the survey window."""
    s = SurveyResponse
    stmt = (
        select(s.account_id, s.kind, s.score, func.count())
        .where(
            accounts.where(s.account_id),
            s.submitted_at >= start_of(day - timedelta(days=SURVEY_DAYS - 1)),
            s.submitted_at < start_of(day + timedelta(days=1)),
        )
        .group_by(s.account_id, s.kind, s.score)
    )
    result: dict[int, dict[str, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    for account_id, kind, score, count in await session.execute(stmt):
        result[account_id][kind][int(score)] = int(count)
    return {a: {k: dict(h) for k, h in kinds.items()} for a, kinds in result.items()}


async def _last_follow_ups(session: AsyncSession, day: date, accounts: Accounts) -> dict[int, date]:
    f = FollowUp
    stmt = (
        select(f.account_id, func.max(f.created_at))
        .where(accounts.where(f.account_id), f.created_at < start_of(day + timedelta(days=1)))
        .group_by(f.account_id)
    )
    result: dict[int, date] = {}
    for account_id, created_at in await session.execute(stmt):
        if created_at is not None:
            result[account_id] = _as_utc(created_at).date()
    return result


def _as_utc(value: datetime | str) -> datetime:
    """Aggregates over a UTC column come back as the column type on PostgreSQL; be lenient on SQLite."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def _milestones(session: AsyncSession, day: date, accounts: Accounts) -> dict[int, MilestoneStatus]:
    """Per account: how many milestones, how many overdue as of ``day``, and the most overdue one.

    Overdue means due before ``day``, not completed by the end of ``day``, and not snoozed until ``day``
    or later. One query: window functions count per account and rank the most overdue row first.
    """
    m = Milestone
    not_completed = or_(m.completed_at.is_(None), m.completed_at >= start_of(day + timedelta(days=1)))
    not_snoozed = or_(m.snoozed_until.is_(None), m.snoozed_until < day)
    overdue = case((and_(m.due_date < day, not_completed, not_snoozed), 1), else_=0)
    ranked = (
        select(
            m.account_id,
            m.name,
            m.due_date,
            overdue.label("is_overdue"),
            func.count().over(partition_by=m.account_id).label("total"),
            func.sum(overdue).over(partition_by=m.account_id).label("overdue_count"),
            func.row_number()
            .over(partition_by=m.account_id, order_by=(overdue.desc(), m.due_date, m.name))
            .label("position"),
        )
        .where(accounts.where(m.account_id))
        .subquery("ranked")
    )
    stmt = select(
        ranked.c.account_id, ranked.c.total, ranked.c.overdue_count, ranked.c.name, ranked.c.due_date
    ).where(ranked.c.position == 1)
    result: dict[int, MilestoneStatus] = {}
    for account_id, total, overdue_count, name, due_date in await session.execute(stmt):
        late = int(overdue_count or 0)
        result[account_id] = MilestoneStatus(
            total=int(total),
            overdue=late,
            worst_name=name if late else None,
            worst_days_late=(day - due_date).days if late else 0,
        )
    return result


async def _outcomes(session: AsyncSession, day: date, accounts: Accounts) -> dict[int, list[OutcomeInput]]:
    """Per account: the success plan outcomes defined by ``day``, any status, by due date."""
    o = Outcome
    stmt = (
        select(o)
        .where(accounts.where(o.account_id), o.start_date <= day)
        .order_by(o.account_id, o.due_date, o.id)
        .execution_options(populate_existing=True)
    )
    result: dict[int, list[OutcomeInput]] = defaultdict(list)
    for row in (await session.execute(stmt)).scalars():
        result[row.account_id].append(outcome_input(row))
    return result
