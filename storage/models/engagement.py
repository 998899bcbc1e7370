"""The day-to-day work with an account: survey responses (NPS, CSAT, CES), milestones and follow-ups."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UTCDateTime, utcnow


class SurveyKind(enum.StrEnum):
    NPS = "nps"
    CSAT = "csat"
    CES = "ces"


class MilestoneKind(enum.StrEnum):
    KICKOFF = "kickoff"
    TECHNICAL_SETUP = "technical_setup"
    FIRST_VALUE = "first_value"
    GO_LIVE = "go_live"
    QBR = "qbr"
    RENEWAL = "renewal"
    OTHER = "other"


class FollowUpKind(enum.StrEnum):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    QBR = "qbr"
    NOTE = "note"


class FollowUpStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


class SurveyResponse(Base):
    __tablename__ = "survey_response"
    __table_args__ = (Index("ix_survey_response_account_id_submitted_at", "account_id", "submitted_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    respondent_email: Mapped[str | None] = mapped_column(String(320))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    # external_id when the source gave one, else a digest of account, kind, respondent and time:
    # the key re-imports upsert on.
    natural_key: Mapped[str] = mapped_column(String(160), unique=True)
    # The tone of ``comment``: VADER's compound score, -1 (very negative) .. 1 (very positive).
    sentiment: Mapped[float | None] = mapped_column(Float)


class Milestone(Base):
    __tablename__ = "milestone"
    __table_args__ = (
        UniqueConstraint("account_id", "name"),
        Index("ix_milestone_due_date", "due_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default=MilestoneKind.OTHER.value)
    due_date: Mapped[date] = mapped_column(Date)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    snoozed_until: Mapped[date | None] = mapped_column(Date)


class FollowUp(Base):
    __tablename__ = "follow_up"
    __table_args__ = (
        Index("ix_follow_up_account_id_created_at", "account_id", "created_at"),
        Index("ix_follow_up_status_due_date", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(Text)
    due_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=FollowUpStatus.OPEN.value)
    snoozed_until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The chat message it was logged from ("Log to account"), shown on the account's timeline.
    source_link: Mapped[str | None] = mapped_column(String(1000))
