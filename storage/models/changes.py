"""Change marks: database triggers note here that something an account card shows has changed.

Written only by the triggers of migration 0009c (see :mod:`storage.changes` for what they mean and how
caches read them), never by the application.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UTCDateTime


class ChangeMark(Base):
    """A change to ``topic`` (of one account, or of every account with ``account_id`` 0).

    On SQLite there is one row per topic and account and ``mark`` counts its changes; on PostgreSQL each
    transaction that changed it adds a row, ``mark`` being its transaction id and ``at`` when the row
    was written (old rows are forgotten, see :func:`storage.changes.forget_old`).
    """

    __tablename__ = "change_mark"

    topic: Mapped[str] = mapped_column(String(8), primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mark: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime | None] = mapped_column(UTCDateTime)
