"""ARR history: the ``ArrChange`` rows written whenever an account's ARR is set or changes, and what they
tell: the ARR on a given day, an account's change over a year, and a period's expansion and contraction.

Each row says "from ``day`` on, the ARR was ``arr``; before, it was ``previous_arr``". ``previous_arr`` is
None for the first value known, so a history started on an existing install (see
:func:`arr_change_rows`) shows no movement on its first day. Every read here is set-based: one query for
all the accounts asked about, never one per account.

A write reads the ARR it replaces, compares and inserts the change: two writers doing that at once
would both see the old value and record the change twice. :func:`lock_arr_writes` makes the three steps
one: on PostgreSQL a transaction-scoped advisory lock that every ARR writer takes first (a row lock
would not cover accounts that do not exist yet); on SQLite a write statement first, so the
transaction holds the database's single write lock before it reads.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, exists, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, ArrChange

CENT = Decimal("0.01")
IDS_PER_QUERY = 1000
YEAR_DAYS = 365
# The key of the PostgreSQL advisory lock that serialises ARR writers (any constant no one else uses).
ARR_WRITE_LOCK = 0x7470_4152  # "tpAR"


class ArrSource(enum.StrEnum):
    """Where an ARR value came from."""

    IMPORT = "import"  # a CSV file (``touchpoint import accounts``)
    API = "api"  # the JSON ingest API
    CHAT = "chat"
    DEMO = "demo"
    CRM = "crm"  # a CRM connector (``touchpoint sync``)


def utc_today() -> date:
    """The day an import is recorded on when the caller names none."""
    return datetime.now(UTC).date()


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), IDS_PER_QUERY):
        yield ids[start : start + IDS_PER_QUERY]


def same_arr(a: Decimal | None, b: Decimal | None) -> bool:
    """Equal to the cent, None only equal to None (the database may hand back 48000 as 48000.00)."""
    if a is None or b is None:
        return a is b
    return a.quantize(CENT) == b.quantize(CENT)


# ------------------------------------------------------------------------------------------ writing


@dataclass(frozen=True, slots=True)
class KnownArr:
    """An account's ARR before a write, and whether it has any history yet."""

    account_id: int
    arr: Decimal | None
    has_history: bool


async def lock_arr_writes(session: AsyncSession) -> None:
    """Hold, until the caller's transaction ends, the right to read-compare-write ARR history.

    Call it first in the transaction. Writers of other accounts wait too: account imports are few and
    short, and one lock cannot run out of PostgreSQL's lock table the way a lock per account can.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(ARR_WRITE_LOCK)))
    else:
        # A write that changes nothing: it opens the transaction with SQLite's write lock (waiting for
        # the current writer, up to the busy timeout), so the read that follows sees the latest ARR.
        no_op = update(Account).where(text("0")).values(id=Account.id)
        await session.execute(no_op.execution_options(synchronize_session=False))


async def known_arr(session: AsyncSession, external_ids: Collection[str]) -> dict[str, KnownArr]:
    """The current ARR of the accounts with these external ids (one query), by external id."""
    if not external_ids:
        return {}
    has_history = exists().where(ArrChange.account_id == Account.id)
    stmt = select(Account.external_id, Account.id, Account.arr, has_history).where(
        Account.external_id.in_(list(external_ids))
    )
    return {
        external_id: KnownArr(account_id, arr, bool(history))
        for external_id, account_id, arr, history in (await session.execute(stmt)).all()
    }


def arr_change_row(
    before: KnownArr | None,
    account_id: int,
    new_arr: Decimal | None,
    *,
    day: date,
    source: str,
    recorded_at: datetime,
) -> dict[str, Any] | None:
    """The ``ArrChange`` row that writing ``new_arr`` calls for, or None when nothing is to be kept.

    * An account with history gets a row whenever its ARR differs from what it was (cleared too).
    * An account without history gets its first row as soon as an ARR is known, even an unchanged
      one: that is how an install that predates ARR history starts one on its next import (there is
      no other backfill). ``previous_arr`` is what the account had when that differs, else None.
    """
    old = before.arr if before is not None else None
    if before is not None and before.has_history:
        if same_arr(old, new_arr):
            return None
        previous = old
    else:
        if new_arr is None:
            return None
        previous = None if same_arr(old, new_arr) else old
    return {
        "account_id": account_id,
        "day": day,
        "arr": new_arr,
        "previous_arr": previous,
        "source": source,
        "recorded_at": recorded_at,
    }


async def insert_arr_changes(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert change rows in one executemany, in the caller's transaction."""
    if rows:
        await session.execute(insert(ArrChange), list(rows))


# ------------------------------------------------------------------------------------------ reading


async def arr_on(session: AsyncSession, account_ids: Collection[int], day: date) -> dict[int, Decimal | None]:
    """The ARR of each account as of ``day``: the latest change on or before it (None: none known)."""
    ids = sorted(set(account_ids))
    found: dict[int, Decimal | None] = dict.fromkeys(ids)
    for chunk in _chunks(ids):
        rank = func.row_number().over(
            partition_by=ArrChange.account_id, order_by=(ArrChange.day.desc(), ArrChange.id.desc())
        )
        ranked = (
            select(ArrChange.account_id, ArrChange.arr, rank.label("rank"))
            .where(ArrChange.account_id.in_(chunk), ArrChange.day <= day)
            .subquery()
        )
        stmt = select(ranked.c.account_id, ranked.c.arr).where(ranked.c.rank == 1)
        found.update({account_id: arr for account_id, arr in (await session.execute(stmt)).all()})
    return found


async def arr_before(
    session: AsyncSession, asks: Collection[tuple[int, date]]
) -> dict[tuple[int, date], Decimal | None]:
    """The ARR of each (account, day) of ``asks`` as of the day before: :func:`arr_on` for many days at
    once, from one read of those accounts' histories (a CRM closes renewals on many different days)."""
    ids = sorted({account_id for account_id, _day in asks})
    history: dict[int, list[tuple[date, Decimal | None]]] = {}
    for chunk in _chunks(ids):
        stmt = (
            select(ArrChange.account_id, ArrChange.day, ArrChange.arr)
            .where(ArrChange.account_id.in_(chunk))
            .order_by(ArrChange.account_id, ArrChange.day, ArrChange.id)
        )
        for account_id, day, arr in (await session.execute(stmt)).all():
            history.setdefault(account_id, []).append((day, arr))
    found: dict[tuple[int, date], Decimal | None] = {}
    for account_id, day in asks:
        changes = history.get(account_id, [])
        at = bisect.bisect_right([d for d, _arr in changes], day - timedelta(days=1))
        found[(account_id, day)] = changes[at - 1][1] if at else None
    return found


@dataclass(frozen=True, slots=True)
class ArrTrend:
    """An account's ARR now against ``since``: the start of the period asked for (``full_period``), or
    the first value recorded when the history is shorter."""

    before: Decimal
    now: Decimal
    since: date
    days: int
    full_period: bool

    @property
    def change(self) -> Decimal:
        return self.now - self.before

    @property
    def percent(self) -> float | None:
        """The change in % of ``before``; None when ``before`` is 0."""
        return None if not self.before else float(self.change / self.before * 100)


async def account_arr_change(
    session: AsyncSession, account_id: int, today: date, days: int = YEAR_DAYS
) -> ArrTrend | None:
    """How the account's ARR moved over the ``days`` before ``today``, for its card.

    None when no ARR is known today. When the history starts inside the period, the change is
    counted from the first value recorded (or from the value it replaced, when that was known).
    """
    stmt = (
        select(ArrChange.day, ArrChange.arr, ArrChange.previous_arr)
        .where(ArrChange.account_id == account_id, ArrChange.day <= today)
        .order_by(ArrChange.day, ArrChange.id)
    )
    rows = (await session.execute(stmt)).all()
    if not rows or rows[-1].arr is None:
        return None
    now = rows[-1].arr
    start = today - timedelta(days=days)
    at_start = [row for row in rows if row.day <= start]
    if at_start:
        if at_start[-1].arr is None:
            return None
        return ArrTrend(before=at_start[-1].arr, now=now, since=start, days=days, full_period=True)
    first = rows[0]
    before = first.previous_arr if first.previous_arr is not None else first.arr
    if before is None:
        return None
    return ArrTrend(before=before, now=now, since=first.day, days=days, full_period=False)


@dataclass(frozen=True, slots=True)
class AccountMovement:
    """One account's ARR at the start and the end of a period."""

    account_id: int
    account_name: str
    before: Decimal
    after: Decimal

    @property
    def change(self) -> Decimal:
        return self.after - self.before


@dataclass(frozen=True, slots=True)
class ArrMovements:
    """Expansion and contraction between two days. ``expansion`` is biggest gain first,
    ``contraction`` biggest loss first."""

    start: date
    end: date
    expansion: tuple[AccountMovement, ...]
    contraction: tuple[AccountMovement, ...]

    @property
    def expanded(self) -> Decimal:
        """The ARR gained by the accounts that grew (positive)."""
        return sum((m.change for m in self.expansion), Decimal(0))

    @property
    def contracted(self) -> Decimal:
        """The ARR lost by the accounts that shrank (negative)."""
        return sum((m.change for m in self.contraction), Decimal(0))

    @property
    def net(self) -> Decimal:
        return self.expanded + self.contracted

    @property
    def churned(self) -> tuple[AccountMovement, ...]:
        """Contracting accounts whose ARR went down to 0."""
        return tuple(m for m in self.contraction if not m.after)

    def __bool__(self) -> bool:
        return bool(self.expansion or self.contraction)


async def movements(
    session: AsyncSession, start: date, end: date, account_ids: Collection[int] | None = None
) -> ArrMovements:
    """Accounts whose ARR went up or down from ``start`` to ``end``: changes dated after ``start`` up to
    and including ``end``, so consecutive periods never count a change twice.

    An account's ARR before the period is the ``previous_arr`` of its first change in it (the value
    that change replaced). A first value recorded in the period is where the account's history starts,
    not growth, and moves nothing; an ARR that became unknown (cleared) is left out.
    """
    empty = ArrMovements(start, end, (), ())
    if end <= start:
        return empty
    if account_ids is None:
        found = await _period_ends(session, start, end, None)
    else:
        found = []
        for chunk in _chunks(sorted(set(account_ids))):
            found += await _period_ends(session, start, end, ArrChange.account_id.in_(chunk))
    moved = [m for m in found if m.change]
    return ArrMovements(
        start,
        end,
        tuple(sorted((m for m in moved if m.change > 0), key=lambda m: (-m.change, m.account_name))),
        tuple(sorted((m for m in moved if m.change < 0), key=lambda m: (m.change, m.account_name))),
    )


async def _period_ends(
    session: AsyncSession, start: date, end: date, where: ColumnElement[bool] | None
) -> list[AccountMovement]:
    """Each account's first and last change in the period, as before and after values."""
    first = func.row_number().over(partition_by=ArrChange.account_id, order_by=(ArrChange.day, ArrChange.id))
    last = func.row_number().over(
        partition_by=ArrChange.account_id, order_by=(ArrChange.day.desc(), ArrChange.id.desc())
    )
    clauses = [ArrChange.day > start, ArrChange.day <= end]
    if where is not None:
        clauses.append(where)
    ranked = (
        select(
            ArrChange.account_id,
            ArrChange.arr,
            ArrChange.previous_arr,
            first.label("first"),
            last.label("last"),
        )
        .where(*clauses)
        .subquery()
    )
    stmt = (
        select(
            ranked.c.account_id,
            Account.name,
            ranked.c.arr,
            ranked.c.previous_arr,
            ranked.c.first == 1,
            ranked.c.last == 1,
        )
        .join(Account, Account.id == ranked.c.account_id)
        .where((ranked.c.first == 1) | (ranked.c.last == 1))
    )
    before: dict[int, Decimal | None] = {}
    after: dict[int, Decimal | None] = {}
    names: dict[int, str] = {}
    for account_id, name, arr, previous, is_first, is_last in (await session.execute(stmt)).all():
        names[account_id] = name
        if is_first:  # the value this change replaced; a first value known replaces nothing
            before[account_id] = previous if previous is not None else arr
        if is_last:
            after[account_id] = arr
    return [
        AccountMovement(account_id, names[account_id], old, new)
        for account_id, old in before.items()
        if old is not None and (new := after.get(account_id)) is not None
    ]
