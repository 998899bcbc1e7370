"""Looking after the outbox: counts for ``/metrics`` and ``touchpoint outbox status``, dead rows back in
line, and sent rows dropped after the retention period.

Every count reads one partial index (``ix_outbox_message_pending``, ``_dead``, ``_sent``) with the
status as a literal in the SQL, never a bound parameter: a planner can only use a partial index when
it can see that the query's condition implies the index's, and a parameter hides the value.

Retention in two steps, because an idempotency key must outlive the message it names: a renewal
reminder's key stays due for 30 days, an overdue follow-up's for as long as it stays open, and a key
that disappears would queue the same message again. So after ``retention`` a sent row loses its
content (the message and any chart images: nearly all of its size) and keeps its key; the bare row is
deleted after :data:`KEY_HORIZON`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, literal_column, select, update

from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus

# How long the key of a sent message is kept (its content goes earlier): longer than any window in
# which a scheduled job could produce the same key again.
KEY_HORIZON = timedelta(days=400)
PURGE_BATCH = 500


def status_is(status: OutboxStatus) -> ColumnElement[bool]:
    """``status = 'pending'`` with the value written into the SQL, so a partial index can serve it."""
    return OutboxMessage.status == literal_column(f"'{status.value}'")


@dataclass(frozen=True, slots=True)
class OutboxStats:
    pending: int
    due: int
    dead: int
    sent: int | None  # None when not counted (the /metrics scrape does not need it)
    oldest_due_at: datetime | None


async def stats(db: Database, *, now: datetime, count_sent: bool = True) -> OutboxStats:
    """Pending, due, dead (and sent) counts and the oldest due time, each read from its own index."""
    pending_rows = status_is(OutboxStatus.PENDING)
    async with db.sessions() as session:
        pending = await session.scalar(select(func.count()).where(pending_rows))
        due, oldest = (
            await session.execute(
                select(func.count(), func.min(OutboxMessage.next_attempt_at)).where(
                    pending_rows, OutboxMessage.next_attempt_at <= now
                )
            )
        ).one()
        dead = await session.scalar(select(func.count()).where(status_is(OutboxStatus.DEAD)))
        sent = None
        if count_sent:
            sent = await session.scalar(select(func.count()).where(status_is(OutboxStatus.SENT)))
    return OutboxStats(
        pending=int(pending or 0),
        due=int(due),
        dead=int(dead or 0),
        sent=None if sent is None else int(sent),
        oldest_due_at=oldest,
    )


async def retry_dead(db: Database, *, now: datetime) -> int:
    """Give every dead row another round of attempts (``touchpoint outbox retry``)."""
    async with db.transaction() as session:
        result = await session.execute(
            update(OutboxMessage)
            .where(status_is(OutboxStatus.DEAD))
            .values(
                status=OutboxStatus.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                claimed_until=None,
                claim_token=None,
            )
        )
    return _count(result)


@dataclass(frozen=True, slots=True)
class Purged:
    emptied: int  # sent rows whose content was dropped
    deleted: int  # bare rows past the key horizon, deleted


async def purge_sent(
    db: Database,
    *,
    now: datetime,
    retention: timedelta,
    horizon: timedelta = KEY_HORIZON,
    batch: int = PURGE_BATCH,
) -> Purged:
    """Drop the content of rows sent more than ``retention`` ago and delete those sent more than
    ``horizon`` ago, ``batch`` rows per transaction (short locks, bounded memory)."""
    sent = status_is(OutboxStatus.SENT)
    empty_cutoff, delete_cutoff = now - retention, now - max(horizon, retention)
    emptied = 0
    while True:
        ids = (
            select(OutboxMessage.id)
            .where(sent, OutboxMessage.purged_at.is_(None), OutboxMessage.sent_at < empty_cutoff)
            .limit(batch)
            .scalar_subquery()
        )
        async with db.transaction() as session:
            done = _count(
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids))
                    .values(payload={}, purged_at=now)
                    .execution_options(synchronize_session=False)
                )
            )
        emptied += done
        if done < batch:
            break
    deleted = 0
    while True:
        old = (
            select(OutboxMessage.id)
            .where(sent, OutboxMessage.sent_at < delete_cutoff)
            .limit(batch)
            .scalar_subquery()
        )
        async with db.transaction() as session:
            done = _count(
                await session.execute(
                    delete(OutboxMessage)
                    .where(OutboxMessage.id.in_(old))
                    .execution_options(synchronize_session=False)
                )
            )
        deleted += done
        if done < batch:
            break
    return Purged(emptied=emptied, deleted=deleted)


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
