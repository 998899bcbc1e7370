"""Outbox rows: enqueue once per idempotency key, claim due rows, record the outcome.

Claiming is one ``UPDATE ... RETURNING`` that takes a lease on rows nobody holds and stamps them with
a fresh claim token; on PostgreSQL the candidate rows are picked with ``FOR UPDATE SKIP LOCKED`` so
several workers never wait on, or take, each other's rows. Everything a worker records afterwards
(:func:`renew`, :func:`begin_send`, :func:`mark_sent`, :func:`mark_failed`) is conditional on that token:
a worker whose lease ran out and was taken over cannot overwrite what the new holder does, and learns
that it lost the row (the functions return False).

A send in flight is marked (``send_started_at``) until its outcome is recorded, so a row claimed again
after a crash says that it may already be on the platform (:attr:`Claimed.in_doubt_since`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import LivingMessage, OutboxMessage, OutboxStatus
from storage.outbox_upkeep import OutboxStats, Purged, purge_sent, retry_dead, stats, status_is

__all__ = [
    "Claimed",
    "NewMessage",
    "OutboxStats",
    "Purged",
    "begin_send",
    "claim",
    "enqueue",
    "enqueue_in",
    "enqueue_new_keys",
    "mark_failed",
    "mark_sent",
    "purge_sent",
    "renew",
    "retry_dead",
    "stats",
]


@dataclass(frozen=True, slots=True)
class NewMessage:
    idempotency_key: str
    purpose: str
    platform: str
    address: dict[str, Any]
    payload: dict[str, Any]
    not_before: datetime | None = None
    edit_of: str | None = None  # the outbox key of the post this message rewrites (see storage.living)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    idempotency_key: str
    purpose: str
    platform: str
    address: dict[str, Any]
    payload: dict[str, Any]
    attempts: int
    claim_token: str = ""
    # When an earlier send of this row began and its outcome was never recorded (the worker died or
    # lost its lease mid-send, or the answer never came): the message may be on the platform already.
    in_doubt_since: datetime | None = None
    edit_of: str | None = None


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
            "edit_of": m.edit_of,
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
        status_is(OutboxStatus.PENDING),
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )


async def claim(db: Database, *, now: datetime, limit: int, lease: timedelta) -> list[Claimed]:
    """Take a lease on up to ``limit`` due rows, oldest due first, under a new claim token."""
    token = uuid.uuid4().hex
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
        .values(claimed_until=now + lease, claim_token=token)
        .returning(
            OutboxMessage.id,
            OutboxMessage.idempotency_key,
            OutboxMessage.purpose,
            OutboxMessage.platform,
            OutboxMessage.address,
            OutboxMessage.payload,
            OutboxMessage.attempts,
            OutboxMessage.claim_token,
            OutboxMessage.send_started_at,
            OutboxMessage.edit_of,
        )
        .execution_options(synchronize_session=False)
    )
    async with db.transaction() as session:
        rows = (await session.execute(statement)).all()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def _held_by(message_id: int, token: str) -> Any:
    return and_(
        OutboxMessage.id == message_id,
        status_is(OutboxStatus.PENDING),
        OutboxMessage.claim_token == token,
    )


async def renew(db: Database, ids: Sequence[int], *, token: str, now: datetime, lease: timedelta) -> set[int]:
    """Extend the lease on the rows of ``ids`` still held under ``token``; returns those ids."""
    if not ids:
        return set()
    async with db.transaction() as session:
        result = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(list(ids)),
                status_is(OutboxStatus.PENDING),
                OutboxMessage.claim_token == token,
            )
            .values(claimed_until=now + lease)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        )
        return set(result.scalars())


async def begin_send(db: Database, message_id: int, *, token: str, now: datetime, lease: timedelta) -> bool:
    """Just before a send: check the row is still held under ``token``, renew the lease (so no other
    worker can take it while the send may still land), and mark the send as in flight. False: the
    row was lost to another worker and must not be sent."""
    async with db.transaction() as session:
        result = await session.execute(
            update(OutboxMessage)
            .where(_held_by(message_id, token))
            .values(claimed_until=now + lease, send_started_at=now)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        )
        return result.first() is not None


async def mark_sent(
    db: Database,
    message_id: int,
    *,
    token: str,
    now: datetime,
    external_id: str | None,
    key: str | None = None,
) -> bool:
    """Record the send. Allowed while the row is held under ``token``, or held by nobody (the lease
    ended and no one took it over yet: the send still happened). False: another worker holds the row
    now, and will find the message on the platform (Slack) or may send it again (Teams). With its
    ``key``, a living message's platform id is recorded in the same transaction."""
    free = or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)
    async with db.transaction() as session:
        result = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                status_is(OutboxStatus.PENDING),
                or_(OutboxMessage.claim_token == token, free),
            )
            .values(
                status=OutboxStatus.SENT.value,
                sent_at=now,
                claimed_until=None,
                send_started_at=None,
                attempts=OutboxMessage.attempts + 1,
                external_id=external_id,
                last_error=None,
            )
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        )
        recorded = result.first() is not None
        if key is not None and external_id:
            await session.execute(
                update(LivingMessage)
                .where(LivingMessage.outbox_key == key, LivingMessage.message_id.is_(None))
                .values(message_id=external_id)
                .execution_options(synchronize_session=False)
            )
        return recorded


async def mark_failed(
    db: Database,
    message_id: int,
    *,
    token: str,
    error: str,
    retry_at: datetime | None,
    count_attempt: bool = True,
    in_doubt: bool = True,
) -> bool:
    """Record a failed (or deferred) attempt: retry at ``retry_at``, or give up (dead) when it is None.
    ``in_doubt=False`` says the platform refused the message, so it is certainly not there: the in-flight
    mark goes. False: the row is no longer held under ``token`` (nothing is changed)."""
    values: dict[str, Any] = {"claimed_until": None, "claim_token": None, "last_error": error[:2000]}
    if count_attempt:
        values["attempts"] = OutboxMessage.attempts + 1
    if not in_doubt:
        values["send_started_at"] = None
    if retry_at is None:
        values["status"] = OutboxStatus.DEAD.value
    else:
        values["next_attempt_at"] = retry_at
    async with db.transaction() as session:
        result = await session.execute(
            update(OutboxMessage)
            .where(_held_by(message_id, token))
            .values(**values)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        )
        return result.first() is not None
