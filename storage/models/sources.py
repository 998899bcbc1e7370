"""What Touchpoint keeps of the outside sources that feed usage metrics: help-desk tickets and product
events. The daily ``usage_metric`` rows the health engine reads are worked out from these, so a ticket
that changes or an event that arrives late moves the right day.

- :class:`SupportTicket`: one help-desk ticket as it stands now (``source`` names the help desk). Only
  what the daily series need: when it was created and solved, whether it counts as an escalation, and
  its organization, whose link (:class:`~storage.models.CrmLink`) says which account it is, so an
  organization matched later brings its tickets along. A deleted or merged ticket's row is removed.
- :class:`ProductEvent`: one accepted product event (a Segment Spec call), stored before it is
  acknowledged. ``message_id`` is unique, so a retried delivery is stored once; ``seq`` orders
  arrivals, so the aggregation reads only what arrived since its last run. ``account_key`` is the
  account's external id as the source names it (None until the user's ``group`` call says);
  ``counted`` is False while that key matches no account, so those events are tried again when the
  account appears, and reported meanwhile.
- :class:`ProductUser`: which account a user belongs to, remembered from their latest ``group`` call.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Float, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UTCDateTime


class SupportTicket(Base):
    __tablename__ = "support_ticket"
    # No index starts with ``source`` (one value for nearly every row): while the table is new,
    # PostgreSQL's planner would take it for "these tickets" and filter every row of the source.
    __table_args__ = (Index("ix_support_ticket_organization_id_source", "organization_id", "source"),)

    # The ticket first in the key: "these tickets" is what every look-up by key asks.
    ticket_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    solved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    escalated: Mapped[bool] = mapped_column(Boolean)


class ProductEvent(Base):
    __tablename__ = "product_event"
    __table_args__ = (
        # The aggregation counts distinct active users per account and day from this index alone, and
        # reads the mapped features from the second, which holds only the events that have one.
        Index("ix_product_event_account_key_day_activity_user", "account_key", "day", "activity", "user"),
        Index(
            "ix_product_event_features",
            "account_key",
            "day",
            "feature",
            sqlite_where=text("feature IS NOT NULL"),
            postgresql_where=text("feature IS NOT NULL"),
        ),
        # Events not yet counted (their account is unknown) are few; only they are indexed. Each
        # dialect's condition is written as SQLAlchemy writes it in queries (SQLite has no boolean
        # type: "counted = 0"), or the database would not see that the index applies.
        Index(
            "ix_product_event_uncounted",
            "seq",
            sqlite_where=text("counted = 0"),
            postgresql_where=text("NOT counted"),
        ),
        # Group calls that gave seats: a handful among the events.
        Index(
            "ix_product_event_seats",
            "account_key",
            "day",
            sqlite_where=text("seats IS NOT NULL"),
            postgresql_where=text("seats IS NOT NULL"),
        ),
    )

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    day: Mapped[date] = mapped_column(Date)
    user: Mapped[str] = mapped_column(String(255))
    account_key: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    activity: Mapped[bool] = mapped_column(Boolean)
    feature: Mapped[str | None] = mapped_column(String(100))
    seats: Mapped[float | None] = mapped_column(Float)
    counted: Mapped[bool] = mapped_column(Boolean)


class ProductUser(Base):
    __tablename__ = "product_user"

    user: Mapped[str] = mapped_column(String(255), primary_key=True)
    account_key: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
