"""Renewal outcomes (:class:`storage.models.RenewalOutcome`) and what retention is computed from: each
account's ARR at the start and the end of a period.

An account is in a period's cohort when it had ARR above 0 at the start and had not churned by then.
Its ARR at the end is 0 when it churned in the period (its lifecycle stage, or a renewal closed as
churned), else the ``arr_after`` of its last renewal closed in the period, else its ARR in the history
(:func:`storage.arr_history.arr_on`) at the end.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.arr_history import arr_on
from storage.models import Account, RenewalOutcome, RenewalResult


async def save_outcomes(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert or update outcomes (dicts of every column), keyed by source and source id."""
    if not rows:
        return
    insert: Any = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(RenewalOutcome)
    columns = ("account_id", "closed_on", "result", "arr_before", "arr_after", "recorded_at")
    statement = statement.on_conflict_do_update(
        index_elements=["source", "source_id"], set_={name: statement.excluded[name] for name in columns}
    )
    await session.execute(statement, list(rows))


@dataclass(frozen=True, slots=True)
class CohortAccount:
    """One account of a period's cohort: its ARR at the start and at the end."""

    account_id: int
    name: str
    start: Decimal
    end: Decimal
    churned: bool


async def cohort(
    session: AsyncSession, start: date, end: date, account_ids: Collection[int] | None = None
) -> list[CohortAccount]:
    """The accounts of the cohort of ``start`` .. ``end`` (see the module docstring), by name; only
    those of ``account_ids`` when given (a team's)."""
    stmt = select(Account.id, Account.name, Account.churned_on).where(
        (Account.churned_on.is_(None)) | (Account.churned_on > start)
    )
    if account_ids is not None:
        stmt = stmt.where(Account.id.in_(sorted(set(account_ids))))
    accounts = (await session.execute(stmt)).all()
    ids = [account_id for account_id, _name, _churned in accounts]
    at_start = await arr_on(session, ids, start)
    members = [(i, n, c) for i, n, c in accounts if (at_start.get(i) or 0) > 0]
    at_end = await arr_on(session, [i for i, _n, _c in members], end)
    renewals = await _last_renewals(session, start, end)
    found = []
    for account_id, name, churned_on in members:
        renewal = renewals.get(account_id)
        churned = (churned_on is not None and churned_on <= end) or (
            renewal is not None and renewal[0] == RenewalResult.CHURNED.value
        )
        if churned:
            arr_end = Decimal(0)
        elif renewal is not None:
            arr_end = renewal[1]
        else:
            arr_end = at_end.get(account_id) or Decimal(0)
        found.append(CohortAccount(account_id, name, Decimal(at_start[account_id] or 0), arr_end, churned))
    return sorted(found, key=lambda a: (a.name.lower(), a.account_id))


async def _last_renewals(session: AsyncSession, start: date, end: date) -> dict[int, tuple[str, Decimal]]:
    """account id -> (result, ARR after) of its last renewal closed after ``start`` up to ``end``."""
    stmt = (
        select(RenewalOutcome.account_id, RenewalOutcome.result, RenewalOutcome.arr_after)
        .where(RenewalOutcome.closed_on > start, RenewalOutcome.closed_on <= end)
        .order_by(RenewalOutcome.closed_on, RenewalOutcome.source_id)
    )
    return {account_id: (result, arr) for account_id, result, arr in (await session.execute(stmt)).all()}
