"""What a channel follows, and what an admin lets into a channel shared with another organisation.

- :class:`ChannelFollow`: a channel (Slack channel, Teams channel or group chat) that follows an
  account: it gets that account's events as they happen. One row per channel and account.
- :class:`ChannelAllowance`: an admin's permission for account data in one channel that is shared
  with another organisation (Slack Connect, a Teams shared channel), with the fields they chose.
  Without a row such a channel gets no account data at all.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import JSONType, UTCDateTime, utcnow


class ChannelFollow(Base):
    __tablename__ = "channel_follow"
    __table_args__ = (
        UniqueConstraint("platform", "conversation", "account_id"),
        Index("ix_channel_follow_account_id", "account_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    conversation: Mapped[str] = mapped_column(String(512))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    followed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChannelAllowance(Base):
    __tablename__ = "channel_allowance"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    conversation: Mapped[str] = mapped_column(String(512), primary_key=True)
    fields: Mapped[list[str]] = mapped_column(JSONType)
    allowed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    allowed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
