"""How each renewal ended: renewed (at the same or a higher ARR), downgraded, or churned.

A :class:`RenewalOutcome` is written when a CRM's renewal deal or opportunity closes (``source`` names
the CRM and ``source_id`` the deal), with the account's ARR before the renewal and after it (0 for a
churn). Retention (GRR, NRR) reads these with the ARR history: an account's ARR at the end of a period
is the ``arr_after`` of its last renewal closed in the period, when there is one.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UTCDateTime


class RenewalResult(enum.StrEnum):
    RENEWED = "renewed"
    DOWNGRADED = "downgraded"
    CHURNED = "churned"


class RenewalOutcome(Base):
    __tablename__ = "renewal_outcome"
    __table_args__ = (Index("ix_renewal_outcome_closed_on", "closed_on"),)

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    closed_on: Mapped[date] = mapped_column(Date)
    result: Mapped[str] = mapped_column(String(16))
    arr_before: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    arr_after: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
