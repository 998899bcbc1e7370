"""What Touchpoint sends without being asked, and where: the outbox of messages to send, scheduled
digest subscriptions, health alerts already sent, and the Teams conversations it can post to."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import JSONType, UTCDateTime, utcnow


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class OutboxMessage(Base):
    """A message to send, stored before any API call so nothing is lost on a crash or a restart.

    ``idempotency_key`` names the purpose and period ("digest:12:2026-11-25"); its unique constraint is
    what makes a double fire, a restart or a second replica post once. ``claimed_until`` is a lease
    held by the worker whose ``claim_token`` the row carries: a worker that dies mid-send leaves the row
    to be picked up again when the lease ends, and a worker that lost its lease can no longer record an
    outcome. ``send_started_at`` is set when a send begins and cleared once its outcome is known: a row
    that still has it when claimed again may already be on the platform (see :mod:`bot.delivery`).
    ``edit_of``: see :mod:`storage.models.living`.
    ``purged_at``: when a sent row's content was dropped after the retention period; the row itself
    stays a while longer, so its key still stops the same message being queued again.

    The partial indexes hold only the rows each question is about (pending, dead, sent), so claiming
    and the ``/metrics`` gauges never read the sent rows that make up most of the table.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index(
            "ix_outbox_message_pending",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index(
            "ix_outbox_message_dead",
            "id",
            postgresql_where=text("status = 'dead'"),
            sqlite_where=text("status = 'dead'"),
        ),
        Index(
            "ix_outbox_message_sent",
            "sent_at",
            postgresql_where=text("status = 'sent'"),
            sqlite_where=text("status = 'sent'"),
        ),
        Index(
            "ix_outbox_message_unpurged",
            "sent_at",
            postgresql_where=text("status = 'sent' AND purged_at IS NULL"),
            sqlite_where=text("status = 'sent' AND purged_at IS NULL"),
        ),
        Index("ix_outbox_message_edit_of", "edit_of"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    purpose: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str] = mapped_column(String(16))
    address: Mapped[dict[str, Any]] = mapped_column(JSONType)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    send_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(255))
    # An edit: the outbox key of the post this row rewrites in place (its platform id is looked up
    # when the edit is sent, so an edit queued before its post went out waits for it).
    edit_of: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DigestCadence(enum.StrEnum):
    DAILY = "daily"
    WEEKDAYS = "weekdays"
    WEEKLY = "weekly"


class DigestScope(enum.StrEnum):
    TEAM = "team"
    MINE = "mine"
    SEGMENT = "segment"


class DigestSubscription(Base):
    """A scheduled digest: where it goes (a channel, or a person's DM), what it covers, and when.

    ``channel`` is the platform's channel or conversation id for a channel digest; ``person_id`` is
    the recipient of a DM digest. The time is local to ``timezone`` (DST-correct cron triggers).
    """

    __tablename__ = "digest_subscription"
    __table_args__ = (Index("ix_digest_subscription_active", "active"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    platform: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(512))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(16), default=DigestScope.MINE.value)
    segment: Mapped[str | None] = mapped_column(String(64))
    cadence: Mapped[str] = mapped_column(String(16), default=DigestCadence.WEEKDAYS.value)
    weekday: Mapped[int | None] = mapped_column(Integer)  # 0 = Monday, for weekly digests
    at_time: Mapped[str] = mapped_column(String(5), default="09:00")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sent_period: Mapped[str | None] = mapped_column(String(32))


class HealthAlert(Base):
    """A health alert sent for an account, so the same kind is not repeated within a week."""

    __tablename__ = "health_alert"
    __table_args__ = (Index("ix_health_alert_account_id_kind_day", "account_id", "kind", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)
    # The day a red alert's account left red again (its message then says so).
    recovered_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TeamsConversation(Base):
    """A Microsoft Teams conversation Touchpoint was installed in or spoken to in: its Bot Framework
    conversation reference, so the bot can post there later without being asked (digests, reminders).

    ``conversation_id`` is the conversation without any ``;messageid=`` thread suffix. ``user_aad_id``
    is the person's Azure AD object id in a personal chat (how :func:`send_to_person` finds it).
    """

    __tablename__ = "teams_conversation"
    __table_args__ = (Index("ix_teams_conversation_user_aad_id", "user_aad_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(512), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    service_url: Mapped[str] = mapped_column(String(500))
    bot_id: Mapped[str] = mapped_column(String(200))
    user_aad_id: Mapped[str | None] = mapped_column(String(64))
    # A channel's membership type as Teams last said it ("standard", "private", "shared"): a shared
    # channel may hold people of other organisations, so account data stays out of it unless allowed.
    membership: Mapped[str | None] = mapped_column(String(16))
    reference: Mapped[dict[str, Any]] = mapped_column(JSONType)
    welcomed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
