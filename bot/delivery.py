"""The delivery worker: sends what the outbox holds, through each platform's sender.

Rules: a 429 waits for Retry-After; a 5xx or a network error retries with exponential backoff and
jitter; after ``max_attempts`` failures the row is dead and the admins are told. Sends to one place
(channel, DM, conversation) are paced to the platform's per-conversation limit, and all sends to a
platform to its workspace-wide rate. A 429 also holds the whole platform until Retry-After has passed:
rows due meanwhile are put back for then without counting an attempt, instead of each drawing a 429
of its own (a storm that would use up their attempts and leave them dead).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.log import get_logger
from bot.metrics import Metrics
from bot.serialize import address_from_dict, reply_from_dict
from bot.types import Address, Platform, Reply
from storage import outbox
from storage.db import Database

log = get_logger("touchpoint.delivery")

MAX_ATTEMPTS = 8
BASE_BACKOFF_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 900.0
LEASE = timedelta(minutes=2)
# Minimum seconds between two sends to the same place: Slack allows about one message per second per
# channel; Teams 7 per second per conversation (and 60 per 30 seconds, which 0.5 s keeps within).
PACING_SECONDS = {Platform.SLACK: 1.0, Platform.TEAMS: 0.5, Platform.CONSOLE: 0.0}
# Messages per minute to a whole platform: Slack also limits what an app posts to one workspace ("several
# hundred messages per minute"); 300 keeps a batch of 1,000 DMs free of 429s. Per worker process.
RATE_PER_MINUTE = {Platform.SLACK: 300.0}


class DeliveryError(Exception):
    """A send that failed. ``retry_after`` (seconds) comes from a 429; ``permanent`` means retrying
    cannot help (a channel that does not exist, a person with no conversation)."""

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class Sender(Protocol):
    """What an adapter offers the worker: post one reply to one address, return the platform's id."""

    async def send(self, address: Address, reply: Reply) -> str | None: ...


def backoff_seconds(attempts: int, *, rng: random.Random) -> float:
    """2, 4, 8 ... seconds (capped at 15 minutes), each scaled by a random 0.5-1.5 so retries spread out."""
    base = min(BASE_BACKOFF_SECONDS * 2.0 ** max(0, attempts - 1), MAX_BACKOFF_SECONDS)
    return float(base * rng.uniform(0.5, 1.5))


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class DeliveryWorker:
    db: Database
    senders: dict[Platform, Sender]
    clock: Callable[[], datetime] = _utcnow
    batch: int = 50
    max_attempts: int = MAX_ATTEMPTS
    on_dead: Callable[[outbox.Claimed, str], object] | None = None
    rng: random.Random = field(default_factory=random.Random)
    pacing: dict[Platform, float] = field(default_factory=lambda: dict(PACING_SECONDS))
    # Sends per minute to each platform as a whole; None: :data:`RATE_PER_MINUTE` for every platform
    # that ``pacing`` paces (so ``pacing={}`` switches all pacing off).
    rate_per_minute: dict[Platform, float] | None = None
    _next_send_at: dict[tuple[str, str], float] = field(default_factory=dict)
    _held_until: dict[Platform, datetime] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    metrics: Metrics | None = None

    def __post_init__(self) -> None:
        if self.rate_per_minute is None:
            self.rate_per_minute = {
                platform: rate
                for platform, rate in RATE_PER_MINUTE.items()
                if self.pacing.get(platform, 0.0) > 0
            }

    async def run_once(self) -> int:
        """Claim due rows and try each once; returns how many were sent."""
        now = self.clock()
        claimed = await outbox.claim(self.db, now=now, limit=self.batch, lease=LEASE)
        sent = 0
        for message in claimed:
            sent += await self._deliver(message)
        return sent

    async def run_forever(self, stop: asyncio.Event, *, idle_seconds: float = 1.0) -> None:
        """Deliver until ``stop`` is set; between empty rounds wait ``idle_seconds`` or for :attr:`wake`."""
        while not stop.is_set():
            try:
                sent = await self.run_once()
            except Exception:
                log.exception("delivery_round_failed")
                sent = 0
            if sent == 0:
                self.wake.clear()
                waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wake.wait())]
                _done, pending = await asyncio.wait(
                    waiters, timeout=idle_seconds, return_when=asyncio.FIRST_COMPLETED
                )
                for task in pending:
                    task.cancel()

    async def _pace(self, platform: Platform, target: str) -> None:
        """Wait until both the place and the platform as a whole may take another message."""
        gaps: list[tuple[tuple[str, str], float]] = []
        interval = self.pacing.get(platform, 0.0)
        if interval > 0:
            gaps.append(((platform.value, target), interval))
        rate = (self.rate_per_minute or {}).get(platform, 0.0)
        if rate > 0:
            gaps.append(((platform.value, ""), 60.0 / rate))  # "" is no place: the whole platform
        if not gaps:
            return
        loop = asyncio.get_running_loop()
        wait = max(self._next_send_at.get(key, 0.0) for key, _ in gaps) - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        now = loop.time()
        for key, gap in gaps:
            self._next_send_at[key] = now + gap

    def _held(self, platform: Platform) -> datetime | None:
        """Until when a 429 holds ``platform``, or None when it is free."""
        until = self._held_until.get(platform)
        return until if until is not None and until > self.clock() else None

    async def _deliver(self, message: outbox.Claimed) -> int:
        try:
            platform = Platform(message.platform)
            sender = self.senders[platform]
        except (ValueError, KeyError):
            await self._give_up(message, f"no sender for platform {message.platform!r}")
            return 0
        held = self._held(platform)
        if held is not None:  # not tried, so no attempt is counted
            await outbox.mark_failed(
                self.db, message.id, error="held: rate limited", retry_at=held, count_attempt=False
            )
            return 0
        address = address_from_dict(message.address)
        reply = reply_from_dict(message.payload)
        await self._pace(platform, address.target)
        try:
            external_id = await sender.send(address, reply)
        except DeliveryError as error:
            await self._failed(message, error)
            return 0
        except Exception as error:  # a bug or an unexpected library error: retry like a 5xx
            log.exception("delivery_unexpected_error", outbox_id=message.id)
            await self._failed(message, DeliveryError(f"{type(error).__name__}: {error}"))
            return 0
        await outbox.mark_sent(self.db, message.id, now=self.clock(), external_id=external_id)
        self._count(message, "sent")
        log.info("delivered", outbox_id=message.id, purpose=message.purpose, platform=message.platform)
        return 1

    def _count(self, message: outbox.Claimed, result: str) -> None:
        if self.metrics is not None:
            self.metrics.delivery(platform=message.platform, result=result)

    async def _failed(self, message: outbox.Claimed, error: DeliveryError) -> None:
        attempts = message.attempts + 1
        if error.permanent or attempts >= self.max_attempts:
            await self._give_up(message, str(error))
            return
        if error.retry_after is not None:
            delay = max(error.retry_after, 0.0)
        else:
            delay = backoff_seconds(attempts, rng=self.rng)
        retry_at = self.clock() + timedelta(seconds=delay)
        if error.retry_after is not None:
            platform = Platform(message.platform)
            self._held_until[platform] = max(retry_at, self._held_until.get(platform, retry_at))
        log.warning(
            "delivery_retry",
            outbox_id=message.id,
            attempts=attempts,
            delay_s=round(delay, 2),
            error=str(error),
        )
        await outbox.mark_failed(self.db, message.id, error=str(error), retry_at=retry_at)
        self._count(message, "retry")

    async def _give_up(self, message: outbox.Claimed, reason: str) -> None:
        await outbox.mark_failed(self.db, message.id, error=reason, retry_at=None)
        self._count(message, "dead")
        log.error("delivery_dead", outbox_id=message.id, purpose=message.purpose, reason=reason)
        if self.on_dead is not None:
            result = self.on_dead(message, reason)
            if asyncio.iscoroutine(result):
                await result
