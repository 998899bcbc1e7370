"""What connectors to outside systems (a CRM, a help desk) keep between runs.

- :class:`CrmLink`: which outside record an account is. Once linked, a record finds its account by
  this row, whatever its name or external id becomes; one account is linked to at most one record per
  connector. A record archived or merged away keeps its row, with its ``state`` and the survivor's id.
- :class:`SyncCursor`: how far an incremental read of one stream (``companies``, ``deals``) got: the
  modification stamp of the last record written. It is saved in the transaction that writes the page,
  so a run that dies resumes exactly where the last written page ended.
- :class:`SyncLease`: who runs a connector's sync now. One sync of a connector at a time across every
  replica and command: the holder renews the lease while it works; a lease that ran out (its holder
  died) may be taken.
- :class:`SyncRun`: one run's report: when, how long, what it read and wrote, the last problems.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import JSONType, UTCDateTime


class LinkState(enum.StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"  # archived or deleted in the outside system; the account keeps its history
    MERGED = "merged"  # merged into another record (``merged_into``)


class SyncStatus(enum.StrEnum):
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"


class CrmLink(Base):
    __tablename__ = "crm_link"
    __table_args__ = (UniqueConstraint("connector", "account_id"),)

    connector: Mapped[str] = mapped_column(String(32), primary_key=True)
    crm_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default=LinkState.ACTIVE.value)
    merged_into: Mapped[str | None] = mapped_column(String(64))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A digest of the health values last written back to the record: unchanged values are not sent again.
    written: Mapped[str | None] = mapped_column(String(32))


class SyncCursor(Base):
    __tablename__ = "sync_cursor"

    connector: Mapped[str] = mapped_column(String(32), primary_key=True)
    stream: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[str] = mapped_column(String(512))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SyncLease(Base):
    __tablename__ = "sync_lease"

    connector: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)


class SyncRun(Base):
    __tablename__ = "sync_run"
    __table_args__ = (Index("ix_sync_run_connector_started_at", "connector", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connector: Mapped[str] = mapped_column(String(32))
    full: Mapped[bool] = mapped_column(Boolean)
    dry_run: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType)
    problems: Mapped[list[Any]] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
