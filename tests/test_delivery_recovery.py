"""After a crash between the platform's answer and recording it: Slack is asked before anything is
posted again (the outbox key travels in the message's metadata), so the message is posted once; Teams
has no such look-up, and the message is posted again (at least once)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from adapters.slack.sender import METADATA_EVENT_TYPE, SlackSender
from bot.delivery import DeliveryWorker
from bot.serialize import address_to_dict, reply_to_dict
from bot.settings import Settings
from bot.types import Address, Platform, Reply, Text
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus
from tests.fakes.slack import FakeSlack

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def timestamp(self) -> float:
        return self.now.timestamp()


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
async def fake(clock: Clock) -> AsyncIterator[FakeSlack]:
    slack = FakeSlack(clock=clock.timestamp)
    await slack.start()
    try:
        yield slack
    finally:
        await slack.close()


def worker_for(db: Database, fake: FakeSlack, clock: Clock) -> DeliveryWorker:
    """A worker of its own, as a replica (or the restarted process) would have."""
    settings = Settings(database_url=db.url, slack_bot_token="xoxb-test", slack_api_url=fake.api_url)
    return DeliveryWorker(
        db, {Platform.SLACK: SlackSender(settings)}, clock=clock, pacing={}, rng=random.Random(3), lease=LEASE
    )


def message(key: str, target: str = "C0001", thread: str | None = None) -> outbox.NewMessage:
    return outbox.NewMessage(
        idempotency_key=key,
        purpose="test",
        platform=Platform.SLACK.value,
        address=address_to_dict(Address(platform=Platform.SLACK, target=target, thread=thread)),
        payload=reply_to_dict(Reply(summary=key, blocks=(Text(key),))),
    )


async def crash_mid_send(db: Database, fake: FakeSlack, clock: Clock) -> None:
    """A worker posts, Slack takes the message, and the worker dies before it hears back."""
    fake.hang_when(lambda call: True)
    hung = len(fake.hung)
    crashed = asyncio.create_task(worker_for(db, fake, clock).run_once())
    await fake.wait_until(lambda: len(fake.hung) > hung)
    crashed.cancel()
    await asyncio.gather(crashed, return_exceptions=True)
    fake.hang_when(None)


async def row(db: Database, key: str) -> OutboxMessage:
    async with db.sessions() as session:
        found = await session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))
    assert found is not None
    return found


async def test_a_post_slack_took_before_the_crash_is_found_not_posted_again(
    db: Database, fake: FakeSlack, clock: Clock
) -> None:
    await outbox.enqueue(db, [message("digest:7:2026-11-25")], now=NOW)
    await crash_mid_send(db, fake, clock)
    [posted] = fake.posted("C0001")
    assert posted["metadata"] == {
        "event_type": METADATA_EVENT_TYPE,
        "event_payload": {"outbox_key": "digest:7:2026-11-25"},
    }

    clock.now += LEASE + timedelta(seconds=1)  # the dead worker's lease runs out
    assert await worker_for(db, fake, clock).run_once() == 1
    assert len(fake.of("chat.postMessage")) == 1  # not posted again
    [history] = fake.of("conversations.history")
    assert history.body["channel"] == "C0001"
    assert history.body["include_all_metadata"] in ("1", "true", "True")
    sent = await row(db, "digest:7:2026-11-25")
    assert (sent.status, sent.external_id) == (OutboxStatus.SENT.value, posted["ts"])
    assert sent.send_started_at is None


async def test_a_dm_and_a_thread_reply_are_found_too(db: Database, fake: FakeSlack, clock: Clock) -> None:
    await outbox.enqueue(db, [message("dm", target="UMAYA0001")], now=NOW)
    await crash_mid_send(db, fake, clock)
    await outbox.enqueue(db, [message("reply", thread="1764061200.000100")], now=NOW)
    await crash_mid_send(db, fake, clock)
    clock.now += LEASE + timedelta(seconds=1)
    assert await worker_for(db, fake, clock).run_once() == 2
    assert len(fake.of("chat.postMessage")) == 2
    assert [c.body["channel"] for c in fake.of("conversations.history")] == ["DUMAYA0001"]
    [replies] = fake.of("conversations.replies")
    assert replies.body["ts"] == "1764061200.000100"


async def test_an_answer_lost_on_the_way_is_looked_up_then_posted_once(
    db: Database, fake: FakeSlack, clock: Clock
) -> None:
    """A 503 may or may not have posted: the retry looks first, finds nothing, and posts."""
    await outbox.enqueue(db, [message("maybe")], now=NOW)
    fake.fail_next("chat.postMessage", 503)
    worker = worker_for(db, fake, clock)
    assert await worker.run_once() == 0
    clock.now += timedelta(minutes=5)
    assert await worker.run_once() == 1
    assert [c.status for c in fake.of("chat.postMessage")] == [503, 200]
    assert len(fake.of("conversations.history")) == 1
    assert len(fake.posted("C0001")) == 1


async def test_a_refusal_is_not_in_doubt_and_needs_no_look_up(
    db: Database, fake: FakeSlack, clock: Clock
) -> None:
    await outbox.enqueue(db, [message("limited")], now=NOW)
    fake.fail_next("chat.postMessage", 429, retry_after=5)
    worker = worker_for(db, fake, clock)
    assert await worker.run_once() == 0
    clock.now += timedelta(seconds=6)
    assert await worker.run_once() == 1
    assert fake.of("conversations.history") == []


async def test_a_look_up_slack_refuses_falls_back_to_posting_again(
    db: Database, fake: FakeSlack, clock: Clock
) -> None:
    """No history scope, or not in the channel: at least once, never lost."""
    await outbox.enqueue(db, [message("public")], now=NOW)
    await crash_mid_send(db, fake, clock)
    fake.fail_next("conversations.history", 200, error="not_in_channel")
    clock.now += LEASE + timedelta(seconds=1)
    with capture_logs() as logs:
        assert await worker_for(db, fake, clock).run_once() == 1
    assert len(fake.posted("C0001")) == 2
    assert [e["event"] for e in logs if e["event"] == "slack_lookup_unavailable"] == [
        "slack_lookup_unavailable"
    ]


async def test_a_look_up_that_fails_posts_nothing_until_it_can_tell(
    db: Database, fake: FakeSlack, clock: Clock
) -> None:
    await outbox.enqueue(db, [message("unsure")], now=NOW)
    await crash_mid_send(db, fake, clock)
    fake.fail_next("conversations.history", 429, retry_after=30)
    clock.now += LEASE + timedelta(seconds=1)
    await outbox.enqueue(db, [message("other", target="C0002")], now=clock.now)
    worker = worker_for(db, fake, clock)
    # The look-up's own rate limit holds only that message: the other one is posted at once.
    assert await worker.run_once() == 1
    assert [c.body["channel"] for c in fake.of("chat.postMessage")] == ["C0001", "C0002"]
    clock.now += timedelta(seconds=31)
    assert await worker.run_once() == 1
    assert len(fake.of("chat.postMessage")) == 2
    assert len(fake.posted("C0001")) == 1


class PlainSender:
    """A sender with no look-up (as Teams): a send in doubt can only be sent again."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, address: Address, reply: Reply) -> str | None:
        self.sent.append(reply.summary)
        return f"activity-{len(self.sent)}"


async def test_without_a_look_up_a_send_in_doubt_is_sent_again(db: Database, clock: Clock) -> None:
    teams = outbox.NewMessage(
        idempotency_key="teams",
        purpose="test",
        platform=Platform.TEAMS.value,
        address=address_to_dict(Address(platform=Platform.TEAMS, target="person:1")),
        payload=reply_to_dict(Reply(summary="teams")),
    )
    await outbox.enqueue(db, [teams], now=NOW)
    [claimed] = await outbox.claim(db, now=NOW, limit=1, lease=LEASE)
    assert await outbox.begin_send(db, claimed.id, token=claimed.claim_token, now=NOW, lease=LEASE)
    clock.now += LEASE + timedelta(seconds=1)  # ...posted, then the worker died
    sender = PlainSender()
    worker = DeliveryWorker(db, {Platform.TEAMS: sender}, clock=clock, pacing={}, lease=LEASE)
    with capture_logs() as logs:
        assert await worker.run_once() == 1
    assert sender.sent == ["teams"]
    assert "delivery_resending_in_doubt" in [e["event"] for e in logs]
