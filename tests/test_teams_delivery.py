"""The per-conversation rate limit and the retry rules for sends to the Bot Connector."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.teams.delivery import RateLimiter, RetryPolicy, base_conversation_id
from bot.delivery.pacing import retry_after_seconds
from tests.teams_env import FakeTime


async def test_seven_a_second_then_the_eighth_waits() -> None:
    time = FakeTime()
    limiter = RateLimiter(((1.0, 7), (30.0, 60)), clock=time.clock, sleep=time.sleep)
    for _ in range(7):
        await limiter.acquire("a:1")
    assert time.sleeps == []
    await limiter.acquire("a:1")
    assert time.sleeps == [pytest.approx(1.0)]


async def test_sixty_in_thirty_seconds() -> None:
    time = FakeTime()
    limiter = RateLimiter(((1.0, 7), (30.0, 60)), clock=time.clock, sleep=time.sleep)
    started = time.now
    for _ in range(60):
        await limiter.acquire("19:channel")
    assert time.now - started < 30
    before = time.now
    await limiter.acquire("19:channel")
    assert time.now - started >= 30, "the 61st waits until the first leaves the 30 s window"
    assert time.now > before


async def test_conversations_have_their_own_limits() -> None:
    time = FakeTime()
    limiter = RateLimiter(((1.0, 2),), clock=time.clock, sleep=time.sleep)
    for conversation in ("a:1", "a:1", "a:2", "a:2", "a:3"):
        await limiter.acquire(conversation)
    assert time.sleeps == []


def test_the_default_windows_are_teams_limits() -> None:
    limiter = RateLimiter()
    assert (1.0, 7) in limiter._windows and (30.0, 60) in limiter._windows


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("0.5") == 0.5
    assert retry_after_seconds("Wed, 25 Nov 2026 12:00:10 GMT", now=lambda: now) == 10.0
    assert retry_after_seconds("Wed, 25 Nov 2026 11:00:00 GMT", now=lambda: now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(attempts=6, base_delay=0.5, max_delay=4.0)
    delays = [policy.delay(attempt, None) for attempt in range(1, 6)]
    assert 0.375 <= delays[0] <= 0.625
    assert delays[1] > delays[0]
    assert max(delays) <= 4.0
    assert policy.delay(1, 120.0) == 4.0, "a long Retry-After is capped too"
    assert policy.delay(2, 2.5) == 2.5


def test_channel_threads_share_the_channel_limit() -> None:
    assert base_conversation_id("19:abc@thread.tacv2;messageid=1715") == "19:abc@thread.tacv2"
    assert base_conversation_id("a:1xyz") == "a:1xyz"
