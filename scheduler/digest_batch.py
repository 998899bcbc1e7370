"""Digests that fire at the same moment, built together.

Every subscription has its own scheduler job, but many share a trigger: a thousand CSMs with the
default "weekdays 09:00" in one time zone fire together. Built one by one, each CSM digest costs its
own few queries (about 20-40 ms at 20,000 accounts), so the last one would wait half a minute; built
together, the CSM digests of a whole group take the same few queries per batch of people
(:func:`bot.digests.build_csm_digests`). :class:`DigestBatcher` gathers the jobs that fire within a
short window and :func:`run_digests` builds and queues them, with the same outcomes, idempotency keys
and outbox rows as :func:`scheduler.jobs.run_digest` gives one at a time.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.context import BotContext
from bot.digests.build import build_digest, digest_today, previous_digest_day
from bot.digests.csm import build_csm_digests
from bot.digests.parts import Digest
from bot.log import get_logger
from bot.serialize import outbox_message
from bot.types import Address
from scheduler.cluster import ClusterRuns
from scheduler.jobs import (
    DIGEST_PURPOSE,
    DigestBuilder,
    DigestOutcome,
    DigestRun,
    digest_key,
    digest_payload,
    digest_run,
    digest_trigger,
    period_key,
    previous_fire_time,
    run_digest,
    subscription_address,
    subscription_zone,
)
from storage import outbox
from storage.models import DigestScope, DigestSubscription, OutboxMessage, Person

log = get_logger("touchpoint.scheduler")

# Jobs firing within this many seconds of the first one are built in the same batch.
BATCH_WINDOW_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class _Planned:
    """One subscription of the batch that needs building: where it goes and under which key."""

    subscription: DigestSubscription
    period: str
    key: str
    address: Address


async def run_digests(
    ctx: BotContext,
    subscription_ids: Sequence[int],
    *,
    now: datetime,
    builder: DigestBuilder | None = None,
    cluster: ClusterRuns | None = None,
) -> dict[int, DigestRun]:
    """Build and queue the digests of ``subscription_ids`` for the period each last fired in; with a
    ``cluster``, only those this replica claims (the others are built by another replica).

    A custom ``builder`` (tests, previews) is called for each subscription on its own, as
    :func:`run_digest` does.
    """
    ids = sorted(set(subscription_ids))
    if builder is not None:
        return {i: await run_digest(ctx, i, now=now, builder=builder, cluster=cluster) for i in ids}
    runs: dict[int, DigestRun] = {}
    planned = await _plan(ctx, ids, now, runs)
    if cluster is None:
        await _build_and_queue(ctx, planned, now, runs)
        return runs
    by_run = {digest_run(item.subscription.id, item.period): item for item in planned}

    async def work(won: set[tuple[str, str]]) -> None:
        await _build_and_queue(ctx, [by_run[key] for key in sorted(won)], now, runs)

    built_here = await cluster.share(by_run, work)
    for key, item in by_run.items():
        if key not in built_here:
            runs[item.subscription.id] = DigestRun(item.subscription.id, DigestOutcome.ELSEWHERE, item.period)
    return runs


async def _build_and_queue(
    ctx: BotContext, planned: Sequence[_Planned], now: datetime, runs: dict[int, DigestRun]
) -> None:
    """Build ``planned`` and queue what has something to say; each outcome goes into ``runs``."""
    digests = await _build(ctx, planned, now)
    messages: list[outbox.NewMessage] = []
    for item in planned:
        digest = digests.get(item.subscription.id)
        if digest is None:
            log.info("digest_empty", subscription_id=item.subscription.id, period=item.period)
            runs[item.subscription.id] = DigestRun(item.subscription.id, DigestOutcome.EMPTY, item.period)
            continue
        messages.append(outbox_message(item.key, DIGEST_PURPOSE, item.address, digest_payload(digest)))
    new_keys = await outbox.enqueue_new_keys(ctx.db, messages, now=now)
    built = [item for item in planned if item.subscription.id not in runs]
    await _mark_sent(ctx, built)
    for item in built:
        # A key that was not new: another scheduler queued it while this one was building.
        outcome = DigestOutcome.ENQUEUED if item.key in new_keys else DigestOutcome.ALREADY_QUEUED
        runs[item.subscription.id] = DigestRun(item.subscription.id, outcome, item.period)
        if outcome is DigestOutcome.ENQUEUED:
            log.info("digest_enqueued", subscription_id=item.subscription.id, period=item.period)


async def _plan(ctx: BotContext, ids: list[int], now: datetime, runs: dict[int, DigestRun]) -> list[_Planned]:
    """The subscriptions to build; the others get their outcome in ``runs`` at once."""
    async with ctx.db.sessions() as session:
        rows = await session.execute(select(DigestSubscription).where(DigestSubscription.id.in_(ids)))
        subscriptions = {s.id: s for s in rows.scalars()}
        slack_ids = await _slack_ids(session, subscriptions.values())
    keyed: list[tuple[DigestSubscription, str, str]] = []
    for subscription_id in ids:
        subscription = subscriptions.get(subscription_id)
        if subscription is None or not subscription.active:
            log.info("digest_inactive", subscription_id=subscription_id)
            runs[subscription_id] = DigestRun(subscription_id, DigestOutcome.INACTIVE)
            continue
        zone = subscription_zone(subscription, default=ctx.settings.default_timezone)
        fire_time = previous_fire_time(digest_trigger(subscription, zone=zone), now) or now
        period = period_key(fire_time, zone)
        keyed.append((subscription, period, digest_key(subscription_id, period)))
    async with ctx.db.sessions() as session:
        stmt = select(OutboxMessage.idempotency_key).where(
            OutboxMessage.idempotency_key.in_([key for _, _, key in keyed])
        )
        queued = set((await session.execute(stmt)).scalars())
    planned: list[_Planned] = []
    for subscription, period, key in keyed:
        if key in queued:
            runs[subscription.id] = DigestRun(subscription.id, DigestOutcome.ALREADY_QUEUED, period)
            continue
        person_id = subscription.person_id
        address = subscription_address(subscription, slack_ids.get(person_id) if person_id else None)
        if address is None:
            log.warning(
                "digest_no_recipient", subscription_id=subscription.id, platform=subscription.platform
            )
            runs[subscription.id] = DigestRun(subscription.id, DigestOutcome.NO_RECIPIENT, period)
            continue
        planned.append(_Planned(subscription, period, key, address))
    return planned


async def _slack_ids(
    session: AsyncSession, subscriptions: Iterable[DigestSubscription]
) -> dict[int, str | None]:
    """The Slack user ids of the subscriptions' people, in one query."""
    people = sorted({s.person_id for s in subscriptions if s.person_id is not None})
    if not people:
        return {}
    rows = await session.execute(select(Person.id, Person.slack_user_id).where(Person.id.in_(people)))
    return {person_id: slack_id for person_id, slack_id in rows.all()}


async def _build(ctx: BotContext, planned: Sequence[_Planned], now: datetime) -> dict[int, Digest | None]:
    """Every planned digest: personal ones in batches per (day, since), the others one by one."""
    digests: dict[int, Digest | None] = {}
    personal: dict[tuple[date, date], list[tuple[int, int]]] = defaultdict(list)
    for item in planned:
        subscription = item.subscription
        person_id = subscription.person_id or subscription.created_by_id
        if subscription.scope == DigestScope.MINE and person_id is not None:
            today = digest_today(ctx, subscription, now)
            personal[(today, previous_digest_day(subscription, today))].append((subscription.id, person_id))
        else:
            digests[subscription.id] = await build_digest(ctx, subscription, now=now)
    for (today, since), pairs in personal.items():
        built = await build_csm_digests(ctx, [p for _, p in pairs], today=today, since=since)
        for subscription_id, person_id in pairs:
            digests[subscription_id] = built.get(person_id)
    return digests


async def _mark_sent(ctx: BotContext, built: Sequence[_Planned]) -> None:
    by_period: dict[str, list[int]] = defaultdict(list)
    for item in built:
        by_period[item.period].append(item.subscription.id)
    if not by_period:
        return
    async with ctx.db.transaction() as session:
        for period, ids in by_period.items():
            await session.execute(
                update(DigestSubscription)
                .where(DigestSubscription.id.in_(ids))
                .values(last_sent_period=period)
            )


class DigestBatcher:
    """Collects digest jobs that fire within :data:`BATCH_WINDOW_SECONDS` and runs them as one batch.

    Each job awaits its own :class:`DigestRun`; a failure of the batch fails every job in it (each is
    logged and counted by the scheduler like any failed job).
    """

    def __init__(
        self,
        run: Callable[[list[int]], Awaitable[dict[int, DigestRun]]],
        *,
        window: float = BATCH_WINDOW_SECONDS,
    ) -> None:
        self._run = run
        self._window = window
        self._waiting: dict[int, asyncio.Future[DigestRun]] = {}
        self._flush: asyncio.Task[None] | None = None

    async def submit(self, subscription_id: int) -> DigestRun:
        future = self._waiting.get(subscription_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._waiting[subscription_id] = future
        if self._flush is None:
            self._flush = asyncio.create_task(self._flush_later())
        return await asyncio.shield(future)

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._window)
        batch, self._waiting, self._flush = self._waiting, {}, None
        try:
            runs = await self._run(sorted(batch))
        except Exception as error:
            for future in batch.values():
                if not future.done():
                    future.set_exception(error)
            return
        for subscription_id, future in batch.items():
            if future.done():
                continue
            run = runs.get(subscription_id)
            if run is None:
                future.set_result(DigestRun(subscription_id, DigestOutcome.INACTIVE))
            else:
                future.set_result(run)
