"""Running a filter: the accounts a :class:`~bot.ask.filter.Filter` matches, as SQL over the database.

Every condition becomes a clause of one query (joins to the latest health snapshot when health is asked
about, ``EXISTS`` for feedback, milestones, follow-ups and NPS), so a page and its totals come from the
database whatever the portfolio's size; nothing is counted or summed from a model's words. The one
exception is ``outcomes_at_risk``: whether an outcome is behind the line to its target is judged by the
health code from usage windows, so the accounts with open outcomes that pass the other conditions are
judged in Python, and their ids narrow the query.

Health is read on the latest snapshot day up to the asker's today; a trend compares it with the snapshot
``days`` earlier (daily snapshots). Churned accounts are left out unless the stage asked for is churned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.ask.filter import Filter
from bot.health.load import Accounts, load_inputs
from bot.health.outcomes import Progress, evaluate
from storage import queries, risk
from storage.models import (
    Account,
    FeedbackItem,
    FeedbackState,
    FollowUp,
    FollowUpStatus,
    HealthSnapshot,
    LifecycleStage,
    Milestone,
    Outcome,
    OutcomeStatus,
    Person,
    SurveyKind,
    SurveyResponse,
)

DETRACTOR_DAYS = 90
DETRACTOR_MAX = 6  # NPS 0-6


@dataclass(frozen=True, slots=True)
class Found:
    """A page of the matching accounts (``rows``, from ``offset``), how many match in all and their ARR;
    ``day`` is the health day read (None when there is no health yet)."""

    rows: list[queries.AccountRow]
    total: int
    arr: Decimal
    offset: int
    day: date | None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


class _Query:
    """The clauses of one filter, for one asker and day."""

    def __init__(self, flt: Filter, *, asker_id: int | None, today: date, day: date | None) -> None:
        self.flt = flt
        self.asker_id = asker_id
        self.today = today
        self.day = day
        self.current = aliased(HealthSnapshot, name="current")
        self.earlier = aliased(HealthSnapshot, name="earlier")
        self.only_ids: Sequence[int] | None = None

    @property
    def needs_health(self) -> bool:
        flt = self.flt
        health_sort = flt.sort in ("score_asc", "score_desc", "fall_desc")
        scored = flt.score_min is not None or flt.score_max is not None
        return bool(flt.bands) or scored or flt.trend is not None or health_sort

    def narrow(self, stmt: Any) -> Any:
        flt = self.flt
        if self.needs_health:
            on = and_(self.current.account_id == Account.id, self.current.day == self.day)
            filtered = bool(flt.bands) or flt.score_min is not None or flt.score_max is not None
            stmt = stmt.join(self.current, on) if filtered or flt.trend else stmt.outerjoin(self.current, on)
        if flt.trend is not None and self.day is not None and flt.sort == "fall_desc":
            # Only "biggest fall first" needs each account's earlier score; the trend condition itself
            # is read from the stored falls (:func:`storage.risk.moved`).
            then = self.day - timedelta(days=flt.trend.days)
            stmt = stmt.join(
                self.earlier, and_(self.earlier.account_id == Account.id, self.earlier.day == then)
            )
        return stmt.where(*self.clauses())

    def clauses(self) -> list[Any]:
        flt = self.flt
        out: list[Any] = []
        stages = set(flt.stages)
        if LifecycleStage.CHURNED.value not in stages:
            out.append(queries.not_churned())
        if stages:
            out.append(Account.lifecycle_stage.in_(sorted(stages)))
        out += self._owner()
        if flt.bands:
            out.append(self.current.band.in_(sorted(flt.bands)))
        if flt.score_min is not None:
            out.append(self.current.score >= flt.score_min)
        if flt.score_max is not None:
            out.append(self.current.score <= flt.score_max)
        if flt.trend is not None and self.day is not None:
            trend = flt.trend
            changed = risk.moved(self.day, direction=trend.direction, points=trend.points, days=trend.days)
            out.append(Account.id.in_(select(changed.c.account_id)))
        if flt.renewal_from is not None:
            out.append(Account.renewal_date >= flt.renewal_from)
        if flt.renewal_to is not None:
            out.append(Account.renewal_date <= flt.renewal_to)
        if flt.arr_min is not None:
            out.append(Account.arr >= flt.arr_min)
        if flt.arr_max is not None:
            out.append(Account.arr <= flt.arr_max)
        if flt.segments:
            out.append(func.lower(Account.segment).in_(sorted(v.lower() for v in flt.segments)))
        if flt.tiers:
            out.append(func.lower(Account.tier).in_(sorted(v.lower() for v in flt.tiers)))
        out += self._flags()
        if self.only_ids is not None:
            out.append(Account.id.in_(list(self.only_ids)))
        return out

    def _owner(self) -> list[Any]:
        owner = self.flt.owner
        if owner is None:
            return []
        if owner.kind == "person":
            return [Account.owner_id == owner.person_id]
        if self.asker_id is None:
            return [Account.id.is_(None)]  # nobody's: an unregistered asker owns nothing
        if owner.kind == "me":
            return [Account.owner_id == self.asker_id]
        team = select(Person.id).where(or_(Person.id == self.asker_id, Person.manager_id == self.asker_id))
        return [Account.owner_id.in_(team)]

    def _flags(self) -> list[Any]:
        flt, today = self.flt, self.today
        out: list[Any] = []
        if flt.detractor:
            since = _start_of(today - timedelta(days=DETRACTOR_DAYS))
            detractors = (
                SurveyResponse.kind == SurveyKind.NPS.value,
                SurveyResponse.score <= DETRACTOR_MAX,
                SurveyResponse.submitted_at >= since,
            )
            if flt.owner is not None:
                # A few owned accounts: one index probe each (account_id, submitted_at) is quickest.
                out.append(exists().where(SurveyResponse.account_id == Account.id, *detractors))
            else:
                # Everyone's: reading the recent detractors once beats 20,000 probes (SQLite: 22 ms
                # instead of 68 ms at 20,000 accounts; for one person's accounts it is the other way).
                out.append(Account.id.in_(select(SurveyResponse.account_id).where(*detractors)))
        if flt.open_feedback:
            out.append(
                exists().where(
                    FeedbackItem.account_id == Account.id, FeedbackItem.state != FeedbackState.RESOLVED.value
                )
            )
        if flt.overdue_milestones:
            out.append(
                exists().where(
                    Milestone.account_id == Account.id,
                    Milestone.completed_at.is_(None),
                    Milestone.due_date < today,
                    or_(Milestone.snoozed_until.is_(None), Milestone.snoozed_until <= today),
                )
            )
        if flt.overdue_followups:
            # IN, not a correlated EXISTS: without statistics SQLite probes the (status, due_date) index
            # once per account, reading every overdue follow-up each time (0.2 s for 20 accounts,
            # minutes for 20,000); the list is read once this way. PostgreSQL plans both alike.
            overdue = select(FollowUp.account_id).where(
                FollowUp.status == FollowUpStatus.OPEN.value,
                FollowUp.due_date < today,
                or_(FollowUp.snoozed_until.is_(None), FollowUp.snoozed_until <= today),
            )
            out.append(Account.id.in_(overdue))
        if flt.untouched_days is not None:
            since = _start_of(today - timedelta(days=flt.untouched_days))
            out.append(not_(exists().where(FollowUp.account_id == Account.id, FollowUp.created_at >= since)))
        return out

    def order(self) -> tuple[Any, ...]:
        """The order as ascending keys (how :func:`storage.queries.account_page` pages): a descending
        value is negated, and each value is preceded by whether it is missing, so missing ones go last."""
        sort, tail = self.flt.sort, (Account.name, Account.id)
        current = self.current
        keys: dict[str, tuple[Any, ...]] = {
            "arr_desc": (Account.arr.is_(None), -Account.arr),
            "arr_asc": (Account.arr.is_(None), Account.arr),
            "score_asc": (current.score.is_(None), current.score),
            "score_desc": (current.score.is_(None), -current.score),
            "renewal_asc": (Account.renewal_date.is_(None), Account.renewal_date),
            "fall_desc": (
                (current.score - self.earlier.score,)
                if self.flt.trend is not None
                else (current.fall.is_(None), -current.fall)
            ),
        }
        return (*keys.get(sort or "", ()), *tail)


async def _at_risk_outcomes(session: AsyncSession, query: _Query) -> list[int]:
    """The accounts passing the other conditions whose open outcomes include one at risk."""
    # IN rather than EXISTS, as for overdue follow-ups: SQLite probed (status, due_date) per account.
    open_outcomes = select(Outcome.account_id).where(Outcome.status == OutcomeStatus.OPEN.value)
    candidates = query.narrow(select(Account.id)).where(Account.id.in_(open_outcomes))
    ids = sorted(set((await session.execute(candidates)).scalars()))
    if not ids:
        return []
    loaded = await load_inputs(session, query.today, Accounts.of(ids))
    return [
        inputs.account_id
        for inputs in loaded
        if any(
            state.progress is Progress.AT_RISK and state.outcome.status == OutcomeStatus.OPEN.value
            for state in (evaluate(outcome, inputs) for outcome in inputs.outcomes)
        )
    ]


async def _prepare(session: AsyncSession, flt: Filter, *, asker_id: int | None, today: date) -> _Query:
    day = await queries.latest_snapshot_day(session, today)
    query = _Query(flt, asker_id=asker_id, today=today, day=day)
    if flt.outcomes_at_risk:
        query.only_ids = await _at_risk_outcomes(session, query)
    return query


async def find(
    session: AsyncSession, flt: Filter, *, asker_id: int | None, today: date, offset: int, limit: int
) -> Found:
    """The page of matching accounts from ``offset`` (at most ``limit``), in the filter's order, with
    the whole answer's count and ARR. A filter's own ``limit`` ("top 5") caps the answer: the count and
    ARR are those of the accounts shown."""
    query = await _prepare(session, flt, asker_id=asker_id, today=today)
    if (
        query.needs_health
        and query.day is None
        and (flt.bands or flt.trend or flt.score_min or flt.score_max)
    ):
        return Found([], 0, Decimal(0), 0, None)
    if flt.limit is not None:
        top = await queries.account_page(session, query.narrow, query.order(), offset=0, limit=flt.limit)
        rows = top.rows
        arr = sum((row.arr or Decimal(0) for row in rows), Decimal(0))
        start = offset if offset < len(rows) else 0
        return Found(rows[start : start + limit], len(rows), arr, start, query.day)
    page = await queries.account_page(session, query.narrow, query.order(), offset=offset, limit=limit)
    if offset and not page.rows:
        offset = 0
        page = await queries.account_page(session, query.narrow, query.order(), offset=0, limit=limit)
    return Found(page.rows, page.total, page.arr, offset, query.day)


async def totals(
    session: AsyncSession, flt: Filter, *, asker_id: int | None, today: date
) -> tuple[int, Decimal]:
    """How many accounts match and their ARR (for "how many" and "how much ARR")."""
    if flt.limit is not None:
        found = await find(session, flt, asker_id=asker_id, today=today, offset=0, limit=flt.limit)
        return found.total, found.arr
    query = await _prepare(session, flt, asker_id=asker_id, today=today)
    count, arr = (
        await session.execute(
            query.narrow(select(func.count(Account.id), func.coalesce(func.sum(Account.arr), 0)))
        )
    ).one()
    return int(count), Decimal(arr or 0)


__all__ = ["Found", "find", "totals"]
