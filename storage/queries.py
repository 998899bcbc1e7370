"""Read queries behind the chat commands: one function per question the bot asks, all set-based."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    Account,
    FollowUp,
    FollowUpStatus,
    HealthSnapshot,
    LifecycleStage,
    Milestone,
    Person,
    SurveyResponse,
)
from storage.risk import at_risk


def not_churned(on: date | None = None) -> ColumnElement[bool]:
    """Accounts not in the churned stage (a stage not set counts as not churned). Only these are scored,
    listed at risk or renewing, put in digests, alerted on and reminded of; a churned account keeps its
    history and its card. With ``on``: also the accounts that churned after that day (known to have)."""
    live = or_(Account.lifecycle_stage.is_(None), Account.lifecycle_stage != LifecycleStage.CHURNED.value)
    return live if on is None else or_(live, Account.churned_on > on)


@dataclass(frozen=True, slots=True)
class AccountRow:
    """An account with its owner, as lists and cards show it."""

    id: int
    external_id: str
    name: str
    segment: str | None
    tier: str | None
    arr: Decimal | None
    lifecycle_stage: str | None
    contract_start: date | None
    renewal_date: date | None
    owner_id: int | None
    owner_name: str | None
    owner_email: str | None
    owner_manager_id: int | None
    churned_on: date | None  # the day it churned, when it is churned and the day is known

    @property
    def churned(self) -> bool:
        return self.lifecycle_stage == LifecycleStage.CHURNED.value


def account_select() -> Any:  # a Select; its row type differs between SQLAlchemy 2.0 and 2.1
    return select(
        Account.id,
        Account.external_id,
        Account.name,
        Account.segment,
        Account.tier,
        Account.arr,
        Account.lifecycle_stage,
        Account.contract_start,
        Account.renewal_date,
        Account.owner_id,
        Person.name,
        Person.email,
        Person.manager_id,
        Account.churned_on,
    ).outerjoin(Person, Person.id == Account.owner_id)


def _rows(result: Sequence[tuple[object, ...]]) -> list[AccountRow]:
    return [AccountRow(*row) for row in result]  # type: ignore[arg-type]


async def account_by_id(session: AsyncSession, account_id: int) -> AccountRow | None:
    rows = _rows((await session.execute(account_select().where(Account.id == account_id))).all())
    return rows[0] if rows else None


async def accounts_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, AccountRow]:
    found: dict[int, AccountRow] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        for row in _rows((await session.execute(account_select().where(Account.id.in_(chunk)))).all()):
            found[row.id] = row
    return found


async def accounts_owned_by(session: AsyncSession, person_id: int) -> list[AccountRow]:
    stmt = account_select().where(Account.owner_id == person_id).order_by(Account.name)
    return _rows((await session.execute(stmt)).all())


async def accounts_renewing(session: AsyncSession, start: date, end: date) -> list[AccountRow]:
    stmt = (
        account_select()
        .where(Account.renewal_date >= start, Account.renewal_date <= end, not_churned())
        .order_by(Account.renewal_date, Account.name)
    )
    return _rows((await session.execute(stmt)).all())


@dataclass(frozen=True, slots=True)
class AccountPage:
    """One page of a long account list, with the size and ARR of the whole list.

    Counted and summed in SQL, so a command loads (and scores) only the accounts it shows: at 20,000
    accounts ``renewals`` covers about 5,000 and ``risk`` about 3,000, and reading the health of all of
    them took over a second per command (see bench/http_bench.py).
    """

    rows: list[AccountRow]
    total: int
    arr: Decimal


def _totals() -> Any:  # a Select
    return select(func.count(Account.id), func.coalesce(func.sum(Account.arr), 0))


async def account_page(
    session: AsyncSession,
    narrow: Callable[[Any], Any],
    order: Sequence[Any],
    *,
    offset: int,
    limit: int,
    indexed_order: bool = False,
) -> AccountPage:
    """One page of a list: ``narrow`` adds the list's joins and filters to a select of accounts,
    ``order`` is its order (ending with a unique column).

    The page is picked in a narrow inner query (the ordering keys and the account id) and only its rows
    are joined to the rest of the account and its owner: carrying every column of 3,000 at-risk accounts
    through the sort took half of ``risk`` on PostgreSQL. The whole list's count and ARR ride on the
    page as window functions (one pass over the list), unless the list is read in an index's order
    (``indexed_order``): the page alone then stops after its rows, and the totals are a plain count
    (``renewals`` on SQLite: 5 ms, against 11 ms sorting 5,000 accounts to number them)."""
    keys = [column.label(f"key_{n}") for n, column in enumerate(order)]
    inner = narrow(select(Account.id.label("page_id"), *keys))
    if not indexed_order:
        inner = inner.add_columns(
            func.count().over().label("page_total"),
            func.coalesce(func.sum(Account.arr).over(), 0).label("page_arr"),
        )
    page = inner.order_by(*order).offset(offset).limit(limit).subquery("page")
    stmt = account_select().join(page, page.c.page_id == Account.id).order_by(*(page.c[k.name] for k in keys))
    if not indexed_order:
        stmt = stmt.add_columns(page.c.page_total, page.c.page_arr)
    result = (await session.execute(stmt)).all()
    if result and not indexed_order:
        total, arr = result[0][-2:]
        rows = _rows([row[:-2] for row in result])
    else:
        total, arr = (await session.execute(narrow(_totals()))).one()
        rows = _rows(result)
    return AccountPage(rows=rows, total=int(total), arr=Decimal(arr or 0))


async def renewals_page(
    session: AsyncSession, start: date, end: date, *, offset: int, limit: int
) -> AccountPage:
    """Accounts renewing from ``start`` to ``end``, soonest first (as :func:`accounts_renewing`), one page."""
    renewing = and_(Account.renewal_date >= start, Account.renewal_date <= end, not_churned())
    order = (Account.renewal_date, Account.name, Account.id)
    return await account_page(
        session, lambda stmt: stmt.where(renewing), order, offset=offset, limit=limit, indexed_order=True
    )


async def at_risk_page(
    session: AsyncSession,
    day: date,
    *,
    fall_points: float,
    fall_days: int,
    segment: str | None,
    offset: int,
    limit: int,
) -> AccountPage:
    """The accounts of :func:`at_risk_account_ids`, worst health first (then by name and id), one page.

    One day's at-risk snapshots (:func:`at_risk`: about 3,000 of 20,000) joined to their accounts;
    grouping two days of snapshots per request instead took 156 ms on SQLite."""
    risk = at_risk(day, fall_points=fall_points, fall_days=fall_days)

    def at_risk_rows(stmt: Any) -> Any:
        stmt = stmt.join(risk, risk.c.account_id == Account.id).where(not_churned())
        if segment:
            stmt = stmt.where(func.lower(Account.segment) == segment.lower())
        return stmt

    order = (risk.c.score, Account.name, Account.id)
    return await account_page(session, at_risk_rows, order, offset=offset, limit=limit)


async def latest_snapshot_day(session: AsyncSession, on_or_before: date) -> date | None:
    stmt = select(func.max(HealthSnapshot.day)).where(HealthSnapshot.day <= on_or_before)
    return (await session.execute(stmt)).scalar_one()


async def at_risk_account_ids(
    session: AsyncSession, day: date, *, fall_points: float, fall_days: int, segment: str | None
) -> list[int]:
    """Accounts not churned that are red on ``day``, or down ``fall_points`` or more against
    ``fall_days`` earlier (:func:`at_risk`)."""
    risk = at_risk(day, fall_points=fall_points, fall_days=fall_days)
    stmt = select(risk.c.account_id).join(Account, Account.id == risk.c.account_id).where(not_churned())
    if segment:
        stmt = stmt.where(func.lower(Account.segment) == segment.lower())
    return list((await session.execute(stmt)).scalars())


@dataclass(frozen=True, slots=True)
class MilestoneRow:
    id: int
    account_id: int
    account_name: str
    name: str
    kind: str
    due_date: date
    completed: bool
    snoozed_until: date | None


def _milestone_select() -> Any:  # a Select
    return select(
        Milestone.id,
        Milestone.account_id,
        Account.name,
        Milestone.name,
        Milestone.kind,
        Milestone.due_date,
        Milestone.completed_at.is_not(None),
        Milestone.snoozed_until,
    ).join(Account, Account.id == Milestone.account_id)


def _open_milestone(today: date) -> ColumnElement[bool]:
    return and_(
        Milestone.completed_at.is_(None),
        or_(Milestone.snoozed_until.is_(None), Milestone.snoozed_until <= today),
    )


async def open_milestones(
    session: AsyncSession,
    *,
    today: date,
    account_id: int | None = None,
    owner_ids: Sequence[int] | None = None,
    due_before: date | None = None,
) -> list[MilestoneRow]:
    """Milestones not done and not snoozed past today, soonest first. ``owner_ids`` None means all owners."""
    stmt = _milestone_select().where(_open_milestone(today))
    if account_id is not None:
        stmt = stmt.where(Milestone.account_id == account_id)
    if owner_ids is not None:
        stmt = stmt.where(Account.owner_id.in_(owner_ids))
    if due_before is not None:
        stmt = stmt.where(Milestone.due_date <= due_before)
    stmt = stmt.order_by(Milestone.due_date, Account.name, Milestone.name)
    return [MilestoneRow(*row) for row in (await session.execute(stmt)).all()]


@dataclass(frozen=True, slots=True)
class FollowUpRow:
    id: int
    account_id: int
    account_name: str
    author_name: str | None
    kind: str
    summary: str
    next_step: str | None
    due_date: date | None
    status: str
    snoozed_until: date | None
    created_at: object


def open_follow_up_select(today: date) -> Any:  # a Select of FollowUpRow columns
    """Open follow-ups not snoozed past ``today``, as FollowUpRow columns; callers add filters, order and
    extra columns."""
    author = aliased(Person)
    return (
        select(
            FollowUp.id,
            FollowUp.account_id,
            Account.name,
            author.name,
            FollowUp.kind,
            FollowUp.summary,
            FollowUp.next_step,
            FollowUp.due_date,
            FollowUp.status,
            FollowUp.snoozed_until,
            FollowUp.created_at,
        )
        .join(Account, Account.id == FollowUp.account_id)
        .outerjoin(author, author.id == FollowUp.author_id)
        .where(FollowUp.status == FollowUpStatus.OPEN.value)
        .where(or_(FollowUp.snoozed_until.is_(None), FollowUp.snoozed_until <= today))
    )


async def open_follow_ups(
    session: AsyncSession,
    *,
    today: date,
    account_id: int | None = None,
    people_ids: Sequence[int] | None = None,
    overdue_only: bool = False,
) -> list[FollowUpRow]:
    """Open follow-ups not snoozed past today, by due date (undated last).

    ``people_ids`` keeps those written by, or on accounts owned by, these people (None: everyone's):
    a union of two indexed look-ups (by author; by the owner's accounts), as an OR across the two
    tables read every follow-up (45 ms at 40,000 on SQLite).
    """
    stmt = open_follow_up_select(today)
    if account_id is not None:
        stmt = stmt.where(FollowUp.account_id == account_id)
    if people_ids is not None:
        theirs = union(
            select(FollowUp.id.label("id")).where(FollowUp.author_id.in_(people_ids)),
            select(FollowUp.id.label("id"))
            .join(Account, Account.id == FollowUp.account_id)
            .where(Account.owner_id.in_(people_ids)),
        )
        stmt = stmt.where(FollowUp.id.in_(theirs))
    if overdue_only:
        stmt = stmt.where(FollowUp.due_date < today)
    stmt = stmt.order_by(FollowUp.due_date.is_(None), FollowUp.due_date, FollowUp.created_at)
    return [FollowUpRow(*row) for row in (await session.execute(stmt)).all()]


@dataclass(frozen=True, slots=True)
class LastTouch:
    kind: str
    summary: str
    author_name: str | None
    created_at: datetime


async def last_touch(session: AsyncSession, account_id: int) -> LastTouch | None:
    stmt = (
        select(FollowUp.kind, FollowUp.summary, Person.name, FollowUp.created_at)
        .outerjoin(Person, Person.id == FollowUp.author_id)
        .where(FollowUp.account_id == account_id)
        .order_by(FollowUp.created_at.desc())
        .limit(1)
    )
    row = (await session.execute(stmt)).first()
    return LastTouch(*row) if row else None


@dataclass(frozen=True, slots=True)
class LatestSurvey:
    kind: str
    score: int
    comment: str | None
    submitted_at: object


async def latest_surveys(
    session: AsyncSession, account_id: int, kinds: Sequence[str]
) -> dict[str, LatestSurvey]:
    found: dict[str, LatestSurvey] = {}
    for kind in kinds:
        stmt = (
            select(
                SurveyResponse.kind, SurveyResponse.score, SurveyResponse.comment, SurveyResponse.submitted_at
            )
            .where(SurveyResponse.account_id == account_id, SurveyResponse.kind == kind)
            .order_by(SurveyResponse.submitted_at.desc())
            .limit(1)
        )
        row = (await session.execute(stmt)).first()
        if row:
            found[kind] = LatestSurvey(*row)
    return found
