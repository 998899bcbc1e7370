"""Remembering which platform events were handled, in the database so every replica agrees."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from storage.db import Database
from storage.models import InboundEvent
from storage.types import utcnow

KEEP_FOR = timedelta(days=2)


async def first_delivery(db: Database, source: str, event_id: str) -> bool:
    """True the first time ``event_id`` is seen from ``source``; False for any repeat."""
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(InboundEvent)
        .values(source=source, event_id=event_id, received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["source", "event_id"])
    )
    async with db.transaction() as session:
        result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def forget_old(db: Database) -> int:
    async with db.transaction() as session:
        result = await session.execute(
            delete(InboundEvent).where(InboundEvent.received_at < utcnow() - KEEP_FOR)
        )
    return int(result.rowcount)  # type: ignore[attr-defined]
