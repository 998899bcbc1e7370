"""The scheduler ``touchpoint serve`` runs: APScheduler jobs with explicit time zones.

- ``digest:{id}``: one job per active digest subscription, at its local time (DST-correct cron).
- ``digests:catch-up``: once on start, the digests missed while Touchpoint was down (within the grace).
- ``subscriptions:refresh``: re-reads the subscriptions every 5 minutes, so replicas converge; the
  digest handlers call ``BotContext.subscriptions_changed`` (set by :meth:`Scheduler.start`) to run it now.
- ``reminders``: due follow-ups and milestones, every 15 minutes.
- ``health:daily``: the health recompute at 02:00 UTC, then the alerts it calls for.
- ``outcomes:daily``: success-plan outcomes reached or missed, at 02:30 UTC (owners hear of achievements).
- ``inbound:cleanup``: forgets old inbound event ids, daily.
- ``feedback:escalate``: feedback still unacknowledged after 1 and 3 business days, every 30 minutes.
- ``feedback:themes``: recurring feedback across accounts, alerted to the CX channel, every 30 minutes.
- ``channels:feed``: followed accounts' events to the channels following them, every 2 minutes.
- ``outbox:retention``: sent messages' content dropped after ``TOUCHPOINT_OUTBOX_RETENTION_DAYS``,
  daily at 03:45 UTC.
- Jobs the composition root adds with :meth:`Scheduler.add_job`: ``sync:{connector}`` (incremental,
  every ``[connectors.*] every``) and ``sync:{connector}:full`` (nightly at 01:15 UTC).

Every replica runs the same scheduler. The outbox's idempotency keys keep each post to one; on
PostgreSQL the cluster-wide jobs (all but the refresh) and each digest also run on one replica per
schedule (:mod:`scheduler.cluster`), so the nightly work is not done once per replica.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from functools import partial
from typing import Any

import structlog
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobEvent
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.core.context import BotContext
from bot.feedback.config import load_feedback_config
from bot.log import get_logger
from bot.metrics import Metrics
from scheduler.channel_feed import post_channel_events
from scheduler.cluster import ClusterRuns, run_period
from scheduler.digest_batch import DigestBatcher, run_digests
from scheduler.feedback_jobs import detect_themes, escalate_unacknowledged
from scheduler.jobs import (
    DIGEST_JOB_PREFIX,
    DigestBuilder,
    DigestOutcome,
    DigestRun,
    active_subscriptions,
    catch_up_missed,
    daily_health,
    digest_trigger,
    forget_inbound_events,
    purge_delivered,
    subscription_zone,
)
from scheduler.outcome_jobs import check_outcomes
from scheduler.reminders import enqueue_due_reminders
from storage.models import DigestSubscription

log = get_logger("touchpoint.scheduler")

CATCH_UP_JOB = "digests:catch-up"
REFRESH_JOB = "subscriptions:refresh"
REMINDERS_JOB = "reminders"
HEALTH_JOB = "health:daily"
OUTCOMES_JOB = "outcomes:daily"
CLEANUP_JOB = "inbound:cleanup"
ESCALATE_JOB = "feedback:escalate"
THEMES_JOB = "feedback:themes"
RETENTION_JOB = "outbox:retention"
FEED_JOB = "channels:feed"
REFRESH_EVERY = timedelta(minutes=5)
# Jobs that do cluster-wide work: one replica runs each scheduled run (the refresh is per replica;
# the catch-up and the digests claim each digest on its own).
CLUSTER_JOBS = frozenset(
    {
        REMINDERS_JOB,
        HEALTH_JOB,
        OUTCOMES_JOB,
        CLEANUP_JOB,
        ESCALATE_JOB,
        THEMES_JOB,
        RETENTION_JOB,
        FEED_JOB,
    }
)

Work = Callable[[], Awaitable[bool]]  # a job's body: True when it queued something to send
RUN_OK = "ok"
RUN_FAILED = "failed"


def _nothing() -> None:
    pass


def digest_job_id(subscription_id: int) -> str:
    return f"{DIGEST_JOB_PREFIX}{subscription_id}"


def job_kind(job_id: str) -> str:
    """The job's name for metrics: every ``digest:{id}`` counts as ``digest``."""
    return "digest" if job_id.startswith(DIGEST_JOB_PREFIX) else job_id


def _spec(subscription: DigestSubscription) -> tuple[object, ...]:
    """What a digest job's trigger depends on: a job is replaced only when this changes."""
    return (subscription.cadence, subscription.weekday, subscription.at_time, subscription.timezone)


class Scheduler:
    """``on_enqueued`` is called after a job queued messages (``serve`` wakes the delivery worker)."""

    def __init__(
        self,
        ctx: BotContext,
        *,
        grace: timedelta | None = None,
        builder: DigestBuilder | None = None,
        on_enqueued: Callable[[], object] | None = None,
        metrics: Metrics | None = None,
        cluster: ClusterRuns | None = None,
    ) -> None:
        self.ctx = ctx
        self.cluster = cluster or ClusterRuns(ctx.db, clock=ctx.now)
        self._triggers: dict[str, Any] = {}
        self.grace = grace if grace is not None else timedelta(minutes=ctx.settings.digest_grace_minutes)
        self.builder = builder
        self.on_enqueued = on_enqueued
        self.aps = AsyncIOScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
        )
        self._digest_specs: dict[str, tuple[object, ...]] = {}
        self._digests = DigestBatcher(self._digest_batch)
        self.metrics = metrics
        self.aps.add_listener(self._on_job_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)

    # --------------------------------------------------------------------------------- lifecycle

    async def start(self, *, paused: bool = False) -> None:
        """Schedule every job and start; ``paused`` schedules without running anything (tests)."""
        now = self.ctx.now()
        self._add(
            REFRESH_JOB,
            self._refresh,
            IntervalTrigger(seconds=REFRESH_EVERY.total_seconds(), start_date=now + REFRESH_EVERY),
        )
        self._add(REMINDERS_JOB, self._reminders, CronTrigger(minute="*/15", timezone=UTC))
        self._add(HEALTH_JOB, self._health, CronTrigger(hour=2, minute=0, timezone=UTC))
        self._add(OUTCOMES_JOB, self._outcomes, CronTrigger(hour=2, minute=30, timezone=UTC))
        self._add(CLEANUP_JOB, self._cleanup, CronTrigger(hour=3, minute=30, timezone=UTC))
        self._add(ESCALATE_JOB, self._escalate, CronTrigger(minute="5,35", timezone=UTC))
        self._add(THEMES_JOB, self._themes, CronTrigger(minute="20,50", timezone=UTC))
        self._add(RETENTION_JOB, self._retention, CronTrigger(hour=3, minute=45, timezone=UTC))
        self._add(FEED_JOB, self._feed, CronTrigger(minute="*/2", timezone=UTC))
        self._add(CATCH_UP_JOB, self._catch_up, DateTrigger())  # at once, by the wall clock
        await self.refresh_jobs()
        self.aps.start(paused=paused)
        self.ctx.subscriptions_changed = self.refresh_soon
        log.info("scheduler_started", digests=len(self._digest_specs), grace=str(self.grace))

    def shutdown(self) -> None:
        """Stop scheduling; a job still running is cancelled (what it queued stays queued)."""
        self.ctx.subscriptions_changed = _nothing
        if self.aps.running:
            self.aps.shutdown(wait=False)
            log.info("scheduler_stopped")

    def add_job(self, job_id: str, work: Work, trigger: Any) -> None:
        """Schedule a job the composition root brings (a connector's sync: the scheduler does not know
        connectors). ``work`` answers True when it queued messages. Such a job is not claimed per
        schedule period: it keeps its own guard against running twice (a connector's sync lease)."""
        self._add(job_id, work, trigger)

    def refresh_soon(self) -> None:
        if self.aps.running:
            self.aps.modify_job(REFRESH_JOB, next_run_time=self.ctx.now())

    # ------------------------------------------------------------------------------------- jobs

    def _add(self, job_id: str, work: Work, trigger: Any, **options: Any) -> None:
        """Add or replace a job; its first run is computed from the context's clock (APScheduler would
        read the wall clock), so the schedule follows the same "now" as everything else."""
        first = trigger.get_next_fire_time(None, self.ctx.now())
        if first is not None:
            options["next_run_time"] = first
        self._triggers[job_id] = trigger
        self.aps.add_job(
            self._run,
            trigger,
            args=[job_id, work],
            id=job_id,
            replace_existing=True,
            **options,
        )

    async def _run(self, job_id: str, work: Work) -> str:
        """Run one job; every line it logs carries ``job`` and a ``run_id``. Returns the outcome
        (``ok`` or ``failed``), which :meth:`_on_job_event` counts."""
        with structlog.contextvars.bound_contextvars(job=job_id, run_id=uuid.uuid4().hex[:12]):
            try:
                queued = await self._once_in_cluster(job_id, work)
            except Exception:
                log.exception("scheduler_job_failed", job=job_id)
                return RUN_FAILED
            if queued and self.on_enqueued is not None:
                self.on_enqueued()
            return RUN_OK

    async def _once_in_cluster(self, job_id: str, work: Work) -> bool:
        """Run a cluster-wide job here only if this replica gets its run for the current schedule
        period (another replica runs it otherwise); any other job simply runs."""
        trigger = self._triggers.get(job_id)
        if job_id not in CLUSTER_JOBS or trigger is None:
            return await work()
        queued: list[bool] = []

        async def body(_runs: object) -> None:
            queued.append(await work())

        run = (job_id, run_period(trigger, self.ctx.now()))
        if not await self.cluster.share([run], body):
            log.info("scheduler_job_ran_elsewhere", job=job_id, period=run[1])
        return any(queued)

    def _on_job_event(self, event: JobEvent) -> None:
        if self.metrics is None:
            return
        job = job_kind(str(event.job_id))
        if event.code == EVENT_JOB_MISSED:
            self.metrics.job_missed(job=job)
            log.warning("scheduler_job_missed", job=event.job_id)
        elif event.code == EVENT_JOB_ERROR:
            self.metrics.job_run(job=job, outcome=RUN_FAILED)
        else:
            outcome = getattr(event, "retval", None)
            self.metrics.job_run(job=job, outcome=outcome if outcome in (RUN_OK, RUN_FAILED) else RUN_OK)

    async def refresh_jobs(self) -> None:
        """One job per active subscription: new ones added, changed ones rescheduled, others removed."""
        wanted: set[str] = set()
        for subscription in await active_subscriptions(self.ctx.db):
            job_id = digest_job_id(subscription.id)
            wanted.add(job_id)
            spec = _spec(subscription)
            if self._digest_specs.get(job_id) == spec:
                continue  # unchanged: replacing it would only move its next run
            self._digest_specs[job_id] = spec
            zone = subscription_zone(subscription, default=self.ctx.settings.default_timezone)
            try:
                trigger = digest_trigger(subscription, zone=zone)
            except ValueError as error:
                log.warning("digest_not_scheduled", subscription_id=subscription.id, reason=str(error))
                self._remove(job_id)
                continue
            self._add(
                job_id,
                partial(self._digest, subscription.id),
                trigger,
                misfire_grace_time=max(1, int(self.grace.total_seconds())),
            )
            log.info("digest_scheduled", subscription_id=subscription.id, trigger=str(trigger))
        for job_id in set(self._digest_specs) - wanted:
            del self._digest_specs[job_id]
            self._remove(job_id)
            log.info("digest_unscheduled", job=job_id)

    def _remove(self, job_id: str) -> None:
        with contextlib.suppress(JobLookupError):
            self.aps.remove_job(job_id)

    async def _refresh(self) -> bool:
        await self.refresh_jobs()
        return False

    async def _digest(self, subscription_id: int) -> bool:
        """One subscription's job; it joins the digests firing at the same moment (see
        :mod:`scheduler.digest_batch`)."""
        run = await self._digests.submit(subscription_id)
        return run.outcome is DigestOutcome.ENQUEUED

    async def _digest_batch(self, subscription_ids: list[int]) -> dict[int, DigestRun]:
        return await run_digests(
            self.ctx, subscription_ids, now=self.ctx.now(), builder=self.builder, cluster=self.cluster
        )

    async def _catch_up(self) -> bool:
        runs = await catch_up_missed(
            self.ctx, now=self.ctx.now(), grace=self.grace, builder=self.builder, cluster=self.cluster
        )
        return any(run.outcome is DigestOutcome.ENQUEUED for run in runs)

    async def _reminders(self) -> bool:
        await enqueue_due_reminders(self.ctx.db, now=self.ctx.now())
        return True

    async def _health(self) -> bool:
        await daily_health(self.ctx, now=self.ctx.now())
        return True

    async def _outcomes(self) -> bool:
        now = self.ctx.now()
        check = await check_outcomes(self.ctx.db, day=self.ctx.local_date(now), now=now)
        return bool(check.demonstrated)

    async def _escalate(self) -> bool:
        config = load_feedback_config(self.ctx.settings)
        stats = await escalate_unacknowledged(
            self.ctx.db,
            now=self.ctx.now(),
            business_days=config.escalate_after_business_days,
            strongly_negative=config.strongly_negative,
        )
        return bool(stats.reminded or stats.to_manager)

    async def _themes(self) -> bool:
        config = load_feedback_config(self.ctx.settings)
        stats = await detect_themes(
            self.ctx.db,
            now=self.ctx.now(),
            cx_channel=config.cx_channel,
            min_accounts=config.theme_min_accounts,
            window_days=config.theme_days,
        )
        return bool(stats.alerted)

    async def _feed(self) -> bool:
        stats = await post_channel_events(self.ctx, now=self.ctx.now())
        return bool(stats.enqueued)

    async def _cleanup(self) -> bool:
        await forget_inbound_events(self.ctx)
        return False

    async def _retention(self) -> bool:
        retention = timedelta(days=self.ctx.settings.outbox_retention_days)
        await purge_delivered(self.ctx, now=self.ctx.now(), retention=retention)
        return False
