"""The scheduled syncs ``touchpoint serve`` runs, handed to the scheduler by the composition root (the
scheduler never imports adapters): per connector set up with a token and an ``every`` that is not
"off", an incremental sync every ``every`` and, for the CRMs, a full one nightly (it also notices
archived records and renewal deals, which an incremental sync does not read). Zendesk's incremental
export and Segment's counting see every change as it comes, so they need no nightly full run.

Every replica schedules them; the connector's lease lets one run at a time, and a replica that finds
it taken skips that turn."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from adapters.connectors.errors import ConnectorError
from adapters.connectors.runs import SyncBusy
from adapters.connectors.setup import Configured, scheduled, sync_once
from bot.log import get_logger
from storage.db import Database

log = get_logger("touchpoint.connectors")

FULL_AT = {"hour": 1, "minute": 15}
NIGHTLY_FULL = ("hubspot", "salesforce")
AddJob = Callable[[str, Callable[[], Awaitable[bool]], BaseTrigger], None]


def schedule_syncs(
    add_job: AddJob, db: Database, settings: Any, *, clock: Callable[[], datetime]
) -> list[str]:
    """Add the sync jobs of every scheduled connector; answers their job ids."""
    added = []
    for connector in scheduled(settings):
        assert connector.config.every is not None
        seconds = connector.config.every.total_seconds()
        every = IntervalTrigger(seconds=seconds, start_date=clock() + connector.config.every, timezone=UTC)
        jobs: list[tuple[str, BaseTrigger, bool]] = [(f"sync:{connector.name}", every, False)]
        if connector.name in NIGHTLY_FULL:
            jobs.append((f"sync:{connector.name}:full", CronTrigger(**FULL_AT, timezone=UTC), True))
        for job_id, trigger, full in jobs:
            add_job(job_id, _job(db, connector, settings, clock=clock, full=full), trigger)
            added.append(job_id)
    return added


def _job(
    db: Database, connector: Configured, settings: Any, *, clock: Callable[[], datetime], full: bool
) -> Callable[[], Awaitable[bool]]:
    async def work() -> bool:
        try:
            outcome = await sync_once(
                db,
                connector,
                full=full,
                dry_run=False,
                clock=clock,
                default_timezone=settings.default_timezone,
            )
        except SyncBusy:
            log.info("sync_skipped", connector=connector.name, reason="another sync is running")
            return False
        except ConnectorError as exc:
            log.warning("sync_failed", connector=connector.name, error=str(exc))
            return False
        if outcome.error:
            log.warning("sync_failed", connector=connector.name, error=outcome.error)
        return False

    return work
