"""The scheduler: DST-correct digest times, one digest per period whoever fires it, missed digests on
start, and jobs that follow subscription changes. Time is frozen with time_machine; nothing sleeps."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select, update
from structlog.testing import capture_logs

from bot.core.context import BotContext
from bot.types import Image, Reply, Text
from scheduler.jobs import (
    DigestOutcome,
    catch_up_missed,
    digest_trigger,
    previous_fire_time,
    run_digest,
)
from scheduler.runner import REFRESH_JOB, Scheduler, digest_job_id
from storage.db import Database
from storage.models import DigestSubscription, OutboxMessage
from tests.factories import add_person, settings_for

BERLIN = ZoneInfo("Europe/Berlin")
GRACE = timedelta(hours=2)


@dataclass
class StubDigest:
    reply: Reply
    images: dict[str, bytes] = field(default_factory=dict)


class StubBuilder:
    """Stands in for bot.digests.build_digest and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(
        self, ctx: BotContext, subscription: DigestSubscription, *, now: datetime
    ) -> StubDigest:
        self.calls += 1
        await asyncio.sleep(0)  # let a concurrent run interleave here
        reply = Reply(
            summary=f"Digest {subscription.id}",
            blocks=(Text("Your digest"), Image(url="attachment://chart.png", alt="chart")),
        )
        return StubDigest(reply, {"chart.png": b"\x89PNG"})


def context(db: Database, clock: datetime | None = None) -> BotContext:
    if clock is None:
        return BotContext(db=db, settings=settings_for(db))
    return BotContext(db=db, settings=settings_for(db), clock=lambda: clock)


async def add_subscription(
    db: Database,
    *,
    cadence: str = "daily",
    at_time: str = "09:00",
    timezone: str = "Europe/Berlin",
    weekday: int | None = None,
    platform: str = "slack",
    channel: str | None = None,
    created_at: datetime = datetime(2026, 1, 1, tzinfo=UTC),
) -> int:
    person_id = await add_person(
        db, f"csm{cadence}{at_time}{platform}@example.com", "Maya", "csm", slack_user_id=f"U{at_time[:2]}"
    )
    async with db.transaction() as session:
        subscription = DigestSubscription(
            platform=platform,
            channel=channel,
            person_id=None if channel else person_id,
            cadence=cadence,
            weekday=weekday,
            at_time=at_time,
            timezone=timezone,
            created_at=created_at,
        )
        session.add(subscription)
        await session.flush()
        return subscription.id


async def outbox_rows(db: Database) -> list[OutboxMessage]:
    async with db.sessions() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


def fires(subscription: DigestSubscription, start: datetime, count: int) -> list[datetime]:
    trigger = digest_trigger(subscription, zone=ZoneInfo(subscription.timezone))
    times: list[datetime] = []
    moment = trigger.get_next_fire_time(None, start)
    while len(times) < count:
        times.append(moment.astimezone(UTC))
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return times


# ------------------------------------------------------------------------------------- timing


def test_berlin_nine_oclock_is_eight_utc_in_winter_and_seven_in_summer() -> None:
    daily = DigestSubscription(id=1, cadence="daily", at_time="09:00", timezone="Europe/Berlin")
    # Summer time starts on Sunday 29 March 2026, the last Sunday of March.
    walk = fires(daily, datetime(2026, 3, 27, tzinfo=UTC), 4)
    assert [(t.day, t.hour) for t in walk] == [(27, 8), (28, 8), (29, 7), (30, 7)]
    assert all(t.astimezone(BERLIN).hour == 9 for t in walk)


def test_weekdays_skip_the_weekend_and_weekly_keeps_its_day() -> None:
    weekdays = DigestSubscription(id=1, cadence="weekdays", at_time="09:00", timezone="Europe/Berlin")
    walk = fires(weekdays, datetime(2026, 3, 27, tzinfo=UTC), 3)  # a Friday
    assert [t.astimezone(BERLIN).strftime("%a %d") for t in walk] == ["Fri 27", "Mon 30", "Tue 31"]
    weekly = DigestSubscription(
        id=2, cadence="weekly", weekday=2, at_time="17:30", timezone="America/New_York"
    )
    walk = fires(weekly, datetime(2026, 3, 1, tzinfo=UTC), 3)
    assert {t.astimezone(ZoneInfo("America/New_York")).strftime("%a %H:%M") for t in walk} == {"Wed 17:30"}


def test_previous_fire_time_is_the_last_scheduled_time_not_after_now() -> None:
    daily = DigestSubscription(id=1, cadence="weekdays", at_time="09:00", timezone="Europe/Berlin")
    trigger = digest_trigger(daily, zone=BERLIN)
    monday_noon = datetime(2026, 3, 30, 10, tzinfo=UTC)
    assert previous_fire_time(trigger, monday_noon) == datetime(2026, 3, 30, 7, tzinfo=UTC)
    monday_early = datetime(2026, 3, 30, 6, tzinfo=UTC)
    assert previous_fire_time(trigger, monday_early) == datetime(2026, 3, 27, 8, tzinfo=UTC)  # Friday


async def test_scheduled_job_fires_at_local_time_across_dst(sqlite_db: Database) -> None:
    subscription_id = await add_subscription(sqlite_db)
    builder = StubBuilder()
    with time_machine.travel(datetime(2026, 3, 28, 12, tzinfo=UTC), tick=False) as traveller:
        scheduler = Scheduler(context(sqlite_db), grace=GRACE, builder=builder)
        await scheduler.start(paused=True)
        try:
            job = scheduler.aps.get_job(digest_job_id(subscription_id))
            assert job.next_run_time == datetime(2026, 3, 29, 7, tzinfo=UTC)  # 09:00 summer time
            traveller.move_to(datetime(2026, 3, 29, 7, 0, 3, tzinfo=UTC))
            assert await scheduler._digest(subscription_id) is True
            assert await scheduler._digest(subscription_id) is False  # a second fire posts nothing
        finally:
            scheduler.shutdown()
    rows = await outbox_rows(sqlite_db)
    assert [r.idempotency_key for r in rows] == [f"digest:{subscription_id}:2026-03-29"]
    assert builder.calls == 1


# ------------------------------------------------------------------------------------ one per period


async def test_run_twice_or_by_two_schedulers_at_once_posts_once(db: Database) -> None:
    subscription_id = await add_subscription(db)
    now = datetime(2026, 11, 25, 8, 0, 1, tzinfo=UTC)  # 09:00:01 in Berlin
    builder = StubBuilder()
    first = await run_digest(context(db), subscription_id, now=now, builder=builder)
    again = await run_digest(context(db), subscription_id, now=now + timedelta(minutes=1), builder=builder)
    assert (first.outcome, again.outcome) == (DigestOutcome.ENQUEUED, DigestOutcome.ALREADY_QUEUED)
    assert first.period == "2026-11-25"

    tomorrow = now + timedelta(days=1)
    runs = await asyncio.gather(
        run_digest(context(db), subscription_id, now=tomorrow, builder=builder),
        run_digest(context(db), subscription_id, now=tomorrow, builder=builder),
    )
    assert sorted(r.outcome for r in runs) == [DigestOutcome.ALREADY_QUEUED, DigestOutcome.ENQUEUED]
    rows = await outbox_rows(db)
    assert [r.idempotency_key for r in rows] == [
        f"digest:{subscription_id}:2026-11-25",
        f"digest:{subscription_id}:2026-11-26",
    ]
    async with db.sessions() as session:
        subscription = await session.get(DigestSubscription, subscription_id)
        assert subscription is not None and subscription.last_sent_period == "2026-11-26"
    payload = rows[0].payload
    assert rows[0].purpose == "digest" and rows[0].address["target"] == "U09"
    assert base64.b64decode(payload["images"]["chart.png"]) == b"\x89PNG"


async def test_channel_and_teams_addresses(sqlite_db: Database) -> None:
    now = datetime(2026, 11, 25, 9, 0, 1, tzinfo=UTC)
    channel = await add_subscription(sqlite_db, at_time="10:00", channel="C0DIGEST")
    teams = await add_subscription(sqlite_db, at_time="11:00", platform="teams", timezone="UTC")
    await run_digest(context(sqlite_db), channel, now=now, builder=StubBuilder())
    await run_digest(context(sqlite_db), teams, now=now, builder=StubBuilder())
    addresses = [r.address for r in await outbox_rows(sqlite_db)]
    assert (addresses[0]["target"], addresses[0]["private"]) == ("C0DIGEST", False)
    assert addresses[1]["platform"] == "teams" and addresses[1]["target"].startswith("person:")


# ------------------------------------------------------------------------------------- restarts


async def test_missed_digest_within_grace_is_sent_once_and_later_ones_are_skipped(db: Database) -> None:
    await add_subscription(db)  # 09:00 Berlin, 08:00 UTC in November
    late_but_in_grace = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    builder = StubBuilder()
    runs = await catch_up_missed(context(db), now=late_but_in_grace, grace=GRACE, builder=builder)
    assert [(r.outcome, r.period) for r in runs] == [(DigestOutcome.ENQUEUED, "2026-11-25")]
    again = await catch_up_missed(context(db), now=late_but_in_grace, grace=GRACE, builder=builder)
    assert again == [] and builder.calls == 1

    too_late = datetime(2026, 11, 26, 10, 30, tzinfo=UTC)  # the next day, 2.5 hours after 09:00
    with capture_logs() as logs:
        assert await catch_up_missed(context(db), now=too_late, grace=GRACE, builder=builder) == []
    skipped = [e for e in logs if e["event"] == "digest_missed_skipped"]
    assert [(e["period"], e["late_minutes"]) for e in skipped] == [("2026-11-26", 150)]
    assert len(await outbox_rows(db)) == 1


async def test_a_subscription_made_after_its_time_is_not_caught_up(sqlite_db: Database) -> None:
    await add_subscription(sqlite_db, created_at=datetime(2026, 11, 25, 8, 30, tzinfo=UTC))
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert await catch_up_missed(context(sqlite_db), now=now, grace=GRACE, builder=StubBuilder()) == []


# ------------------------------------------------------------------------------- following changes


async def test_jobs_follow_subscription_changes(sqlite_db: Database) -> None:
    first = await add_subscription(sqlite_db)
    with time_machine.travel(datetime(2026, 11, 25, 12, tzinfo=UTC), tick=False):
        scheduler = Scheduler(context(sqlite_db), grace=GRACE, builder=StubBuilder())
        await scheduler.start(paused=True)
        try:
            assert scheduler.aps.get_job(digest_job_id(first)).next_run_time == datetime(
                2026, 11, 26, 8, tzinfo=UTC
            )
            second = await add_subscription(sqlite_db, cadence="weekdays", at_time="07:15", timezone="UTC")
            async with sqlite_db.transaction() as session:
                await session.execute(
                    update(DigestSubscription).where(DigestSubscription.id == first).values(at_time="18:00")
                )
            await scheduler.refresh_jobs()
            assert scheduler.aps.get_job(digest_job_id(first)).next_run_time == datetime(
                2026, 11, 25, 17, tzinfo=UTC
            )
            assert scheduler.aps.get_job(digest_job_id(second)) is not None
            async with sqlite_db.transaction() as session:
                await session.execute(
                    update(DigestSubscription).where(DigestSubscription.id == first).values(active=False)
                )
            await scheduler.refresh_jobs()
            assert scheduler.aps.get_job(digest_job_id(first)) is None

            scheduler.aps.modify_job(REFRESH_JOB, next_run_time=datetime(2026, 11, 25, 12, 5, tzinfo=UTC))
            scheduler.ctx.subscriptions_changed()  # what the digest handlers call: re-read at once
            assert scheduler.aps.get_job(REFRESH_JOB).next_run_time == datetime(2026, 11, 25, 12, tzinfo=UTC)
        finally:
            scheduler.shutdown()
    scheduler.ctx.subscriptions_changed()  # with no scheduler running: nothing happens


# ------------------------------------------------------------------------------------------- serve


async def test_serve_runs_the_worker_and_the_scheduler_and_stops_both(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from adapters import runtime
    from bot.settings import Settings
    from tests.teams_env import clear_teams_environment, own_logging

    clear_teams_environment(monkeypatch)
    seen: dict[str, object] = {}

    def running_coroutines() -> set[str]:
        return {task.get_coro().__qualname__ for task in asyncio.all_tasks()}  # type: ignore[union-attr]

    async def fake_serve(app: object, *, host: str, port: int, stop: asyncio.Event | None) -> None:
        seen["scheduler_running"] = [s.aps.running for s in started]
        seen["paths"] = {route.resource.canonical for route in app.router.routes()}  # type: ignore[attr-defined]
        seen["coroutines"] = running_coroutines()

    started: list[Scheduler] = []
    real_start = Scheduler.start

    async def recording_start(self: Scheduler, *, paused: bool = False) -> None:
        started.append(self)
        await real_start(self, paused=paused)

    monkeypatch.setattr(runtime, "serve", fake_serve)
    monkeypatch.setattr(Scheduler, "start", recording_start)
    config = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        config_file=tmp_path / "none.toml",
        teams_enabled=True,
    )
    with own_logging():
        await runtime.run_server(config, host="127.0.0.1", port=0)
    assert seen["scheduler_running"] == [True]
    paths = seen["paths"]
    assert isinstance(paths, set)
    assert {"/healthz", "/readyz", "/metrics", "/api/v1/openapi.json", "/api/v1/usage"} <= paths
    assert "DeliveryWorker.run_forever" in seen["coroutines"]  # type: ignore[operator]
    assert not started[0].aps.running
    assert "DeliveryWorker.run_forever" not in running_coroutines()
