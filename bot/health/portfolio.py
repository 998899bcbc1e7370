"""A whole-portfolio overview: how many accounts sit in each health band, the ARR behind them, and
which red accounts renew soon. The CLI prints it; digests build on the same numbers. Churned accounts
are counted apart (``churned``) and left out of everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from storage.db import Database
from storage.models import Account, Band, HealthSnapshot, Person
from storage.queries import not_churned

BAND_ORDER = (Band.RED, Band.YELLOW, Band.GREEN, Band.UNKNOWN)


@dataclass(frozen=True, slots=True)
class AtRisk:
    name: str
    external_id: str
    score: float | None
    arr: Decimal
    owner: str | None
    renewal_date: date | None


@dataclass(frozen=True, slots=True)
class PortfolioSummary:
    day: date | None
    accounts: int  # not churned
    people: int
    count_by_band: dict[str, int] = field(default_factory=dict)
    arr_by_band: dict[str, Decimal] = field(default_factory=dict)
    red_renewing: list[AtRisk] = field(default_factory=list)
    churned: int = 0  # accounts in the churned stage, counted nowhere else


async def portfolio_summary(db: Database, *, today: date, renewal_window_days: int = 90) -> PortfolioSummary:
    """Band counts and ARR as of the latest health snapshots, and red accounts renewing within the window."""
    async with db.sessions() as session:
        live = not_churned()
        counted = select(func.count(), func.count().filter(live)).select_from(Account)
        everyone, accounts = (await session.execute(counted)).one()
        churned = everyone - accounts
        people = (await session.execute(select(func.count()).select_from(Person))).scalar_one()
        day = (await session.execute(select(func.max(HealthSnapshot.day)))).scalar_one()
        if day is None:
            return PortfolioSummary(day=None, accounts=accounts, people=people, churned=churned)
        rows = (
            await session.execute(
                select(HealthSnapshot.band, func.count(), func.coalesce(func.sum(Account.arr), 0))
                .join(Account, Account.id == HealthSnapshot.account_id)
                .where(HealthSnapshot.day == day, live)
                .group_by(HealthSnapshot.band)
            )
        ).all()
        red = (
            await session.execute(
                select(
                    HealthSnapshot.score,
                    Account.name,
                    Account.external_id,
                    Account.arr,
                    Account.renewal_date,
                    Person.name,
                )
                .join(Account, Account.id == HealthSnapshot.account_id)
                .outerjoin(Person, Person.id == Account.owner_id)
                .where(
                    HealthSnapshot.day == day,
                    HealthSnapshot.band == Band.RED.value,
                    Account.renewal_date >= today,
                    Account.renewal_date <= today + timedelta(days=renewal_window_days),
                    live,
                )
                .order_by(Account.renewal_date, Account.name)
            )
        ).all()
    return PortfolioSummary(
        day=day,
        accounts=accounts,
        people=people,
        count_by_band={band: count for band, count, _ in rows},
        arr_by_band={band: Decimal(arr or 0) for band, _, arr in rows},
        red_renewing=[
            AtRisk(
                name=name,
                external_id=ext,
                score=score,
                arr=Decimal(arr or 0),
                owner=owner,
                renewal_date=renewal,
            )
            for score, name, ext, arr, renewal, owner in red
        ],
        churned=churned,
    )
