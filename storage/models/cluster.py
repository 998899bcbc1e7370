"""What several replicas on one database share: send slots (pacing) and who runs a scheduled job.

- :class:`DeliveryPace`: one row per pacing key (a platform as a whole, or one channel or
  conversation) holding the earliest moment the next send may start. A worker reserves a slot by
  moving it forward in one conditional update, so the Slack budget and the per-channel pace hold for
  the whole cluster instead of per process.
- :class:`ScheduledRun`: one row per cluster-wide job and schedule period (``health:daily`` at
  ``2026-11-25T02:00:00+00:00``, ``digest:12`` for ``2026-11-25``). The replica that inserts it (or
  takes it over once its lease has ended without the run finishing) runs the job; the others skip it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UTCDateTime


class DeliveryPace(Base):
    __tablename__ = "delivery_pace"

    key: Mapped[str] = mapped_column(String(600), primary_key=True)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScheduledRun(Base):
    __tablename__ = "scheduled_run"
    __table_args__ = (Index("ix_scheduled_run_started_at", "started_at"),)

    job: Mapped[str] = mapped_column(String(128), primary_key=True)
    period: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
