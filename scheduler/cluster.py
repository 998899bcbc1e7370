"""One run per schedule across replicas: every replica runs the same scheduler, and on PostgreSQL the
database decides which of them does each cluster-wide job (the nightly recompute, reminders, alerts,
escalation, themes, outcome checks, retention) and builds each digest.

A run is a :class:`storage.models.ScheduledRun` row keyed by job and period: the scheduled fire time
for a job, the digest's period for a digest. The replica that inserts it runs the work and keeps its
lease renewed; the others wait until the row is finished, and take it over if the lease runs out
first (the replica running it died), so a crash delays a run by about a lease but never loses it. A
run that fails is released at once, so a waiting replica tries it.

On SQLite (one process by design) nothing is claimed: the work simply runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from datetime import datetime, timedelta

from apscheduler.triggers.base import BaseTrigger
from sqlalchemy import select, tuple_

from bot.log import get_logger
from storage import scheduled_runs
from storage.db import Database
from storage.models import ScheduledRun
from storage.scheduled_runs import Key

log = get_logger("touchpoint.scheduler")

RUN_LEASE = timedelta(seconds=60)
WAIT_POLL_SECONDS = 5.0
# How late a job may start after its scheduled time and still be found to belong to it (APScheduler
# runs a job at most ``misfire_grace_time``, 300 s, late).
FIRE_WINDOW = timedelta(minutes=6)


def new_holder() -> str:
    """A name for one scheduler: host, process and a random part (two in one process differ)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def last_fire_time(
    trigger: BaseTrigger, now: datetime, *, window: timedelta = FIRE_WINDOW
) -> datetime | None:
    """The trigger's last fire time at or before ``now``, looking back at most ``window``."""
    last = None
    moment = trigger.get_next_fire_time(None, now - window)
    while moment is not None and moment <= now:
        last = moment
        moment = trigger.get_next_fire_time(moment, moment + timedelta(microseconds=1))
    return last


def run_period(trigger: BaseTrigger, now: datetime) -> str:
    """The period a job run belongs to: its scheduled fire time (the minute of ``now`` when it was run
    by hand, outside its schedule)."""
    fire = last_fire_time(trigger, now)
    if fire is None:
        fire = now.replace(second=0, microsecond=0)
    return fire.isoformat()


class ClusterRuns:
    """Claims runs for one scheduler (``holder``) on ``db``; ``enabled`` defaults to PostgreSQL only."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime],
        enabled: bool | None = None,
        holder: str | None = None,
        lease: timedelta = RUN_LEASE,
        poll_seconds: float = WAIT_POLL_SECONDS,
    ) -> None:
        self.db = db
        self.clock = clock
        self.enabled = (not db.is_sqlite) if enabled is None else enabled
        self.holder = holder or new_holder()
        self.lease = lease
        self.poll_seconds = poll_seconds

    async def share(self, keys: Collection[Key], work: Callable[[set[Key]], Awaitable[object]]) -> set[Key]:
        """Run ``work`` for the keys this replica gets, until every key is finished by someone.
        Returns the keys ``work`` ran for here (all of them when claiming is off)."""
        if not self.enabled:
            await work(set(keys))
            return set(keys)
        ran: set[Key] = set()
        pending = set(keys)
        while pending:
            won = await scheduled_runs.claim(
                self.db, pending, holder=self.holder, now=self.clock(), lease=self.lease
            )
            if won:
                async with self._renewing(won):
                    try:
                        await work(won)
                    except BaseException:
                        await scheduled_runs.release(self.db, won, holder=self.holder, now=self.clock())
                        raise
                await scheduled_runs.finish(self.db, won, holder=self.holder, now=self.clock())
                ran |= won
            pending = await self._unfinished(pending - won)
            if pending:
                log.info("scheduler_waiting_for_other_replica", runs=len(pending))
                await asyncio.sleep(self.poll_seconds)
        return ran

    async def _unfinished(self, keys: set[Key]) -> set[Key]:
        if not keys:
            return set()
        async with self.db.sessions() as session:
            rows = await session.execute(
                select(ScheduledRun.job, ScheduledRun.period).where(
                    tuple_(ScheduledRun.job, ScheduledRun.period).in_(sorted(keys)),
                    ScheduledRun.finished_at.is_(None),
                )
            )
            return {(job, period) for job, period in rows.all()}

    @contextlib.asynccontextmanager
    async def _renewing(self, keys: set[Key]) -> AsyncIterator[None]:
        """Keep the lease on ``keys`` while the work runs (three renewals per lease)."""

        async def renew() -> None:
            while True:
                await asyncio.sleep(self.lease.total_seconds() / 3)
                try:
                    await scheduled_runs.renew(
                        self.db, keys, holder=self.holder, now=self.clock(), lease=self.lease
                    )
                except Exception:
                    log.exception("scheduler_run_renewal_failed")

        task = asyncio.create_task(renew())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
