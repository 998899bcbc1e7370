"""Messages that live: a feedback item's or a health alert's post, edited in place as its state
changes, and the replies people write in its thread.

- :class:`LivingMessage`: one post of a subject ("feedback" 12, "alert" 34), named by the outbox key
  that posts it. ``conversation`` is where it goes (the address target: a Slack channel or user id, a
  Teams conversation or ``person:ID``); ``content`` what it shows now; ``message_id`` is the
  platform's id once it is posted (Slack's ``ts``, Teams' activity id), written when the outbox
  records the send. Later states of the subject are queued as edits of that post
  (``OutboxMessage.edit_of``).
- :class:`ThreadReply`: something a registered person wrote in the thread of a living message: part of
  the subject's history and of its account's timeline. ``(platform, message_id)`` is unique, so a
  platform delivering the same event twice stores it once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import JSONType, UTCDateTime, utcnow


class LivingMessage(Base):
    __tablename__ = "living_message"
    __table_args__ = (
        Index("ix_living_message_subject", "subject_kind", "subject_id"),
        Index("ix_living_message_platform_message_id", "platform", "message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(Integer)
    outbox_key: Mapped[str] = mapped_column(String(255), unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    conversation: Mapped[str] = mapped_column(String(512))
    message_id: Mapped[str | None] = mapped_column(String(255))
    # What the post shows now (a serialized reply): an edit that changes only part of it starts here.
    content: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ThreadReply(Base):
    __tablename__ = "thread_reply"
    __table_args__ = (
        UniqueConstraint("platform", "message_id"),
        Index("ix_thread_reply_account_id_at", "account_id", "at"),
        Index("ix_thread_reply_subject", "subject_kind", "subject_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    platform: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(1000))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
