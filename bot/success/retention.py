"""Gross and net revenue retention (GRR, NRR) of a period, from the ARR history and renewal outcomes.

The cohort is every account with ARR above 0 at the start of the period that had not churned by then
(:func:`storage.renewals.cohort`); accounts won during the period are not in it. With S the cohort's
ARR at the start:

- churn: the starting ARR of the accounts that churned in the period;
- contraction: what the others lost (start minus end, where the end is lower);
- expansion: what the others gained (end minus start, where the end is higher);
- **GRR** = (S - churn - contraction) / S, at most 100%;
- **NRR** = (S - churn - contraction + expansion) / S.

A period is the current quarter or year to date: it starts at the end of the previous one (the ARR
as the previous quarter closed) and ends today.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from storage.renewals import CohortAccount, cohort

PERIODS = ("quarter", "year")


@dataclass(frozen=True, slots=True)
class Period:
    label: str  # "Q4 2026 to date"
    start: date  # the last day of the previous period: ARR is read as of its end
    end: date


def period(kind: str, today: date) -> Period:
    """The current quarter (or year) up to ``today``."""
    if kind == "year":
        return Period(f"{today.year} to date", date(today.year - 1, 12, 31), today)
    if kind != "quarter":
        raise ValueError(f"unknown period {kind!r} (expected quarter or year)")
    quarter = (today.month - 1) // 3
    first = date(today.year, quarter * 3 + 1, 1)
    return Period(f"Q{quarter + 1} {today.year} to date", first - timedelta(days=1), today)


@dataclass(frozen=True, slots=True)
class Retention:
    period: Period
    accounts: int  # in the cohort
    starting: Decimal
    churned: tuple[CohortAccount, ...]  # biggest first
    contracted: tuple[CohortAccount, ...]
    expanded: tuple[CohortAccount, ...]

    @property
    def churn(self) -> Decimal:
        return sum((a.start for a in self.churned), Decimal(0))

    @property
    def contraction(self) -> Decimal:
        return sum((a.start - a.end for a in self.contracted), Decimal(0))

    @property
    def expansion(self) -> Decimal:
        return sum((a.end - a.start for a in self.expanded), Decimal(0))

    @property
    def grr(self) -> float | None:
        """Gross revenue retention as a fraction (0.95); None without starting ARR."""
        if not self.starting:
            return None
        return min(1.0, float((self.starting - self.churn - self.contraction) / self.starting))

    @property
    def nrr(self) -> float | None:
        if not self.starting:
            return None
        return float((self.starting - self.churn - self.contraction + self.expansion) / self.starting)


def retention_of(members: Sequence[CohortAccount], chosen: Period) -> Retention:
    churned = [a for a in members if a.churned]
    staying = [a for a in members if not a.churned]
    return Retention(
        period=chosen,
        accounts=len(members),
        starting=sum((a.start for a in members), Decimal(0)),
        churned=tuple(sorted(churned, key=lambda a: (-a.start, a.name))),
        contracted=tuple(
            sorted((a for a in staying if a.end < a.start), key=lambda a: (a.end - a.start, a.name))
        ),
        expanded=tuple(
            sorted((a for a in staying if a.end > a.start), key=lambda a: (a.start - a.end, a.name))
        ),
    )


async def retention(
    session: AsyncSession, kind: str, today: date, account_ids: Collection[int] | None = None
) -> Retention:
    """Retention of the current ``kind`` (quarter or year) to ``today``, of ``account_ids`` (None: all)."""
    chosen = period(kind, today)
    return retention_of(await cohort(session, chosen.start, chosen.end, account_ids), chosen)


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"
