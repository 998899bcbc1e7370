"""Success plans: the outcomes a customer wants to reach, how each is measured, and whether it was."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UTCDateTime, utcnow


class OutcomeStatus(enum.StrEnum):
    OPEN = "open"
    ACHIEVED = "achieved"
    MISSED = "missed"


class OutcomeComparison(enum.StrEnum):
    AT_LEAST = "at_least"  # reached when the value is at or above the target ("200 active users")
    AT_MOST = "at_most"  # reached when the value is at or below the target ("at most 5 open tickets")


class Outcome(Base):
    """One desired outcome of an account's success plan: what the customer wants to reach, by when.

    A measurable outcome names a ``metric`` (a usage metric such as ``active_users``, or ``nps``,
    ``csat``, ``ces``) and a ``target``; ``baseline`` is the value on ``start_date`` when it was
    defined, so progress is measured along the line from there to the target on ``due_date``. An
    outcome without a metric is manual: a person marks it achieved. ``demonstrated_at`` is set when
    the owner CSM was sent the ready-to-share summary, so that happens once.
    """

    __tablename__ = "outcome"
    __table_args__ = (
        UniqueConstraint("account_id", "title"),
        Index("ix_outcome_status_due_date", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str | None] = mapped_column(String(64))
    comparison: Mapped[str] = mapped_column(String(8), default=OutcomeComparison.AT_LEAST.value)
    target: Mapped[float | None] = mapped_column(Float)
    baseline: Mapped[float | None] = mapped_column(Float)
    start_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    customer_owner: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=OutcomeStatus.OPEN.value)
    achieved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    achieved_value: Mapped[float | None] = mapped_column(Float)
    achieved_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    demonstrated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
