"""Many replicas, one job: two schedulers on one PostgreSQL database run each cluster-wide job once per
schedule and build each digest once; a run that fails, or whose replica died, is taken over."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select, update

from bot.core.context import BotContext
from bot.digests.build import build_digest
from bot.digests.csm import build_csm_digests
from bot.digests.parts import Digest
from scheduler import digest_batch
from scheduler.cluster import ClusterRuns, last_fire_time, run_period
from scheduler.digest_batch import run_digests
from scheduler.jobs import DigestRun, digest_run
from scheduler.runner import HEALTH_JOB, REMINDERS_JOB, Scheduler
from storage import scheduled_runs
from storage.db import Database
from storage.models import DigestSubscription, OutboxMessage, Person, ScheduledRun
from tests.factories import seed_team, settings_for

HEALTH_TIME = datetime(2026, 11, 25, 2, 0, 3, tzinfo=UTC)  # 3 seconds after the nightly recompute fired
DIGEST_TIME = datetime(2026, 11, 25, 14, 0, 5, tzinfo=UTC)  # 09:00 in New York, 5 seconds late


@pytest.fixture
def postgres(db: Database) -> Database:
    if db.is_sqlite:
        pytest.skip("replicas share a PostgreSQL database; on SQLite there is one process")
    return db


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Work:
    """A job body that counts its runs; ``fail`` makes the next run raise."""

    def __init__(self) -> None:
        self.runs = 0
        self.fail = False

    async def __call__(self) -> bool:
        await asyncio.sleep(0)  # let the other replica interleave here
        self.runs += 1
        if self.fail:
            self.fail = False
            raise RuntimeError("the job broke")
        return True


def replica(db: Database, clock: Clock) -> Scheduler:
    ctx = BotContext(db=db, settings=settings_for(db), clock=clock)
    return Scheduler(ctx, cluster=ClusterRuns(db, clock=clock, poll_seconds=0.01))


@pytest.fixture
def frozen() -> Iterator[None]:
    with time_machine.travel(HEALTH_TIME, tick=False):
        yield


async def started(*schedulers: Scheduler) -> None:
    for scheduler in schedulers:
        await scheduler.start(paused=True)


async def test_two_replicas_run_the_nightly_job_once(postgres: Database, frozen: None) -> None:
    clock = Clock(HEALTH_TIME)
    first, second = replica(postgres, clock), replica(postgres, clock)
    await started(first, second)
    try:
        work = Work()
        outcomes = await asyncio.gather(first._run(HEALTH_JOB, work), second._run(HEALTH_JOB, work))
        assert list(outcomes) == ["ok", "ok"] and work.runs == 1
        clock.now += timedelta(minutes=2)  # a replica whose job fired late: the same run, done
        assert await second._run(HEALTH_JOB, work) == "ok" and work.runs == 1
        clock.now = HEALTH_TIME + timedelta(days=1)  # the next night is a new run
        assert await second._run(HEALTH_JOB, work) == "ok" and work.runs == 2
    finally:
        first.shutdown()
        second.shutdown()
    async with postgres.sessions() as session:
        runs = (await session.execute(select(ScheduledRun.job, ScheduledRun.period))).all()
    assert sorted(runs) == [
        (HEALTH_JOB, "2026-11-25T02:00:00+00:00"),
        (HEALTH_JOB, "2026-11-26T02:00:00+00:00"),
    ]


async def test_a_failed_run_is_taken_over_by_the_waiting_replica(postgres: Database, frozen: None) -> None:
    clock = Clock(HEALTH_TIME)
    first, second = replica(postgres, clock), replica(postgres, clock)
    await started(first, second)
    try:
        work = Work()
        work.fail = True
        outcomes = await asyncio.gather(first._run(REMINDERS_JOB, work), second._run(REMINDERS_JOB, work))
        assert sorted(outcomes) == ["failed", "ok"] and work.runs == 2
    finally:
        first.shutdown()
        second.shutdown()


async def test_a_run_whose_replica_died_is_taken_over_after_its_lease(postgres: Database) -> None:
    period = "2026-11-25T02:00:00+00:00"
    claimed = await scheduled_runs.claim(
        postgres, [(HEALTH_JOB, period)], holder="gone", now=HEALTH_TIME, lease=timedelta(seconds=60)
    )
    assert claimed == {(HEALTH_JOB, period)}  # ...and that replica is killed mid-run
    clock = Clock(HEALTH_TIME + timedelta(seconds=5))
    cluster = ClusterRuns(postgres, clock=clock, poll_seconds=0.01)
    ran: list[object] = []

    async def work(keys: object) -> None:
        ran.append(keys)

    waiting = asyncio.create_task(cluster.share([(HEALTH_JOB, period)], work))
    await asyncio.sleep(0.05)  # it polls while the dead replica's lease runs
    assert ran == [] and not waiting.done()
    clock.now += timedelta(seconds=60)
    assert await asyncio.wait_for(waiting, timeout=10) == {(HEALTH_JOB, period)}
    assert ran == [{(HEALTH_JOB, period)}]


async def test_on_sqlite_nothing_is_claimed(sqlite_db: Database) -> None:
    cluster = ClusterRuns(sqlite_db, clock=lambda: HEALTH_TIME)
    assert not cluster.enabled
    work = Work()
    assert await cluster.share([(HEALTH_JOB, "p")], lambda _keys: work()) == {(HEALTH_JOB, "p")}
    async with sqlite_db.sessions() as session:
        assert (await session.execute(select(ScheduledRun))).first() is None


def test_a_run_belongs_to_its_scheduled_fire_time() -> None:
    from apscheduler.triggers.cron import CronTrigger

    every_quarter = CronTrigger(minute="*/15", timezone=UTC)
    late = datetime(2026, 11, 25, 10, 19, 30, tzinfo=UTC)
    assert last_fire_time(every_quarter, late) == datetime(2026, 11, 25, 10, 15, tzinfo=UTC)
    assert run_period(every_quarter, late) == "2026-11-25T10:15:00+00:00"
    nightly = CronTrigger(hour=2, minute=0, timezone=UTC)
    by_hand = datetime(2026, 11, 25, 15, 42, 10, tzinfo=UTC)  # far from any fire time
    assert run_period(nightly, by_hand) == "2026-11-25T15:42:00+00:00"


# ------------------------------------------------------------------------------------------ digests


async def test_two_replicas_build_each_digest_once(
    postgres: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = await seed_team(postgres)
    async with postgres.transaction() as session:
        await session.execute(update(Person).where(Person.id == team.maya).values(slack_user_id="U0MAYA"))
    mine = await subscribe(postgres, platform="slack", person_id=team.maya, scope="mine")
    channel = await subscribe(
        postgres, platform="slack", channel="C0TEAM", created_by_id=team.jonas, scope="team"
    )
    built_for: list[str] = []  # subscriptions built one by one, and people whose CSM digest was built

    async def build(ctx: BotContext, subscription: DigestSubscription, *, now: datetime) -> Digest | None:
        built_for.append(str(subscription.id))
        return await build_digest(ctx, subscription, now=now)

    async def build_csm(
        ctx: BotContext, person_ids: list[int], *, today: date, since: date
    ) -> dict[int, Digest]:
        built_for.extend(f"person {p}" for p in person_ids)
        return await build_csm_digests(ctx, person_ids, today=today, since=since)

    monkeypatch.setattr(digest_batch, "build_digest", build)
    monkeypatch.setattr(digest_batch, "build_csm_digests", build_csm)
    ctx = BotContext(db=postgres, settings=settings_for(postgres), clock=lambda: DIGEST_TIME)

    def one_replica() -> Awaitable[dict[int, DigestRun]]:
        cluster = ClusterRuns(postgres, clock=lambda: DIGEST_TIME, poll_seconds=0.01)
        return run_digests(ctx, [mine, channel], now=DIGEST_TIME, cluster=cluster)

    runs = await asyncio.gather(one_replica(), one_replica())

    assert sorted(built_for) == sorted([str(channel), f"person {team.maya}"])  # each built once
    outcomes = sorted(run.outcome.value for replica_runs in runs for run in replica_runs.values())
    assert outcomes == ["elsewhere", "elsewhere", "enqueued", "enqueued"]
    async with postgres.sessions() as session:
        keys = sorted((await session.execute(select(OutboxMessage.idempotency_key))).scalars())
        finished = await session.scalars(
            select(ScheduledRun.job).where(ScheduledRun.finished_at.is_not(None))
        )
        assert sorted(finished) == sorted(digest_run(i, "2026-11-25")[0] for i in (mine, channel))
    assert keys == sorted(f"digest:{i}:2026-11-25" for i in (mine, channel))


async def subscribe(db: Database, **fields: object) -> int:
    async with db.transaction() as session:
        subscription = DigestSubscription(
            cadence="daily", at_time="09:00", timezone="America/New_York", **fields
        )
        session.add(subscription)
        await session.flush()
        return subscription.id
