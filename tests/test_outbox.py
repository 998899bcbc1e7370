"""The outbox on every backend: one row per idempotency key, leases that never hand a row to two
workers, retries that come back when due, and dead rows after the last attempt."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.delivery import DeliveryError, DeliveryWorker, backoff_seconds
from bot.serialize import address_to_dict, reply_to_dict
from bot.types import Address, Platform, Reply, Text
from storage import outbox
from storage.db import Database
from storage.models import OutboxStatus

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def message(key: str, target: str = "C1") -> outbox.NewMessage:
    reply = Reply(summary=f"hello {key}", blocks=(Text(f"hello {key}"),))
    return outbox.NewMessage(
        idempotency_key=key,
        purpose="test",
        platform=Platform.SLACK.value,
        address=address_to_dict(Address(platform=Platform.SLACK, target=target)),
        payload=reply_to_dict(reply),
    )


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class RecordingSender:
    """Sends succeed or fail by a script: a list of exceptions (or None for success) per call."""

    def __init__(self, script: list[DeliveryError | None] | None = None) -> None:
        self.script = list(script or [])
        self.sent: list[tuple[Address, str]] = []
        self.attempts = 0

    async def send(self, address: Address, reply: Reply) -> str | None:
        self.attempts += 1
        outcome = self.script.pop(0) if self.script else None
        if outcome is not None:
            raise outcome
        self.sent.append((address, reply.summary))
        return f"ts-{len(self.sent)}"


async def test_enqueue_is_idempotent_by_key(db: Database) -> None:
    assert await outbox.enqueue(db, [message("digest:1:2026-11-25")], now=NOW) == 1
    assert await outbox.enqueue(db, [message("digest:1:2026-11-25")], now=NOW) == 0
    assert (await outbox.stats(db, now=NOW)).pending == 1


async def test_two_workers_never_claim_the_same_row(db: Database) -> None:
    await outbox.enqueue(db, [message(f"k{i}") for i in range(40)], now=NOW)
    first, second = await asyncio.gather(
        outbox.claim(db, now=NOW, limit=25, lease=timedelta(minutes=2)),
        outbox.claim(db, now=NOW, limit=25, lease=timedelta(minutes=2)),
    )
    ids_first = {c.id for c in first}
    ids_second = {c.id for c in second}
    assert not ids_first & ids_second
    assert len(ids_first | ids_second) == 40
    # Leased rows are not handed out again until the lease ends.
    assert await outbox.claim(db, now=NOW + timedelta(minutes=1), limit=50, lease=timedelta(minutes=2)) == []
    again = await outbox.claim(db, now=NOW + timedelta(minutes=3), limit=50, lease=timedelta(minutes=2))
    assert len(again) == 40


async def test_worker_retries_then_sends_once(db: Database) -> None:
    clock = Clock(NOW)
    sender = RecordingSender(
        [DeliveryError("slack: http_500"), DeliveryError("rate limited", retry_after=30)]
    )
    worker = DeliveryWorker(db, {Platform.SLACK: sender}, clock=clock, pacing={})
    await outbox.enqueue(db, [message("once")], now=NOW)

    assert await worker.run_once() == 0  # 500: backs off
    assert await worker.run_once() == 0  # not due yet
    clock.now += timedelta(minutes=1)
    assert await worker.run_once() == 0  # 429: waits for Retry-After
    clock.now += timedelta(seconds=29)
    assert await worker.run_once() == 0
    clock.now += timedelta(seconds=2)
    assert await worker.run_once() == 1
    clock.now += timedelta(hours=1)
    assert await worker.run_once() == 0
    assert [summary for _, summary in sender.sent] == ["hello once"]
    stats = await outbox.stats(db, now=clock.now)
    assert (stats.sent, stats.pending, stats.dead) == (1, 0, 0)


async def test_row_is_dead_after_the_last_attempt_and_admins_are_told(db: Database) -> None:
    clock = Clock(NOW)
    sender = RecordingSender([DeliveryError("slack: http_503")] * 20)
    dead: list[tuple[int, str]] = []
    worker = DeliveryWorker(
        db, {Platform.SLACK: sender}, clock=clock, pacing={}, on_dead=lambda m, why: dead.append((m.id, why))
    )
    await outbox.enqueue(db, [message("doomed")], now=NOW)
    for _ in range(12):
        await worker.run_once()
        clock.now += timedelta(hours=1)
    assert sender.attempts == 8
    assert len(dead) == 1 and "503" in dead[0][1]
    stats = await outbox.stats(db, now=clock.now)
    assert stats.dead == 1
    assert await outbox.retry_dead(db, now=clock.now) == 1
    assert (await outbox.stats(db, now=clock.now)).pending == 1


async def test_permanent_errors_are_not_retried(db: Database) -> None:
    clock = Clock(NOW)
    sender = RecordingSender([DeliveryError("slack: channel_not_found", permanent=True)])
    worker = DeliveryWorker(db, {Platform.SLACK: sender}, clock=clock, pacing={})
    await outbox.enqueue(db, [message("gone")], now=NOW)
    await worker.run_once()
    clock.now += timedelta(hours=1)
    await worker.run_once()
    assert sender.attempts == 1
    assert (await outbox.stats(db, now=clock.now)).dead == 1


async def test_a_crashed_worker_leaves_its_rows_for_the_next_one(db: Database) -> None:
    await outbox.enqueue(db, [message("leased")], now=NOW)
    claimed = await outbox.claim(db, now=NOW, limit=10, lease=timedelta(minutes=2))
    assert len(claimed) == 1  # ...and this worker dies without sending
    clock = Clock(NOW + timedelta(minutes=5))
    sender = RecordingSender()
    assert await DeliveryWorker(db, {Platform.SLACK: sender}, clock=clock, pacing={}).run_once() == 1
    assert len(sender.sent) == 1


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    import random

    rng = random.Random(1)
    delays = [backoff_seconds(n, rng=rng) for n in range(1, 12)]
    assert 1.0 <= delays[0] <= 3.0
    assert 8.0 <= delays[3] <= 24.0
    assert max(delays) <= 900 * 1.5
    assert OutboxStatus.DEAD.value == "dead"


async def test_a_claim_takes_no_more_than_its_limit(db: Database) -> None:
    await outbox.enqueue(db, [message(f"many{i}") for i in range(10)], now=NOW)
    assert len(await outbox.claim(db, now=NOW, limit=3, lease=timedelta(minutes=2))) == 3


def test_a_digest_payload_keeps_its_images_for_the_senders() -> None:
    from bot.digests.parts import Digest
    from bot.serialize import reply_from_dict
    from bot.types import Image
    from scheduler.jobs import digest_payload

    reply = Reply(
        summary="d", blocks=(Image("attachment://chart.png", "chart"), Image("https://x.test/a.png", "a"))
    )
    restored = reply_from_dict(digest_payload(Digest(reply=reply, images={"chart.png": b"\x89PNG..."})))
    chart, other = restored.blocks
    assert isinstance(chart, Image) and chart.data == b"\x89PNG..."
    assert isinstance(other, Image) and other.data is None


# ------------------------------------------------------------------------------ leases and tokens

LEASE = timedelta(minutes=2)


async def test_only_the_holder_of_a_claim_records_its_outcome(db: Database) -> None:
    await outbox.enqueue(db, [message("slow")], now=NOW)
    [first] = await outbox.claim(db, now=NOW, limit=10, lease=LEASE)
    later = NOW + timedelta(minutes=3)  # the first worker's lease ran out, a second one claims
    [second] = await outbox.claim(db, now=later, limit=10, lease=LEASE)
    assert first.claim_token != second.claim_token
    assert not await outbox.begin_send(db, first.id, token=first.claim_token, now=later, lease=LEASE)
    assert not await outbox.mark_failed(db, first.id, token=first.claim_token, error="x", retry_at=later)
    assert not await outbox.mark_sent(db, first.id, token=first.claim_token, now=later, external_id="1")
    assert await outbox.mark_sent(db, second.id, token=second.claim_token, now=later, external_id="2")
    stats = await outbox.stats(db, now=later)
    assert (stats.sent, stats.pending) == (1, 0)


async def test_a_send_that_outlived_its_lease_is_still_recorded_when_nobody_took_over(db: Database) -> None:
    await outbox.enqueue(db, [message("late")], now=NOW)
    [claimed] = await outbox.claim(db, now=NOW, limit=10, lease=LEASE)
    late = NOW + timedelta(minutes=5)
    assert await outbox.mark_sent(db, claimed.id, token=claimed.claim_token, now=late, external_id="1")


async def test_renewing_keeps_other_workers_off(db: Database) -> None:
    await outbox.enqueue(db, [message(f"k{i}") for i in range(3)], now=NOW)
    claimed = await outbox.claim(db, now=NOW, limit=10, lease=LEASE)
    ids = [c.id for c in claimed]
    token = claimed[0].claim_token
    renewed_at = NOW + timedelta(seconds=100)
    assert await outbox.renew(db, ids, token=token, now=renewed_at, lease=LEASE) == set(ids)
    assert await outbox.claim(db, now=NOW + timedelta(seconds=150), limit=10, lease=LEASE) == []
    assert await outbox.renew(db, ids, token="someone-else", now=renewed_at, lease=LEASE) == set()


async def test_a_send_never_recorded_comes_back_in_doubt(db: Database) -> None:
    await outbox.enqueue(db, [message("crash")], now=NOW)
    [claimed] = await outbox.claim(db, now=NOW, limit=10, lease=LEASE)
    assert claimed.in_doubt_since is None
    started = NOW + timedelta(seconds=1)
    assert await outbox.begin_send(db, claimed.id, token=claimed.claim_token, now=started, lease=LEASE)
    # ...the worker dies here, between the platform's answer and mark_sent.
    assert await outbox.claim(db, now=started + timedelta(minutes=1), limit=10, lease=LEASE) == []
    [again] = await outbox.claim(db, now=started + timedelta(minutes=3), limit=10, lease=LEASE)
    assert again.in_doubt_since == started
    # A refusal clears the doubt (nothing was posted); a deferral or a network error keeps it.
    retry = started + timedelta(minutes=4)
    assert await outbox.mark_failed(db, again.id, token=again.claim_token, error="t", retry_at=retry)
    [third] = await outbox.claim(db, now=retry, limit=10, lease=LEASE)
    assert third.in_doubt_since == started
    refused = await outbox.mark_failed(
        db, third.id, token=third.claim_token, error="refused", retry_at=retry, in_doubt=False
    )
    assert refused
    [fourth] = await outbox.claim(db, now=retry, limit=10, lease=LEASE)
    assert fourth.in_doubt_since is None


def test_a_round_claims_what_it_can_send_within_half_its_lease(sqlite_db: Database) -> None:
    worker = DeliveryWorker(sqlite_db, {}, lease=timedelta(minutes=2))
    assert worker.claim_limit() == 50  # 300 a minute: 0.2 s a message, 300 fit; the batch caps it
    worker.seconds_per_send = 3.0  # a slow Slack
    assert worker.claim_limit() == 20
    worker.lease = timedelta(seconds=5)
    assert worker.claim_limit() == 1
