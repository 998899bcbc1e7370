"""What the scheduler runs: digests, missed digests on start, the daily health recompute and its
alerts, and the clean-up of old inbound events (reminders are :mod:`scheduler.reminders`).

Every job only queues messages in the outbox; the delivery worker posts them. A digest's outbox row
carries the idempotency key ``digest:{subscription}:{period}``, the period being the local date (in
the subscription's time zone) of the scheduled fire time, so a double fire, a restart or several
replicas on one database post a digest once per period. With a :class:`scheduler.cluster.ClusterRuns`
only one replica builds it, too (the run ``digest:{subscription}`` for that period).
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select, update

from bot.core.context import BotContext
from bot.digests.build import build_digest
from bot.health.service import recompute
from bot.log import get_logger
from bot.recipients import TEAMS_PERSON_PREFIX
from bot.serialize import outbox_message, reply_to_dict
from bot.types import Address, Platform, Reply
from scheduler.alerts import enqueue_health_alerts, note_recoveries
from scheduler.cluster import ClusterRuns
from storage import changes, outbox, pacing, scheduled_runs
from storage.db import Database
from storage.inbound import forget_old
from storage.models import DigestCadence, DigestSubscription, OutboxMessage, Person

log = get_logger("touchpoint.scheduler")

DIGEST_PURPOSE = "digest"
DIGEST_JOB_PREFIX = "digest:"
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How far back to look for a subscription's last scheduled time: more than a week, for weekly digests.
LOOKBACK = timedelta(days=8)


class Digest(Protocol):
    """What a digest builder returns: the message, and the images it refers to as attachment://NAME."""

    @property
    def reply(self) -> Reply: ...

    @property
    def images(self) -> Mapping[str, bytes]: ...


class DigestBuilder(Protocol):
    def __call__(
        self, ctx: BotContext, subscription: DigestSubscription, *, now: datetime
    ) -> Awaitable[Digest | None]: ...


class DigestOutcome(StrEnum):
    ENQUEUED = "enqueued"
    ALREADY_QUEUED = "already_queued"  # this period's digest is in the outbox already
    EMPTY = "empty"  # the builder had nothing to say
    NO_RECIPIENT = "no_recipient"  # nowhere to send it (a person without an id on that platform)
    INACTIVE = "inactive"  # no such subscription, or switched off
    ELSEWHERE = "elsewhere"  # another replica built this period's digest


@dataclass(frozen=True, slots=True)
class DigestRun:
    subscription_id: int
    outcome: DigestOutcome
    period: str | None = None


# ------------------------------------------------------------------------------------------- timing


def subscription_zone(subscription: DigestSubscription, *, default: str) -> ZoneInfo:
    """The subscription's time zone; the default zone (logged) when it names none that exists."""
    try:
        return ZoneInfo(subscription.timezone)
    except (KeyError, ValueError):
        log.warning("digest_unknown_timezone", subscription_id=subscription.id, zone=subscription.timezone)
        return ZoneInfo(default)


def digest_trigger(subscription: DigestSubscription, *, zone: ZoneInfo) -> CronTrigger:
    """The cron trigger of a subscription, at its local time in ``zone`` (DST moves it in UTC).
    Raises ValueError for a time or cadence that cannot be scheduled."""
    hour, _, minute = subscription.at_time.partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise ValueError(f"at_time {subscription.at_time!r} is not HH:MM")
    if subscription.cadence == DigestCadence.DAILY:
        days = "*"
    elif subscription.cadence == DigestCadence.WEEKDAYS:
        days = "mon-fri"
    elif subscription.cadence == DigestCadence.WEEKLY:
        weekday = subscription.weekday
        if weekday is None or not 0 <= weekday < len(WEEKDAY_NAMES):
            raise ValueError(f"weekly digest without a weekday (0-6): {weekday!r}")
        days = WEEKDAY_NAMES[weekday]
    else:
        raise ValueError(f"unknown cadence {subscription.cadence!r}")
    return CronTrigger(day_of_week=days, hour=int(hour), minute=int(minute), timezone=zone)


def previous_fire_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The trigger's last scheduled time at or before ``now`` (within :data:`LOOKBACK`)."""
    last: datetime | None = None
    candidate: datetime | None = trigger.get_next_fire_time(None, now - LOOKBACK)
    while candidate is not None and candidate <= now:
        last = candidate
        candidate = trigger.get_next_fire_time(candidate, candidate + timedelta(seconds=1))
    return last


def period_key(fire_time: datetime, zone: ZoneInfo) -> str:
    """A digest's period: the local date of its scheduled time."""
    return fire_time.astimezone(zone).date().isoformat()


def digest_key(subscription_id: int, period: str) -> str:
    return f"digest:{subscription_id}:{period}"


def digest_run(subscription_id: int, period: str) -> scheduled_runs.Key:
    """The cluster-wide run that builds a subscription's digest for a period."""
    return (f"{DIGEST_JOB_PREFIX}{subscription_id}", period)


# ---------------------------------------------------------------------------------------- digests


async def active_subscriptions(db: Database) -> list[DigestSubscription]:
    async with db.sessions() as session:
        rows = await session.execute(
            select(DigestSubscription)
            .where(DigestSubscription.active.is_(True))
            .order_by(DigestSubscription.id)
        )
        return list(rows.scalars())


async def _queued(db: Database, key: str) -> bool:
    async with db.sessions() as session:
        found = await session.execute(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key))
        return found.first() is not None


async def digest_address(db: Database, subscription: DigestSubscription) -> Address | None:
    """Where a subscription's digest goes: its channel, or its person's DM on its platform."""
    slack_id = None
    if subscription.platform == Platform.SLACK.value and subscription.person_id is not None:
        async with db.sessions() as session:
            slack_id = await session.scalar(
                select(Person.slack_user_id).where(Person.id == subscription.person_id)
            )
    return subscription_address(subscription, slack_id)


def subscription_address(subscription: DigestSubscription, slack_user_id: str | None) -> Address | None:
    """:func:`digest_address` once the person's Slack user id (if any) is known."""
    try:
        platform = Platform(subscription.platform)
    except ValueError:
        return None
    if subscription.channel:
        return Address(platform=platform, target=subscription.channel, private=False)
    if subscription.person_id is None:
        return None
    if platform is Platform.TEAMS:
        return Address(platform=platform, target=f"{TEAMS_PERSON_PREFIX}{subscription.person_id}")
    if platform is Platform.SLACK:
        return Address(platform=platform, target=slack_user_id) if slack_user_id else None
    return None


def digest_payload(digest: Digest) -> dict[str, Any]:
    """The outbox payload: the reply, and the images it shows (base64) for senders that upload them."""
    payload = reply_to_dict(digest.reply)
    if digest.images:
        payload["images"] = {name: base64.b64encode(data).decode() for name, data in digest.images.items()}
    return payload


async def run_digest(
    ctx: BotContext,
    subscription_id: int,
    *,
    now: datetime,
    fire_time: datetime | None = None,
    builder: DigestBuilder | None = None,
    cluster: ClusterRuns | None = None,
) -> DigestRun:
    """Build one subscription's digest and queue it for the period of ``fire_time`` (default: its last
    scheduled time at or before ``now``), once: a period already queued is left alone, and with a
    ``cluster`` a period another replica builds is left to it."""
    db = ctx.db
    async with db.sessions() as session:
        subscription = await session.get(DigestSubscription, subscription_id)
    if subscription is None or not subscription.active:
        log.info("digest_inactive", subscription_id=subscription_id)
        return DigestRun(subscription_id, DigestOutcome.INACTIVE)
    zone = subscription_zone(subscription, default=ctx.settings.default_timezone)
    if fire_time is None:
        fire_time = previous_fire_time(digest_trigger(subscription, zone=zone), now) or now
    period = period_key(fire_time, zone)
    key = digest_key(subscription_id, period)
    if await _queued(db, key):
        return DigestRun(subscription_id, DigestOutcome.ALREADY_QUEUED, period)
    address = await digest_address(db, subscription)
    if address is None:
        log.warning("digest_no_recipient", subscription_id=subscription_id, platform=subscription.platform)
        return DigestRun(subscription_id, DigestOutcome.NO_RECIPIENT, period)
    if cluster is None:
        return await _build_and_queue(ctx, subscription, address, period, now=now, builder=builder)
    runs: list[DigestRun] = []

    async def work(_runs: object) -> None:
        runs.append(await _build_and_queue(ctx, subscription, address, period, now=now, builder=builder))

    await cluster.share([digest_run(subscription_id, period)], work)
    return runs[0] if runs else DigestRun(subscription_id, DigestOutcome.ELSEWHERE, period)


async def _build_and_queue(
    ctx: BotContext,
    subscription: DigestSubscription,
    address: Address,
    period: str,
    *,
    now: datetime,
    builder: DigestBuilder | None,
) -> DigestRun:
    db, subscription_id = ctx.db, subscription.id
    digest = await (builder or build_digest)(ctx, subscription, now=now)
    if digest is None:
        log.info("digest_empty", subscription_id=subscription_id, period=period)
        return DigestRun(subscription_id, DigestOutcome.EMPTY, period)
    key = digest_key(subscription_id, period)
    message = outbox_message(key, DIGEST_PURPOSE, address, digest_payload(digest))
    new = await outbox.enqueue(db, [message], now=now)
    async with db.transaction() as session:
        await session.execute(
            update(DigestSubscription)
            .where(DigestSubscription.id == subscription_id)
            .values(last_sent_period=period)
        )
    if not new:  # another scheduler queued it while this one was building
        return DigestRun(subscription_id, DigestOutcome.ALREADY_QUEUED, period)
    log.info("digest_enqueued", subscription_id=subscription_id, period=period)
    return DigestRun(subscription_id, DigestOutcome.ENQUEUED, period)


async def catch_up_missed(
    ctx: BotContext,
    *,
    now: datetime,
    grace: timedelta,
    builder: DigestBuilder | None = None,
    cluster: ClusterRuns | None = None,
) -> list[DigestRun]:
    """On start: send each subscription's last scheduled digest that was never queued, if it is at most
    ``grace`` late; log the later ones as skipped."""
    runs = []
    for subscription in await active_subscriptions(ctx.db):
        zone = subscription_zone(subscription, default=ctx.settings.default_timezone)
        try:
            fire_time = previous_fire_time(digest_trigger(subscription, zone=zone), now)
        except ValueError:
            continue  # logged when its job was (not) scheduled
        if fire_time is None or fire_time < subscription.created_at:
            continue
        period = period_key(fire_time, zone)
        key = digest_key(subscription.id, period)
        if subscription.last_sent_period == period or await _queued(ctx.db, key):
            continue
        late = now - fire_time
        if late > grace:
            log.warning(
                "digest_missed_skipped",
                subscription_id=subscription.id,
                period=period,
                late_minutes=int(late.total_seconds() // 60),
            )
            continue
        log.info("digest_missed_sending", subscription_id=subscription.id, period=period)
        runs.append(
            await run_digest(
                ctx, subscription.id, now=now, fire_time=fire_time, builder=builder, cluster=cluster
            )
        )
    return runs


# ---------------------------------------------------------------------------------- daily and other


async def daily_health(ctx: BotContext, *, now: datetime) -> None:
    """Recompute today's health snapshots, then queue the alerts they call for and write on recent red
    alerts whose account left red."""
    day = ctx.local_date(now)
    summary = await recompute(ctx.db, day, model=ctx.health_model)
    log.info("health_recomputed", day=day.isoformat(), accounts=summary.accounts)
    await enqueue_health_alerts(ctx.db, day=day, now=now)
    await note_recoveries(ctx.db, day=day, now=now)


async def forget_inbound_events(ctx: BotContext) -> None:
    """Daily upkeep: forget the ids of inbound events old enough that no retry can repeat them, and
    the change marks no cache can still need (PostgreSQL keeps one per writing transaction)."""
    removed = await forget_old(ctx.db)
    marks = await changes.forget_old(ctx.db)
    log.info("inbound_events_forgotten", count=removed, change_marks=marks)


async def purge_delivered(ctx: BotContext, *, now: datetime, retention: timedelta) -> None:
    """Daily upkeep: drop the content of messages sent longer than ``retention`` ago (and the rows of
    very old ones, see :mod:`storage.outbox_upkeep`), pacing slots no longer used, and the records
    of scheduled runs older than the retention period."""
    purged = await outbox.purge_sent(ctx.db, now=now, retention=retention)
    idle = await pacing.forget_idle(ctx.db, before=now - timedelta(days=1))
    runs = await scheduled_runs.forget_before(ctx.db, before=now - max(retention, timedelta(days=2)))
    log.info(
        "outbox_purged", emptied=purged.emptied, deleted=purged.deleted, pace_keys=idle, scheduled_runs=runs
    )
