"""Idempotency keys of the ingest API: a key is claimed before the work starts, so two requests with one
key never both write.

:meth:`Idempotency.claim` inserts the key's row at once, in a transaction of its own: the unique
(token, key) constraint lets one request through, and the others find the row. A row still in progress
(``status`` 0) answers 409 with ``Retry-After``; a finished one replays its answer; one sent with a
different body is refused (422). The request that holds the claim stores its answer in the same
transaction as its records (:meth:`Idempotency.store`), keeps a 422 (:meth:`Idempotency.finish`), or
gives the key back when it failed otherwise (:meth:`Idempotency.release`), so a retry can run. A claim
left behind by a process that died is taken over after :data:`STALE_CLAIM`. Rows are kept 24 hours.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import IdempotencyRecord
from storage.types import utcnow

TTL = timedelta(hours=24)
STALE_CLAIM = timedelta(minutes=10)
IN_PROGRESS = 0
RETRY_IN_PROGRESS_SECONDS = 2


@dataclass(frozen=True, slots=True)
class Earlier:
    """What an earlier request with the same key says: its answer, or that it is still running."""

    status: int
    body: dict[str, Any]

    @property
    def in_progress(self) -> bool:
        return self.status == IN_PROGRESS


class KeyReused(Exception):
    """The key was used for a different request (another body or kind)."""


class Idempotency:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, token_id: int, key: str, request_hash: str) -> Earlier | None:
        """None when this request now holds the key; else what the earlier request says.

        Raises :class:`KeyReused` when the key belongs to a different request.
        """
        for _ in range(2):  # a second round only when the row went away between the two steps
            if await self._insert(token_id, key, request_hash):
                return None
            async with self.db.transaction() as session:
                record = await session.scalar(_row(token_id, key))
                if record is None:
                    continue  # released or expired meanwhile: insert again
                if record.request_hash != request_hash:
                    raise KeyReused
                if record.status != IN_PROGRESS:
                    return Earlier(record.status, json.loads(record.body))
                if record.created_at > utcnow() - STALE_CLAIM:
                    return Earlier(IN_PROGRESS, {})
                # Left by a request that never finished: take it over, unless another request just did.
                taken = await session.execute(
                    update(IdempotencyRecord)
                    .where(
                        IdempotencyRecord.id == record.id, IdempotencyRecord.created_at == record.created_at
                    )
                    .values(created_at=utcnow())
                )
                return None if taken.rowcount == 1 else Earlier(IN_PROGRESS, {})  # type: ignore[attr-defined]
        return Earlier(IN_PROGRESS, {})

    async def _insert(self, token_id: int, key: str, request_hash: str) -> bool:
        """Insert the key's row, in progress; False when it exists already."""
        try:
            async with self.db.transaction() as session:
                await session.execute(
                    delete(IdempotencyRecord).where(IdempotencyRecord.created_at <= utcnow() - TTL)
                )
                session.add(
                    IdempotencyRecord(
                        token_id=token_id, key=key, request_hash=request_hash, status=IN_PROGRESS, body=""
                    )
                )
        except IntegrityError:
            return False
        return True

    @staticmethod
    async def store(
        session: AsyncSession, token_id: int, key: str, status: int, body: dict[str, Any]
    ) -> None:
        """Keep the answer of the request holding the key, in ``session`` (the records' transaction)."""
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.token_id == token_id, IdempotencyRecord.key == key)
            .values(status=status, body=json.dumps(body))
        )

    async def finish(self, token_id: int, key: str, status: int, body: dict[str, Any]) -> None:
        """Keep an answer given without writing records (a 422)."""
        async with self.db.transaction() as session:
            await self.store(session, token_id, key, status, body)

    async def release(self, token_id: int, key: str) -> None:
        """Give the key back after a failure that a retry may not meet (a conflict, an outage)."""
        async with self.db.transaction() as session:
            await session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.token_id == token_id,
                    IdempotencyRecord.key == key,
                    IdempotencyRecord.status == IN_PROGRESS,
                )
            )


def _row(token_id: int, key: str) -> Any:
    return select(IdempotencyRecord).where(
        IdempotencyRecord.token_id == token_id, IdempotencyRecord.key == key
    )
