"""Send slots shared by every worker on the database: each pacing key has the earliest moment its next
send may start (:class:`storage.models.DeliveryPace`).

:func:`reserve` takes the next slot of several keys at once (a platform as a whole and the channel a
message goes to): the slot starts when all of them are free, and each key moves on by its own gap (a
key with a zero gap is only read: it may carry a 429's hold). It reads the keys, then moves them
forward with one conditional upsert per key in a single transaction (keys in sorted order, so two
workers never lock them in opposite orders); if another worker moved a key in between, the
transaction is rolled back and the reservation tried again. This works the same on PostgreSQL and
SQLite and needs no lock held across the read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import DeliveryPace

MAX_TRIES = 20


class _Moved(Exception):
    """Another worker took the slot between the read and the update: read again."""


@dataclass(frozen=True, slots=True)
class Slot:
    """When the send may start; ``reserved`` is False when that was too far off to take (nothing was
    changed: the caller puts its message back for then)."""

    start: datetime
    reserved: bool


async def reserve(
    db: Database, gaps: Sequence[tuple[str, timedelta]], *, now: datetime, max_wait: timedelta
) -> Slot:
    """The next slot free on every key of ``gaps``; each key then stays taken for its gap."""
    if not gaps:
        return Slot(now, True)
    keys = sorted({key for key, _ in gaps})
    gap_of = dict(gaps)
    start = now
    for _ in range(MAX_TRIES):
        async with db.sessions() as session:
            rows = await session.execute(
                select(DeliveryPace.key, DeliveryPace.next_at).where(DeliveryPace.key.in_(keys))
            )
            current: dict[str, datetime] = {key: at for key, at in rows.all()}
        start = max([now, *current.values()])
        if start - now > max_wait:
            return Slot(start, False)
        taken = [key for key in keys if gap_of[key] > timedelta(0)]  # the others are only checked
        if not taken:
            return Slot(start, True)
        try:
            async with db.transaction() as session:
                for key in taken:
                    if not await _advance(session, key, start=start, until=start + gap_of[key]):
                        raise _Moved
        except _Moved:
            continue
        return Slot(start, True)
    return Slot(start, False)  # contended all along: come back for that moment


async def hold(db: Database, key: str, *, until: datetime) -> None:
    """Nothing under ``key`` starts before ``until`` (a 429's Retry-After, for every worker)."""
    async with db.transaction() as session:
        statement = _insert(session)(DeliveryPace).values(key=key, next_at=until)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["key"],
                set_={"next_at": statement.excluded.next_at},
                where=DeliveryPace.next_at < until,
            )
        )


async def forget_idle(db: Database, *, before: datetime) -> int:
    """Delete the keys whose last slot ended before ``before`` (a channel not posted to any more)."""
    async with db.transaction() as session:
        result = await session.execute(delete(DeliveryPace).where(DeliveryPace.next_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


async def _advance(session: AsyncSession, key: str, *, start: datetime, until: datetime) -> bool:
    """Move ``key`` to ``until`` if it is still free at ``start``; False if someone moved it."""
    statement = _insert(session)(DeliveryPace).values(key=key, next_at=until)
    result = await session.execute(
        statement.on_conflict_do_update(
            index_elements=["key"],
            set_={"next_at": statement.excluded.next_at},
            where=DeliveryPace.next_at <= start,
        ).returning(DeliveryPace.key)
    )
    return result.first() is not None


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
