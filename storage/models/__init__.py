"""The tables Touchpoint keeps, as typed SQLAlchemy 2.x models, one module per concept.

Natural keys (emails, external ids, account/day/metric) are unique so imports and the ingest API can
upsert: sending the same data twice changes nothing.

- ``base``: the declarative :class:`Base` and its constraint naming convention.
- ``people``: :class:`Person` and their :class:`Role`.
- ``accounts``: :class:`Account` (with its :class:`LifecycleStage`), daily :class:`UsageMetric` rows,
  daily :class:`HealthSnapshot` rows (with the health :class:`Band`) and the :class:`ArrChange` history.
- ``engagement``: :class:`SurveyResponse`, :class:`Milestone` and :class:`FollowUp`, with their kinds
  and statuses.
- ``plans``: success-plan :class:`Outcome` rows, with their status and comparison.
- ``feedback``: :class:`FeedbackItem`, :class:`FeedbackTransition` and :class:`FeedbackTheme`.
- ``delivery``: the :class:`OutboxMessage` queue, :class:`DigestSubscription`, :class:`HealthAlert`
  and :class:`TeamsConversation`.
- ``access``: ingest :class:`ApiToken` and :class:`IdempotencyRecord`, :class:`InboundEvent` and the
  :class:`AuditEvent` trail.
- ``cluster``: what replicas share: send slots (:class:`DeliveryPace`) and who runs a scheduled job
  (:class:`ScheduledRun`).
- ``renewals``: how each renewal ended (:class:`RenewalOutcome`), for retention.
- ``connectors``: what connectors to outside systems keep between runs: :class:`CrmLink`,
  :class:`SyncCursor`, :class:`SyncLease` and :class:`SyncRun` reports.
- ``sources``: what feeds usage metrics from outside: help-desk :class:`SupportTicket` rows, product
  :class:`ProductEvent` rows and which account each :class:`ProductUser` belongs to.
- ``channels``: what a channel follows (:class:`ChannelFollow`) and what an admin lets into a channel
  shared with another organisation (:class:`ChannelAllowance`).
- ``living``: posts edited in place as their subject changes (:class:`LivingMessage`) and the
  replies in their threads (:class:`ThreadReply`).
- ``changes``: :class:`ChangeMark`, written by database triggers when what an account card shows
  changes.

Everything is imported here, so ``from storage.models import X`` works for every model and enum, and
``Base.metadata`` holds every table (what Alembic compares the migrations with) once this is imported.
"""

from __future__ import annotations

from storage.models.access import ApiToken, AuditEvent, IdempotencyRecord, InboundEvent
from storage.models.accounts import Account, ArrChange, Band, HealthSnapshot, LifecycleStage, UsageMetric
from storage.models.base import NAMING_CONVENTION, Base
from storage.models.changes import ChangeMark
from storage.models.channels import ChannelAllowance, ChannelFollow
from storage.models.cluster import DeliveryPace, ScheduledRun
from storage.models.connectors import CrmLink, LinkState, SyncCursor, SyncLease, SyncRun, SyncStatus
from storage.models.delivery import (
    DigestCadence,
    DigestScope,
    DigestSubscription,
    HealthAlert,
    OutboxMessage,
    OutboxStatus,
    TeamsConversation,
)
from storage.models.engagement import (
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Milestone,
    MilestoneKind,
    SurveyKind,
    SurveyResponse,
)
from storage.models.feedback import FeedbackItem, FeedbackState, FeedbackTheme, FeedbackTransition
from storage.models.living import LivingMessage, ThreadReply
from storage.models.people import Person, Role
from storage.models.plans import Outcome, OutcomeComparison, OutcomeStatus
from storage.models.renewals import RenewalOutcome, RenewalResult
from storage.models.sources import ProductEvent, ProductUser, SupportTicket

__all__ = [
    "NAMING_CONVENTION",
    "Account",
    "ApiToken",
    "ArrChange",
    "AuditEvent",
    "Band",
    "Base",
    "ChangeMark",
    "ChannelAllowance",
    "ChannelFollow",
    "CrmLink",
    "DeliveryPace",
    "DigestCadence",
    "DigestScope",
    "DigestSubscription",
    "FeedbackItem",
    "FeedbackState",
    "FeedbackTheme",
    "FeedbackTransition",
    "FollowUp",
    "FollowUpKind",
    "FollowUpStatus",
    "HealthAlert",
    "HealthSnapshot",
    "IdempotencyRecord",
    "InboundEvent",
    "LifecycleStage",
    "LinkState",
    "LivingMessage",
    "Milestone",
    "MilestoneKind",
    "OutboxMessage",
    "OutboxStatus",
    "Outcome",
    "OutcomeComparison",
    "OutcomeStatus",
    "Person",
    "ProductEvent",
    "ProductUser",
    "RenewalOutcome",
    "RenewalResult",
    "Role",
    "ScheduledRun",
    "SupportTicket",
    "SurveyKind",
    "SurveyResponse",
    "SyncCursor",
    "SyncLease",
    "SyncRun",
    "SyncStatus",
    "TeamsConversation",
    "ThreadReply",
    "UsageMetric",
]
