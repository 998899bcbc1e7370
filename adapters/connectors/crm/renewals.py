"""Renewal deals (HubSpot) and opportunities (Salesforce), the same way for every CRM: each linked
account's earliest open renewal sets its renewal date (unless the mapping names a field for it), and
each closed one is stored as a renewal outcome that retention reads.

A won renewal at or above the account's ARR before it (its ARR the day before the renewal closed, or
its current ARR when the history does not reach back) is *renewed*, below it *downgraded* (the deal's
amount is the ARR after; without an amount, the ARR stays), and a lost one *churned* (ARR after 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.connectors.crm.records import crm_date
from adapters.connectors.runs import SyncTally
from storage import connectors as store
from storage.arr_history import arr_before
from storage.importer.fields import FieldError, money
from storage.importer.write import table_of
from storage.models import Account, RenewalResult
from storage.renewals import save_outcomes


@dataclass(frozen=True, slots=True)
class Renewal:
    """One renewal deal: its id, how problems name it, the CRM ids of its accounts, its close date as the
    CRM gives it, whether it is closed and won, and its amount."""

    crm_id: str
    label: str
    accounts: tuple[str, ...]
    closes: str | None
    closed: bool
    won: bool
    amount: str | None


def close_day(renewal: Renewal, tally: SyncTally) -> date | None:
    if not renewal.closes:
        return None
    try:
        return date.fromisoformat(crm_date(renewal.closes))
    except ValueError:
        tally.problem(renewal.label, "close date", f"not a date: {renewal.closes[:40]!r}")
        return None


async def save_renewals(
    session: AsyncSession,
    connector: str,
    renewals: Sequence[Renewal],
    tally: SyncTally,
    *,
    set_dates: bool,
    now: datetime,
) -> None:
    """Renewal dates (when ``set_dates``) and outcomes of ``renewals``, in the caller's transaction."""
    earliest: dict[str, date] = {}
    closed: list[tuple[Renewal, date, str]] = []
    for renewal in renewals:
        day = close_day(renewal, tally)
        if day is None:
            continue
        if renewal.closed:
            closed += [(renewal, day, account) for account in renewal.accounts[:1]]
            continue
        for account in renewal.accounts:
            if account not in earliest or day < earliest[account]:
                earliest[account] = day
    if set_dates:
        tally.add("renewal_dates", await _renewal_dates(session, connector, earliest))
    rows = []
    links = await store.linked_accounts(session, connector, {account for _r, _d, account in closed})
    asks = [(links[account], day) for _r, day, account in closed if account in links]
    before_of = await arr_before(session, asks)
    current = await _current_arr(session, {account_id for account_id, _day in asks})
    for renewal, day, account in closed:
        account_id = links.get(account)
        if account_id is None:
            continue
        before = before_of.get((account_id, day))
        if before is None:
            before = current.get(account_id)
        after = _amount(renewal, tally) if renewal.won else Decimal(0)
        if after is None:
            after = before or Decimal(0)
        result = (
            RenewalResult.CHURNED
            if not renewal.won
            else RenewalResult.DOWNGRADED
            if before is not None and after < before
            else RenewalResult.RENEWED
        )
        rows.append(
            {
                "source": connector,
                "source_id": renewal.crm_id,
                "account_id": account_id,
                "closed_on": day,
                "result": result.value,
                "arr_before": before,
                "arr_after": after,
                "recorded_at": now,
            }
        )
    await save_outcomes(session, rows)
    tally.add("renewals_closed", len(rows))


async def _renewal_dates(session: AsyncSession, connector: str, earliest: dict[str, date]) -> int:
    """Set each linked account's renewal date, in one statement run for every account; answers how many
    accounts it changed (their dates are read first, so unchanged ones are not written)."""
    links = await store.linked_accounts(session, connector, earliest)
    wanted = {account_id: earliest[account] for account, account_id in links.items()}
    known: dict[int, date | None] = {}
    ids = sorted(wanted)
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        stmt = select(Account.id, Account.renewal_date).where(Account.id.in_(chunk))
        known.update({account_id: day for account_id, day in (await session.execute(stmt)).all()})
    changes = [
        {"account": account_id, "day": day}
        for account_id, day in sorted(wanted.items())
        if account_id in known and known[account_id] != day
    ]
    if changes:
        table = table_of(Account)
        statement = (
            update(table).where(table.c.id == bindparam("account")).values(renewal_date=bindparam("day"))
        )
        await session.execute(statement, changes)
    return len(changes)


async def _current_arr(session: AsyncSession, account_ids: set[int]) -> dict[int, Decimal | None]:
    found: dict[int, Decimal | None] = {}
    ids = sorted(account_ids)
    for start in range(0, len(ids), 1000):
        stmt = select(Account.id, Account.arr).where(Account.id.in_(ids[start : start + 1000]))
        found.update({account_id: arr for account_id, arr in (await session.execute(stmt)).all()})
    return found


def _amount(renewal: Renewal, tally: SyncTally) -> Decimal | None:
    if renewal.amount in (None, ""):
        return None
    try:
        return money(renewal.amount)
    except FieldError as exc:
        tally.problem(renewal.label, "amount", str(exc))
        return None
