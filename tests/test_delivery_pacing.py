"""The worker's pacing of a whole platform: a steady rate per minute on top of per-place pacing, shared
by every worker on the database, and a 429 that holds every send to the platform (Slack) or to the
conversation (Teams) until Retry-After instead of drawing one 429 per row."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.delivery import RATE_PER_MINUTE, DeliveryError, DeliveryWorker
from bot.serialize import address_to_dict, reply_to_dict
from bot.types import Address, Platform, Reply, Text
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def message(key: str, target: str) -> outbox.NewMessage:
    return outbox.NewMessage(
        idempotency_key=key,
        purpose="test",
        platform=Platform.SLACK.value,
        address=address_to_dict(Address(platform=Platform.SLACK, target=target)),
        payload=reply_to_dict(Reply(summary=key, blocks=(Text(key),))),
    )


class Clock:
    """A clock that stands still, except that :meth:`sleep` moves it on (and notes the wait)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.waits: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += timedelta(seconds=seconds)


class ScriptedSender:
    """Fails the first calls with the scripted errors, then succeeds; records what it posted."""

    def __init__(self, script: list[DeliveryError] | None = None) -> None:
        self.script = list(script or [])
        self.tried: list[str] = []
        self.sent: list[str] = []

    async def send(self, address: Address, reply: Reply) -> str | None:
        self.tried.append(reply.summary)
        if self.script:
            raise self.script.pop(0)
        self.sent.append(reply.summary)
        return "ts"


def test_the_platform_rate_defaults_on_only_where_pacing_is_on(sqlite_db: Database) -> None:
    sender = ScriptedSender()
    assert DeliveryWorker(sqlite_db, {Platform.SLACK: sender}).rate_per_minute == RATE_PER_MINUTE
    assert DeliveryWorker(sqlite_db, {Platform.SLACK: sender}, pacing={}).rate_per_minute == {}
    custom = DeliveryWorker(sqlite_db, {Platform.SLACK: sender}, rate_per_minute={Platform.SLACK: 60.0})
    assert custom.rate_per_minute == {Platform.SLACK: 60.0}


async def test_sends_to_different_places_keep_the_platform_rate(db: Database) -> None:
    await outbox.enqueue(db, [message(f"dm{i}", f"U{i:04d}") for i in range(4)], now=NOW)
    sender = ScriptedSender()
    clock = Clock(NOW)
    worker = DeliveryWorker(
        db,
        {Platform.SLACK: sender},
        clock=clock,
        sleep=clock.sleep,
        pacing={},
        rate_per_minute={Platform.SLACK: 6.0},
    )
    assert await worker.run_once() == 4
    # Four different DMs, so no per-place pacing; 6 a minute is one send every 10 seconds.
    assert clock.waits == [10.0, 10.0, 10.0]


async def test_two_workers_share_one_budget(db: Database) -> None:
    """Two workers (two replicas) on one database: together they keep the platform's rate, each send
    taking the next free slot, instead of each sending at the full rate."""
    await outbox.enqueue(db, [message(f"dm{i}", f"U{i:04d}") for i in range(6)], now=NOW)
    clock = Clock(NOW)
    senders = [ScriptedSender(), ScriptedSender()]
    workers = [
        DeliveryWorker(
            db,
            {Platform.SLACK: sender},
            clock=clock,
            sleep=clock.sleep,
            pacing={},
            rate_per_minute={Platform.SLACK: 60.0},
            batch=3,
        )
        for sender in senders
    ]
    assert await workers[0].run_once() == 3  # slots at 0, 1 and 2 seconds
    assert await workers[1].run_once() == 3  # the next free slots: 3, 4 and 5 seconds
    assert clock.waits == [1.0] * 5
    assert clock.now == NOW + timedelta(seconds=5)


async def test_concurrent_reservations_never_share_a_slot(db: Database) -> None:
    from storage import pacing

    gaps = [("slack:*", timedelta(seconds=1)), ("slack:C1", timedelta(seconds=2))]
    slots = await asyncio.gather(
        *(pacing.reserve(db, gaps, now=NOW, max_wait=timedelta(minutes=5)) for _ in range(12))
    )
    assert all(slot.reserved for slot in slots)
    starts = sorted(slot.start for slot in slots)
    assert starts == [NOW + timedelta(seconds=2 * i) for i in range(12)]  # the channel's pace rules


async def test_a_rate_limit_holds_the_platform_without_using_up_attempts(db: Database) -> None:
    await outbox.enqueue(db, [message(f"dm{i}", f"U{i:04d}") for i in range(3)], now=NOW)
    clock = Clock(NOW)
    sender = ScriptedSender([DeliveryError("slack: rate limited", retry_after=30)])
    worker = DeliveryWorker(db, {Platform.SLACK: sender}, clock=clock, pacing={})

    assert await worker.run_once() == 0
    assert sender.tried == ["dm0"]  # the other two were not tried into the same limit
    async with db.sessions() as session:
        rows = (
            await session.execute(
                select(
                    OutboxMessage.idempotency_key, OutboxMessage.attempts, OutboxMessage.next_attempt_at
                ).order_by(OutboxMessage.idempotency_key)
            )
        ).all()
    assert [(key, attempts) for key, attempts, _ in rows] == [("dm0", 1), ("dm1", 0), ("dm2", 0)]
    assert {at.astimezone(UTC) for _, _, at in rows} == {NOW + timedelta(seconds=30)}

    clock.now += timedelta(seconds=29)
    assert await worker.run_once() == 0  # nothing due before Retry-After
    clock.now += timedelta(seconds=2)
    assert await worker.run_once() == 3
    assert sender.sent == ["dm0", "dm1", "dm2"]
    stats = await outbox.stats(db, now=clock.now)
    assert (stats.sent, stats.pending, stats.dead) == (3, 0, 0)


async def test_other_platforms_are_not_held_by_a_slack_rate_limit(db: Database) -> None:
    teams_message = outbox.NewMessage(
        idempotency_key="teams",
        purpose="test",
        platform=Platform.TEAMS.value,
        address=address_to_dict(Address(platform=Platform.TEAMS, target="person:1")),
        payload=reply_to_dict(Reply(summary="teams", blocks=(Text("teams"),))),
    )
    await outbox.enqueue(db, [message("slack", "U0001"), teams_message], now=NOW)
    slack = ScriptedSender([DeliveryError("slack: rate limited", retry_after=30)])
    teams = ScriptedSender()
    worker = DeliveryWorker(db, {Platform.SLACK: slack, Platform.TEAMS: teams}, clock=Clock(NOW), pacing={})
    assert await worker.run_once() == 1
    assert teams.sent == ["teams"]


async def test_a_rate_limit_seen_by_one_worker_holds_the_other(db: Database) -> None:
    await outbox.enqueue(db, [message("first", "U0001")], now=NOW)
    clock = Clock(NOW)
    limited = ScriptedSender([DeliveryError("slack: rate limited", retry_after=30)])
    first = DeliveryWorker(db, {Platform.SLACK: limited}, clock=clock, sleep=clock.sleep)
    assert await first.run_once() == 0
    await outbox.enqueue(db, [message("second", "U0002")], now=NOW)
    other = ScriptedSender()
    second = DeliveryWorker(db, {Platform.SLACK: other}, clock=clock, sleep=clock.sleep)
    assert await second.run_once() == 0
    assert other.tried == []  # not tried into the same limit: put back for Retry-After
    clock.now += timedelta(seconds=31)
    assert await second.run_once() == 2
    assert sorted(other.sent) == ["first", "second"]


async def test_a_throttled_teams_conversation_holds_only_itself(db: Database) -> None:
    def teams(key: str, target: str) -> outbox.NewMessage:
        return outbox.NewMessage(
            idempotency_key=key,
            purpose="test",
            platform=Platform.TEAMS.value,
            address=address_to_dict(Address(platform=Platform.TEAMS, target=target)),
            payload=reply_to_dict(Reply(summary=key, blocks=(Text(key),))),
        )

    await outbox.enqueue(
        db, [teams("a1", "person:1"), teams("b1", "person:2"), teams("a2", "person:1")], now=NOW
    )
    clock = Clock(NOW)
    sender = ScriptedSender([DeliveryError("teams: throttled", retry_after=60)])
    worker = DeliveryWorker(db, {Platform.TEAMS: sender}, clock=clock, sleep=clock.sleep)
    assert await worker.run_once() == 1
    assert sender.tried == ["a1", "b1"]  # a2 waits with a1; b1, elsewhere, went at once
    assert clock.waits == []  # and nothing waited for the throttled conversation
