"""Feedback between the CS and CX teams: the items sent, every change of their state, and the recurring
themes they are grouped into."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import JSONType, UTCDateTime, utcnow


class FeedbackState(enum.StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class FeedbackItem(Base):
    """Something one team sends the other: a detractor's comment, a recurring bug, a heads-up.

    ``originator_team`` is "cx" or "cs" (from the originator's role). The item goes to a person
    (``recipient_id``: the account's CSM, or whoever it was reassigned to) and/or a team channel
    (``recipient_channel``: "slack:C123" or "teams:19:...", for CS-to-CX items). ``survey_response_id``
    links an item made from a survey answer, unique so an import never makes two.
    """

    __tablename__ = "feedback_item"
    __table_args__ = (
        Index("ix_feedback_item_state_created_at", "state", "created_at"),
        Index("ix_feedback_item_account_id", "account_id"),
        Index("ix_feedback_item_recipient_id", "recipient_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    originator_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    originator_team: Mapped[str] = mapped_column(String(8))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    recipient_channel: Mapped[str | None] = mapped_column(String(512))
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    text: Mapped[str] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(16), default="chat")
    source_link: Mapped[str | None] = mapped_column(String(1000))
    survey_response_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_response.id", ondelete="SET NULL"), unique=True
    )
    state: Mapped[str] = mapped_column(String(16), default=FeedbackState.NEW.value)
    resolution: Mapped[str | None] = mapped_column(Text)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("feedback_theme.id", ondelete="SET NULL"))
    # The tone of ``text``: VADER's compound score, -1 (very negative) .. 1 (very positive).
    sentiment: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class FeedbackTransition(Base):
    """Every change of a feedback item: who moved it from which state to which, when, with what note."""

    __tablename__ = "feedback_transition"
    __table_args__ = (Index("ix_feedback_transition_item_id", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("feedback_item.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeedbackTheme(Base):
    """A recurring theme: the same tag (or near-identical text) on several accounts within a window.
    Alerted to the CX channel once; acknowledging it acknowledges its items as one."""

    __tablename__ = "feedback_theme"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
