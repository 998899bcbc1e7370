"""The digest benchmark: every person's DM digest and the whole team's digest firing at once, built and
queued through the scheduler's own path (``scheduler.digest_batch.run_digests``), then undone."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

from sqlalchemy import delete, select, update

from bench.common import BenchContext, Figure, median
from bot.core.context import BotContext
from bot.health.model import HealthModel
from bot.settings import Settings
from scheduler.digest_batch import run_digests
from scheduler.jobs import DIGEST_PURPOSE, DigestOutcome
from storage.db import Database
from storage.models import DigestCadence, DigestScope, DigestSubscription, OutboxMessage, Person, Role

DIGEST_TARGET_SECONDS = 15.0


def bench_settings(url: str, workdir: Path) -> Settings:
    """Settings that read no local configuration: the built-in health model, UTC."""
    return Settings(database_url=url, config_file=workdir / "no-touchpoint.toml", default_timezone="UTC")


async def digest_subscriptions(db: Database, today: date) -> tuple[list[DigestSubscription], int]:
    """Unsaved subscriptions as the scheduler would hold them: every person's DM digest (last sent
    yesterday) and the team digest of the first admin (all accounts). Also: how many are CSMs'."""
    async with db.sessions() as session:
        people = (await session.execute(select(Person.id, Person.role).order_by(Person.id))).all()
    yesterday = (today - timedelta(days=1)).isoformat()
    subscriptions = [
        DigestSubscription(
            id=person_id,
            created_by_id=person_id,
            platform="slack",
            person_id=person_id,
            scope=DigestScope.MINE.value,
            cadence=DigestCadence.WEEKDAYS.value,
            at_time="09:00",
            timezone="UTC",
            active=True,
            last_sent_period=yesterday,
        )
        for person_id, _ in people
    ]
    admin = next(person_id for person_id, role in people if role == Role.ADMIN)
    subscriptions.append(
        DigestSubscription(
            id=len(people) + 1,
            created_by_id=admin,
            platform="slack",
            channel="CTEAMDIGEST",
            scope=DigestScope.TEAM.value,
            cadence=DigestCadence.WEEKLY.value,
            weekday=today.weekday(),
            at_time="08:30",
            timezone="UTC",
            active=True,
            last_sent_period=(today - timedelta(days=7)).isoformat(),
        )
    )
    csms = sum(1 for _, role in people if role == Role.CSM)
    return subscriptions, csms


@dataclass(frozen=True, slots=True)
class DigestRun:
    seconds: float
    enqueued: int


async def _store_subscriptions(db: Database, subscriptions: Sequence[DigestSubscription]) -> list[int]:
    async with db.transaction() as session:
        session.add_all(subscriptions)
        await session.flush()
        return [s.id for s in subscriptions]


async def _forget_digests(db: Database, ids: Sequence[int], today: date) -> None:
    """Undo a run: no digest queued, every subscription last sent before today (so the next run builds
    them all again)."""
    async with db.transaction() as session:
        await session.execute(delete(OutboxMessage).where(OutboxMessage.purpose == DIGEST_PURPOSE))
        await session.execute(
            update(DigestSubscription)
            .where(DigestSubscription.id.in_(ids))
            .values(last_sent_period=(today - timedelta(days=1)).isoformat())
        )


async def digests_as_scheduled(ctx: BotContext, ids: Sequence[int], today: date) -> DigestRun:
    """Every subscription firing at once, through the scheduler's own path: ``run_digests`` builds the
    DM digests of the group in batches of people, the team digest on its own, and queues them all."""
    started = time.perf_counter()
    runs = await run_digests(ctx, ids, now=ctx.now())
    seconds = time.perf_counter() - started
    enqueued = sum(1 for r in runs.values() if r.outcome is DigestOutcome.ENQUEUED)
    await _forget_digests(ctx.db, ids, today)
    return DigestRun(seconds, enqueued)


async def digest_figures(ctx: BenchContext) -> list[Figure]:
    db = Database(ctx.url)
    try:
        nine = datetime.combine(ctx.dataset.today, clock_time(9, 0), tzinfo=UTC)
        bot_ctx = BotContext(
            db, bench_settings(ctx.url, ctx.workdir), clock=lambda: nine, health_model=HealthModel()
        )
        subscriptions, csms = await digest_subscriptions(db, ctx.dataset.today)
        ids = await _store_subscriptions(db, subscriptions)
        runs = [await digests_as_scheduled(bot_ctx, ids, ctx.dataset.today) for _ in range(ctx.runs)]
        async with db.transaction() as session:
            await session.execute(delete(DigestSubscription).where(DigestSubscription.id.in_(ids)))
    finally:
        await db.dispose()
    seconds = median([r.seconds for r in runs])
    people = len(subscriptions) - 1
    return [
        Figure(
            name=f"Digests: {people:,} DM digests and the whole team's digest, built and queued",
            backend=ctx.backend,
            target=f"< {DIGEST_TARGET_SECONDS:.0f} s",
            measured=f"{seconds:.1f} s",
            passed=seconds < DIGEST_TARGET_SECONDS and all(r.enqueued == len(ids) for r in runs),
            runs=len(runs),
            note=f"{csms:,} CSMs; scheduler path (run_digests); {runs[0].enqueued:,} queued per run",
        )
    ]
