"""Who runs a cluster-wide job for one schedule period (:class:`storage.models.ScheduledRun`).

:func:`claim` inserts one row per (job, period) and returns the ones this holder got: a row already
there is taken only when its run never finished and its lease has ended (the replica running it
died). :func:`renew` extends the lease of a run still going, :func:`finish` marks a run done, so no
one takes it again, and :func:`release` hands an unfinished run back at once (the job failed, and
another replica may try).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from storage.db import Database
from storage.models import ScheduledRun

Key = tuple[str, str]  # (job, period)


async def claim(
    db: Database, keys: Collection[Key], *, holder: str, now: datetime, lease: timedelta
) -> set[Key]:
    """The keys of ``keys`` this ``holder`` now runs."""
    if not keys:
        return set()
    insert: Any = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    rows = [
        {"job": job, "period": period, "holder": holder, "started_at": now, "lease_until": now + lease}
        for job, period in sorted(set(keys))
    ]
    statement = insert(ScheduledRun)
    statement = statement.on_conflict_do_update(
        index_elements=["job", "period"],
        set_={
            "holder": statement.excluded.holder,
            "started_at": statement.excluded.started_at,
            "lease_until": statement.excluded.lease_until,
        },
        where=and_(ScheduledRun.finished_at.is_(None), ScheduledRun.lease_until <= now),
    ).returning(ScheduledRun.job, ScheduledRun.period, ScheduledRun.holder)
    async with db.transaction() as session:
        result = await session.execute(statement, rows)
        return {(job, period) for job, period, got in result.all() if got == holder}


async def renew(db: Database, keys: Collection[Key], *, holder: str, now: datetime, lease: timedelta) -> None:
    """Extend the lease of ``holder``'s unfinished runs of ``keys`` (a long run keeps its claim)."""
    await _update(db, keys, holder, lease_until=now + lease)


async def finish(db: Database, keys: Collection[Key], *, holder: str, now: datetime) -> None:
    await _update(db, keys, holder, finished_at=now)


async def release(db: Database, keys: Collection[Key], *, holder: str, now: datetime) -> None:
    await _update(db, keys, holder, lease_until=now)


async def forget_before(db: Database, *, before: datetime) -> int:
    """Delete the runs started before ``before``: their periods are long past."""
    async with db.transaction() as session:
        result = await session.execute(delete(ScheduledRun).where(ScheduledRun.started_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


async def _update(db: Database, keys: Collection[Key], holder: str, **values: Any) -> None:
    if not keys:
        return
    async with db.transaction() as session:
        await session.execute(
            update(ScheduledRun)
            .where(
                tuple_(ScheduledRun.job, ScheduledRun.period).in_(sorted(set(keys))),
                ScheduledRun.holder == holder,
                ScheduledRun.finished_at.is_(None),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
