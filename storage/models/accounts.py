"""Accounts and what is measured on them: daily usage metrics, daily health snapshots (with the health
bands) and the history of their ARR."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base
from storage.models.people import Person
from storage.types import JSONType, UTCDateTime, utcnow


class LifecycleStage(enum.StrEnum):
    ONBOARDING = "onboarding"
    ADOPTING = "adopting"
    MATURE = "mature"
    RENEWING = "renewing"
    CHURNED = "churned"


class Band(enum.StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    UNKNOWN = "unknown"


class Account(Base):
    __tablename__ = "account"
    __table_args__ = (
        Index("ix_account_owner_id_renewal_date", "owner_id", "renewal_date"),
        # Covers ``renewals``: the accounts renewing in a window, counted with their ARR without reading a
        # table row (the stage tells churned ones apart); the order of a page starts with the date.
        Index("ix_account_renewal_date_stage_arr", "renewal_date", "lifecycle_stage", "arr"),
        # name_key is the case- and accent-free name; text_pattern_ops lets PostgreSQL use it for LIKE 'x%'.
        Index("ix_account_name_key", "name_key", postgresql_ops={"name_key": "text_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))
    # The customer's web domain (lower case), which a help desk's organizations can be matched by.
    domain: Mapped[str | None] = mapped_column(String(253), index=True)
    segment: Mapped[str | None] = mapped_column(String(64))
    tier: Mapped[str | None] = mapped_column(String(64))
    arr: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    lifecycle_stage: Mapped[str | None] = mapped_column(String(20))
    contract_start: Mapped[date | None] = mapped_column(Date)
    renewal_date: Mapped[date | None] = mapped_column(Date)
    # The day the stage became churned through an import or the API; None while not churned, and for
    # accounts that churned before the day was recorded (unknown).
    churned_on: Mapped[date | None] = mapped_column(Date)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    owner: Mapped[Person | None] = relationship(lazy="raise")


class UsageMetric(Base):
    """One number per account, day and metric (long format); the primary key is the natural key."""

    __tablename__ = "usage_metric"

    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[float] = mapped_column(Float)


# The span of :attr:`HealthSnapshot.fall`: the days between a snapshot and the one it is compared with.
FALL_DAYS = 30


class HealthSnapshot(Base):
    """One health result per account per day; score is NULL when there was too little data to score.

    ``fall`` is the points lost against the snapshot ``FALL_DAYS`` earlier (that score minus this one,
    so a fall is positive), NULL when either score is missing. It is stored with the snapshot so that
    ``risk`` (red, or down 10+ in 30 days) is an indexed read of one day's at-risk rows: working it
    out on every request grouped two days of snapshots (156 ms at 20,000 accounts on SQLite). A NULL ``fall``
    with both scores present (a row written without it) is worked out when read, never trusted.
    """

    __tablename__ = "health_snapshot"
    # Both cover ``risk``'s reads of one day (score and account id in the index: the rows themselves
    # are wide with components, and reading 3,000 of them cost more than the rest of the command).
    __table_args__ = (
        Index("ix_health_snapshot_day_band_score", "day", "band", "score", "account_id"),
        Index("ix_health_snapshot_day_fall", "day", "fall", "score", "account_id"),
    )

    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    score: Mapped[float | None] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(8))
    confidence: Mapped[float] = mapped_column(Float)
    components: Mapped[dict[str, Any]] = mapped_column(JSONType)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fall: Mapped[float | None] = mapped_column(Float)


class ArrChange(Base):
    """The account's ARR from ``day`` on, kept whenever an import, the API or a person changes it.

    The history of these rows gives expansion (ARR going up) and contraction (going down) over any
    period; ``previous_arr`` is what it was before, ``None`` for the first value known.
    """

    __tablename__ = "arr_change"
    __table_args__ = (
        Index("ix_arr_change_account_id_day", "account_id", "day"),
        Index("ix_arr_change_day", "day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    arr: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    previous_arr: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    source: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
