"""The tables Touchpoint keeps, as typed SQLAlchemy 2.x models.

Natural keys (emails, external ids, account/day/metric) are unique so imports and the ingest API can
upsert: sending the same data twice changes nothing.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import JSONType, UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Role(enum.StrEnum):
    CSM = "csm"
    CS_MANAGER = "cs_manager"
    CX = "cx"
    ADMIN = "admin"


class LifecycleStage(enum.StrEnum):
    ONBOARDING = "onboarding"
    ADOPTING = "adopting"
    MATURE = "mature"
    RENEWING = "renewing"
    CHURNED = "churned"


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


class Band(enum.StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    UNKNOWN = "unknown"


def _enum_values(e: type[enum.StrEnum]) -> list[str]:
    return [m.value for m in e]


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), index=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    slack_user_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    teams_user_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    manager: Mapped[Person | None] = relationship(remote_side=[id], lazy="raise")


class Account(Base):
    __tablename__ = "account"
    __table_args__ = (
        Index("ix_account_owner_id_renewal_date", "owner_id", "renewal_date"),
        Index("ix_account_renewal_date", "renewal_date"),
        # name_key is the case- and accent-free name; text_pattern_ops lets PostgreSQL use it for LIKE 'x%'.
        Index("ix_account_name_key", "name_key", postgresql_ops={"name_key": "text_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))
    segment: Mapped[str | None] = mapped_column(String(64))
    tier: Mapped[str | None] = mapped_column(String(64))
    arr: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    lifecycle_stage: Mapped[str | None] = mapped_column(String(20))
    contract_start: Mapped[date | None] = mapped_column(Date)
    renewal_date: Mapped[date | None] = mapped_column(Date)
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


class HealthSnapshot(Base):
    """One health result per account per day; score is NULL when there was too little data to score."""

    __tablename__ = "health_snapshot"
    __table_args__ = (Index("ix_health_snapshot_day_band", "day", "band"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    score: Mapped[float | None] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(8))
    confidence: Mapped[float] = mapped_column(Float)
    components: Mapped[dict[str, Any]] = mapped_column(JSONType)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(Base):
    """Who did what to which object, when, and from where."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_object", "object_type", "object_id"),
        Index("ix_audit_event_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(200))
    platform: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class InboundEvent(Base):
    """Platform events already handled, so a retried delivery (Slack's X-Slack-Retry-Num) runs once."""

    __tablename__ = "inbound_event"
    __table_args__ = (Index("ix_inbound_event_received_at", "received_at"),)

    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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
    reference: Mapped[dict[str, Any]] = mapped_column(JSONType)
    welcomed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class OutboxMessage(Base):
    """A message to send, stored before any API call so nothing is lost on a crash or a restart.

    ``idempotency_key`` names the purpose and period ("digest:12:2026-11-25"); its unique constraint is
    what makes a double fire, a restart or a second replica post once. ``claimed_until`` is a lease: a
    worker that dies mid-send leaves the row to be picked up again when the lease ends.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_status_next_attempt_at", "status", "next_attempt_at"),)

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
    last_error: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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


class ApiToken(Base):
    """A bearer token of the ingest API. Only the SHA-256 of the secret is kept; the secret is shown
    once, when the token is created. ``kinds`` limits what it may send (None: every kind)."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kinds: Mapped[list[str] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IdempotencyRecord(Base):
    """The first answer to an ingest request sent with an ``Idempotency-Key``, per token and key, so a
    retry gets the same answer without writing twice. ``request_hash`` tells a retry from a different
    request reusing the key. Kept 24 hours."""

    __tablename__ = "idempotency_record"
    __table_args__ = (
        UniqueConstraint("token_id", "key"),
        Index("ix_idempotency_record_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_token.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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
