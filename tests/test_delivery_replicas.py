"""Two workers (two replicas) on one PostgreSQL database and a slow Slack: a batch that takes longer
than the lease keeps it renewed, so the other worker never takes rows still being sent, and every
message is posted exactly once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from adapters.slack.sender import SlackSender
from bot.delivery import DeliveryWorker
from bot.metrics import Metrics
from bot.serialize import address_to_dict, reply_to_dict
from bot.settings import Settings
from bot.types import Address, Platform, Reply, Text
from storage import outbox
from storage.db import Database
from tests.fakes.slack import FakeSlack

START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
MESSAGES = 16
POST_SECONDS = 0.2  # each chat.postMessage takes this long: 16 take 3.2 s, three leases
LEASE = timedelta(seconds=1)


def ticking_clock() -> Callable[[], datetime]:
    """A clock that starts at a fixed moment and runs at the pace of real time."""
    origin = time.monotonic()
    return lambda: START + timedelta(seconds=time.monotonic() - origin)


@pytest.fixture
async def postgres(db: Database) -> Database:
    if db.is_sqlite:
        pytest.skip("two workers in two replicas share a PostgreSQL database")
    return db


@pytest.fixture
async def slow_slack() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack(post_delay=POST_SECONDS)
    await slack.start()
    try:
        yield slack
    finally:
        await slack.close()


class Recorded(Metrics):
    """The workers' metrics, shared, with an event set once ``expected`` sends were recorded."""

    def __init__(self, expected: int) -> None:
        super().__init__()
        self.results: Counter[str] = Counter()
        self.expected = expected
        self.all_sent = asyncio.Event()

    def delivery(self, *, platform: str, result: str) -> None:
        super().delivery(platform=platform, result=result)
        self.results[result] += 1
        if self.results["sent"] >= self.expected:
            self.all_sent.set()


def keys_posted(fake: FakeSlack) -> Counter[str]:
    return Counter(m["metadata"]["event_payload"]["outbox_key"] for m in fake.posted())


async def test_two_workers_and_a_slow_slack_post_every_message_once(
    postgres: Database, slow_slack: FakeSlack
) -> None:
    clock = ticking_clock()
    slow_slack.clock = lambda: clock().timestamp()
    keys = [f"reminder:{i}" for i in range(MESSAGES)]
    await outbox.enqueue(
        postgres,
        [
            outbox.NewMessage(
                idempotency_key=key,
                purpose="reminder",
                platform=Platform.SLACK.value,
                address=address_to_dict(Address(platform=Platform.SLACK, target=f"C{i:04d}")),
                payload=reply_to_dict(Reply(summary=key, blocks=(Text(key),))),
            )
            for i, key in enumerate(keys)
        ],
        now=START,
    )
    settings = Settings(
        database_url=postgres.url, slack_bot_token="xoxb-test", slack_api_url=slow_slack.api_url
    )
    recorded = Recorded(MESSAGES)
    workers = [
        DeliveryWorker(
            Database(postgres.url),
            {Platform.SLACK: SlackSender(settings)},
            clock=clock,
            lease=LEASE,
            rate_per_minute={Platform.SLACK: 6000.0},
            metrics=recorded,
        )
        for _ in range(2)
    ]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(worker.run_forever(stop, idle_seconds=0.1)) for worker in workers]
    try:
        await asyncio.wait_for(recorded.all_sent.wait(), timeout=30)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        for worker in workers:
            await worker.db.dispose()
    assert keys_posted(slow_slack) == Counter({key: 1 for key in keys})
    assert recorded.results["lease_lost"] == 0
    stats = await outbox.stats(postgres, now=clock())
    assert (stats.sent, stats.pending, stats.dead) == (MESSAGES, 0, 0)
    # The slow posts taught the worker that sent them to claim less: what fits in half a lease.
    assert min(worker.claim_limit() for worker in workers) <= 3
