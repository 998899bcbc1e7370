"""The outbox delivered to a fake Slack through SlackSender and the DeliveryWorker: server errors and
rate limits are retried on the worker's (fake) clock, refusals give up, and every message is posted
exactly once."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from slack_sdk.errors import SlackApiError

from adapters.slack.sender import SlackSender, delivery_error
from bot.delivery import DeliveryWorker
from bot.serialize import address_to_dict, reply_to_dict
from bot.settings import Settings
from bot.types import Address, Image, Platform, Reply, Text
from storage import outbox
from storage.db import Database
from tests.fakes.slack import FakeSlack

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack()
    await slack.start()
    try:
        yield slack
    finally:
        await slack.close()


def sender_for(fake: FakeSlack) -> SlackSender:
    settings = Settings(
        database_url="sqlite+aiosqlite://", slack_bot_token="xoxb-test", slack_api_url=fake.api_url
    )
    return SlackSender(settings)


def message(
    key: str, target: str, reply: Reply | None = None, thread: str | None = None
) -> outbox.NewMessage:
    reply = reply or Reply(summary=key, blocks=(Text(key),))
    return outbox.NewMessage(
        idempotency_key=key,
        purpose="test",
        platform=Platform.SLACK.value,
        address=address_to_dict(Address(platform=Platform.SLACK, target=target, thread=thread)),
        payload=reply_to_dict(reply),
    )


def worker_for(db: Database, fake: FakeSlack, clock: Clock, **options: object) -> DeliveryWorker:
    return DeliveryWorker(
        db, {Platform.SLACK: sender_for(fake)}, clock=clock, pacing={}, rng=random.Random(5), **options
    )  # type: ignore[arg-type]


async def test_flaky_slack_receives_every_message_exactly_once(db: Database, fake: FakeSlack) -> None:
    texts = [f"message {i}" for i in range(30)]
    targets = ["C0001", "C0002", "C0003", "UDMONE001", "UDMTWO002"]
    await outbox.enqueue(db, [message(t, targets[i % len(targets)]) for i, t in enumerate(texts)], now=NOW)
    clock = Clock(NOW)
    worker = worker_for(db, fake, clock, batch=1)  # one post per round, so the pattern is per call
    fake.fail_next("conversations.open", 500)
    for call in range(200):
        # A fixed pattern over the calls: three in ten get a 500, one in twenty a 429.
        if call % 10 in (1, 4, 8):
            fake.fail_next("chat.postMessage", 500)
        elif call % 20 == 6:
            fake.fail_next("chat.postMessage", 429, retry_after=20)
        await worker.run_once()
        clock.now += timedelta(minutes=1)  # later than any back-off or Retry-After asked for here
        if (await outbox.stats(db, now=clock.now)).sent == len(texts):
            break

    posts = fake.of("chat.postMessage")
    delivered = Counter(c.body["text"] for c in posts if c.status == 200)
    assert delivered == Counter(texts)  # every message, each once
    failures = Counter(c.status for c in posts if c.status != 200)
    assert set(failures) == {500, 429}
    assert sum(failures.values()) / len(posts) >= 0.25
    stats = await outbox.stats(db, now=clock.now)
    assert (stats.sent, stats.pending, stats.dead) == (30, 0, 0)
    # DMs went to the channel conversations.open gave, opened once per person (plus the failed try).
    channels = {c.body["channel"] for c in posts if c.status == 200}
    assert channels == {"C0001", "C0002", "C0003", "DUDMONE001", "DUDMTWO002"}
    assert len([c for c in fake.of("conversations.open") if c.status == 200]) == 2


async def test_a_rate_limit_waits_exactly_for_retry_after(db: Database, fake: FakeSlack) -> None:
    clock = Clock(NOW)
    worker = worker_for(db, fake, clock)
    await outbox.enqueue(db, [message("limited", "C0001")], now=NOW)
    fake.fail_next("chat.postMessage", 429, retry_after=30)
    assert await worker.run_once() == 0
    clock.now += timedelta(seconds=29)
    assert await worker.run_once() == 0
    assert len(fake.of("chat.postMessage")) == 1  # not tried again before Retry-After
    clock.now += timedelta(seconds=2)
    assert await worker.run_once() == 1
    assert [c.status for c in fake.of("chat.postMessage")] == [429, 200]


async def test_a_refusal_is_not_retried_and_admins_hear_of_it(db: Database, fake: FakeSlack) -> None:
    clock = Clock(NOW)
    dead: list[str] = []
    worker = worker_for(db, fake, clock, on_dead=lambda m, why: dead.append(why))
    await outbox.enqueue(db, [message("gone", "C0404")], now=NOW)
    fake.fail_next("chat.postMessage", 200, error="channel_not_found")
    await worker.run_once()
    clock.now += timedelta(hours=1)
    await worker.run_once()
    assert len(fake.of("chat.postMessage")) == 1
    assert dead == ["slack: channel_not_found"]
    assert (await outbox.stats(db, now=clock.now)).dead == 1


async def test_thread_and_attachment_images(db: Database, fake: FakeSlack) -> None:
    reply = Reply(
        summary="digest",
        blocks=(
            Text("Your digest"),
            Image(url="attachment://health.png", alt="Bands over 30 days", title="Health, 30 days"),
            Image(url="https://example.com/logo.png", alt="logo"),
        ),
    )
    await outbox.enqueue(db, [message("digest", "C0001", reply, thread="1700000000.0001")], now=NOW)
    assert await worker_for(db, fake, Clock(NOW)).run_once() == 1
    body = fake.of("chat.postMessage")[0].body
    assert body["thread_ts"] == "1700000000.0001"
    kinds = [b["type"] for b in body["blocks"]]
    assert kinds == ["section", "context", "image"]
    assert body["blocks"][1]["elements"][0]["text"] == "Health, 30 days"
    assert body["blocks"][2]["image_url"] == "https://example.com/logo.png"


@pytest.mark.parametrize("name", ["Retry-After", "retry-after", "RETRY-AFTER"])
def test_retry_after_header_is_read_in_any_case(name: str) -> None:
    response = SimpleNamespace(
        status_code=429, data={"ok": False, "error": "ratelimited"}, headers={name: "7"}
    )
    error = delivery_error(SlackApiError("limited", response))
    assert (error.retry_after, error.permanent) == (7.0, False)


def test_server_errors_are_retried_and_refusals_are_not() -> None:
    server = delivery_error(SlackApiError("x", SimpleNamespace(status_code=503, data={}, headers={})))
    assert (str(server), server.permanent, server.retry_after) == ("slack: http_503", False, None)
    refusal = SimpleNamespace(status_code=200, data={"ok": False, "error": "is_archived"}, headers={})
    assert delivery_error(SlackApiError("x", refusal)).permanent


async def test_dead_messages_are_reported_to_reachable_admins_once(db: Database) -> None:
    from adapters.runtime import ADMIN_PURPOSE, dead_message_alerter
    from tests.factories import add_person

    await add_person(db, "sam@example.com", "Sam", "admin", slack_user_id="USAM")
    await add_person(db, "tia@example.com", "Tia", "admin", teams_user_id="aad-tia")
    await add_person(db, "max@example.com", "Max", "admin")  # on no platform
    await add_person(db, "maya@example.com", "Maya", "csm", slack_user_id="UMAYA")
    on_dead = dead_message_alerter(db, {Platform.SLACK, Platform.TEAMS}, clock=lambda: NOW)
    dead = outbox.Claimed(7, "digest:1:2026-11-25", "digest", "slack", {}, {}, 8)
    await on_dead(dead, "slack: channel_not_found")
    await on_dead(dead, "slack: channel_not_found")
    claimed = await outbox.claim(db, now=NOW, limit=10, lease=timedelta(minutes=1))
    assert sorted(c.address["target"] for c in claimed) == ["USAM", f"person:{await _id(db, 'tia')}"]
    assert {c.purpose for c in claimed} == {ADMIN_PURPOSE}
    assert "channel_not_found" in claimed[0].payload["blocks"][0]["text"]
    # An admin note that dies is not reported again.
    await on_dead(claimed[0], "slack: account_inactive")
    assert (await outbox.stats(db, now=NOW)).pending == 2


async def _id(db: Database, name: str) -> int:
    from sqlalchemy import select

    from storage.models import Person

    async with db.sessions() as session:
        found = await session.scalar(select(Person.id).where(Person.email == f"{name}@example.com"))
    assert found is not None
    return found


async def test_a_digest_chart_is_uploaded_and_shown_from_its_slack_file(
    db: Database, fake: FakeSlack
) -> None:
    from bot.digests.charts import band_chart_png
    from bot.digests.parts import Digest
    from scheduler.jobs import digest_payload

    days = [date(2026, 11, 24), date(2026, 11, 25)]
    png = band_chart_png(days, [{"red": 2, "green": 5}, {"red": 1, "green": 6}])
    reply = Reply(
        summary="digest",
        blocks=(
            Text("Your digest"),
            Image(url="attachment://health-30d.png", alt="Bands", title="Health, 30 days"),
        ),
    )
    new = message("digest-chart", "C0001")
    new = outbox.NewMessage(
        idempotency_key=new.idempotency_key,
        purpose=new.purpose,
        platform=new.platform,
        address=new.address,
        payload=digest_payload(Digest(reply=reply, images={"health-30d.png": png})),
    )
    await outbox.enqueue(db, [new], now=NOW)
    assert await worker_for(db, fake, Clock(NOW)).run_once() == 1

    [file_id] = fake.uploads
    assert fake.uploads[file_id] == png
    [complete] = fake.of("files.completeUploadExternal")
    assert "channel_id" not in complete.body  # uploaded unshared; the message shows it
    body = fake.of("chat.postMessage")[0].body
    image = body["blocks"][1]
    assert image["type"] == "image"
    assert image["slack_file"] == {"id": file_id}
    assert image["title"]["text"] == "Health, 30 days"
    from slack_sdk.models.blocks import Block

    assert Block.parse(image).to_dict() == image  # a valid Block Kit image block
