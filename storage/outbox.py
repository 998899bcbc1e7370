"""Outbox rows: enqueue once per idempotency key, claim due rows, record the outcome.

Claiming is one ``UPDATE ... RETURNING`` that takes a lease on rows nobody holds; on PostgreSQL the
candidate rows are picked with ``FOR UPDATE SKIP LOCKED`` so several workers never wait on, or take,
each other's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus


@dataclass(frozen=True, slots=True)
class NewMessage:
    idempotency_key: str
    purpose: str
    platform: str
    address: dict[str, Any]
    payload: dict[str, Any]
    not_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    idempotency_key: str
    purpose: str
    platform: str
    address: dict[str, Any]
    payload: dict[str, Any]
    attempts: int


async def enqueue(db: Database, messages: Sequence[NewMessage], *, now: datetime) -> int:
    """Store ``messages``; a key already present is left alone. Returns how many rows were new."""
    return len(await enqueue_new_keys(db, messages, now=now))


async def enqueue_new_keys(db: Database, messages: Sequence[NewMessage], *, now: datetime) -> set[str]:
    """Store ``messages`` like :func:`enqueue`; returns the idempotency keys that were new."""
    if not messages:
        return set()
    async with db.transaction() as session:
        return await enqueue_in(session, messages, now=now)


async def enqueue_in(session: AsyncSession, messages: Sequence[NewMessage], *, now: datetime) -> set[str]:
    """Store ``messages`` in the caller's transaction, so a message commits with the state change it
    announces (or not at all); a key already present is left alone. Returns the keys that were new."""
    if not messages:
        return set()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    rows = [
        {
            "idempotency_key": m.idempotency_key,
            "purpose": m.purpose,
            "platform": m.platform,
            "address": m.address,
            "payload": m.payload,
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": m.not_before or now,
            "created_at": now,
        }
        for m in messages
    ]
    # One executemany for the whole batch; RETURNING gives a row for each message actually inserted
    # (a key already present returns nothing), which is how the new ones are counted.
    statement = (
        insert(OutboxMessage)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OutboxMessage.idempotency_key)
    )
    result = await session.execute(statement, rows)
    return set(result.scalars())


def _due(now: datetime) -> Any:
    return and_(
        OutboxMessage.status == OutboxStatus.PENDING.value,
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )


async def claim(db: Database, *, now: datetime, limit: int, lease: timedelta) -> list[Claimed]:
    """Take a lease on up to ``limit`` due rows, oldest due first."""
    candidates = (
        select(OutboxMessage.id).where(_due(now)).order_by(OutboxMessage.next_attempt_at).limit(limit)
    )
    picked = candidates.cte("picked")
    if db.engine.dialect.name == "postgresql":
        # Materialized, the candidates are picked once: as an ``IN (subquery)`` PostgreSQL may run
        # the subquery again for each row, and LIMIT no longer bounds the batch.
        picked = candidates.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(select(picked.c.id)), _due(now))
        .values(claimed_until=now + lease)
        .returning(
            OutboxMessage.id,
            OutboxMessage.idempotency_key,
            OutboxMessage.purpose,
            OutboxMessage.platform,
            OutboxMessage.address,
            OutboxMessage.payload,
            OutboxMessage.attempts,
        )
        .execution_options(synchronize_session=False)
    )
    async with db.transaction() as session:
        rows = (await session.execute(statement)).all()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


async def mark_sent(db: Database, message_id: int, *, now: datetime, external_id: str | None) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(
                status=OutboxStatus.SENT.value,
                sent_at=now,
                claimed_until=None,
                attempts=OutboxMessage.attempts + 1,
                external_id=external_id,
                last_error=None,
            )
        )


async def mark_failed(
    db: Database, message_id: int, *, error: str, retry_at: datetime | None, count_attempt: bool = True
) -> None:
    """Record a failed attempt: retry at ``retry_at``, or give up (dead) when it is None."""
    values: dict[str, Any] = {"claimed_until": None, "last_error": error[:2000]}
    if count_attempt:
        values["attempts"] = OutboxMessage.attempts + 1
    if retry_at is None:
        values["status"] = OutboxStatus.DEAD.value
    else:
        values["next_attempt_at"] = retry_at
    async with db.transaction() as session:
        await session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))


@dataclass(frozen=True, slots=True)
class OutboxStats:
    pending: int
    due: int
    dead: int
    sent: int
    oldest_due_at: datetime | None


async def stats(db: Database, *, now: datetime) -> OutboxStats:
    async with db.sessions() as session:
        counts = dict(
            (
                await session.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                )
            ).all()
        )
        due, oldest = (
            await session.execute(
                select(func.count(), func.min(OutboxMessage.next_attempt_at)).where(
                    OutboxMessage.status == OutboxStatus.PENDING.value, OutboxMessage.next_attempt_at <= now
                )
            )
        ).one()
    return OutboxStats(
        pending=int(counts.get(OutboxStatus.PENDING.value, 0)),
        due=int(due),
        dead=int(counts.get(OutboxStatus.DEAD.value, 0)),
        sent=int(counts.get(OutboxStatus.SENT.value, 0)),
        oldest_due_at=oldest,
    )


async def retry_dead(db: Database, *, now: datetime) -> int:
    """Give every dead row another round of attempts (``touchpoint outbox retry``)."""
    async with db.transaction() as session:
        result = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.DEAD.value)
            .values(status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=now, claimed_until=None)
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
