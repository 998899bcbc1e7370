"""The delivery worker: sends what the outbox holds, through each platform's sender.

A round claims what this worker can send within half its lease at the pace it has been managing
(slow platforms or a busy cluster mean smaller claims), keeps the lease renewed while it works, and
sends the rows one by one. Right before each send it checks that it still holds the row and renews
its lease (:func:`storage.outbox.begin_send`), so no other worker takes a row while a send of it may
still land; the outcome is recorded only while it holds the row (or nobody does).

A row that comes back with a send in doubt (a worker died, or lost the row, between the platform's
answer and recording it) is looked up first where the platform allows it (:class:`Findable`: Slack,
by the outbox key in the message's metadata) and only posted if it is not there. Teams has no such
look-up: there the message is posted again, the one case in which it can arrive twice.

Rules: a 429 waits for Retry-After; a 5xx or a network error retries with exponential backoff and
jitter; after ``max_attempts`` failures the row is dead and the admins are told. Pacing and holds are
shared by every replica (:mod:`bot.delivery.pacing`): rows whose slot is further off than a few
seconds, or whose platform or conversation a 429 is holding, go back to the outbox for then without
counting an attempt, so one throttled conversation never holds up the rest of the batch.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.delivery.pacing import PACING_SECONDS, RATE_PER_MINUTE, Pacer
from bot.delivery.senders import DeliveryError, Editable, Findable, Sender, backoff_seconds
from bot.log import get_logger
from bot.metrics import Metrics
from bot.serialize import address_from_dict, reply_from_dict
from bot.types import Address, Platform
from storage import living, outbox
from storage.db import Database

log = get_logger("touchpoint.delivery")

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)
# A round claims what it expects to send within this share of the lease.
CLAIM_SHARE = 0.5
# Floor for the time one send is expected to take, when sizing a claim.
MIN_SECONDS_PER_SEND = 0.02
# An edit whose post is not out yet looks again after this long.
EDIT_WAIT = timedelta(seconds=5)


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
    # Sends per minute to each platform as a whole, for the cluster; None: :data:`RATE_PER_MINUTE` for
    # every platform that ``pacing`` paces (so ``pacing={}`` switches all pacing off).
    rate_per_minute: dict[Platform, float] | None = None
    lease: timedelta = LEASE
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # waiting for a send slot
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    metrics: Metrics | None = None
    pacer: Pacer = field(init=False)
    seconds_per_send: float = field(init=False)  # a moving average: send time and slot waits

    def __post_init__(self) -> None:
        if self.rate_per_minute is None:
            self.rate_per_minute = {
                platform: rate
                for platform, rate in RATE_PER_MINUTE.items()
                if self.pacing.get(platform, 0.0) > 0
            }
        self.pacer = Pacer(self.db, self.pacing, self.rate_per_minute)
        rates = [60.0 / rate for rate in self.rate_per_minute.values() if rate > 0]
        self.seconds_per_send = max([MIN_SECONDS_PER_SEND, *rates])

    def claim_limit(self) -> int:
        """How many rows to claim: what can be sent within :data:`CLAIM_SHARE` of the lease."""
        expected = max(self.seconds_per_send, MIN_SECONDS_PER_SEND)
        return max(1, min(self.batch, int(self.lease.total_seconds() * CLAIM_SHARE / expected)))

    async def run_once(self) -> int:
        """Claim due rows and try each once; returns how many were sent."""
        claimed = await outbox.claim(self.db, now=self.clock(), limit=self.claim_limit(), lease=self.lease)
        if not claimed:
            return 0
        held = {message.id for message in claimed}
        keeper = asyncio.create_task(self._keep_lease(claimed[0].claim_token, held))
        sent = 0
        try:
            for message in claimed:
                if message.id not in held:
                    continue  # the lease on it was lost: another worker has it now
                started = time.monotonic()
                sent += await self._deliver(message)
                held.discard(message.id)
                self.seconds_per_send = 0.8 * self.seconds_per_send + 0.2 * (time.monotonic() - started)
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
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

    async def _keep_lease(self, token: str, held: set[int]) -> None:
        """Renew the lease on the rows not yet done, three times per lease; forget those lost."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            ids = sorted(held)
            try:
                kept = await outbox.renew(self.db, ids, token=token, now=self.clock(), lease=self.lease)
            except Exception:
                log.exception("delivery_lease_renewal_failed")
                continue
            held.difference_update(set(ids) - kept)

    async def _deliver(self, message: outbox.Claimed) -> int:
        try:
            platform = Platform(message.platform)
            sender = self.senders[platform]
        except (ValueError, KeyError):
            await self._give_up(message, f"no sender for platform {message.platform!r}")
            return 0
        address = address_from_dict(message.address)
        held = self.pacer.held_until(platform, address.target, self.clock())
        if held is not None:
            return await self._defer(message, held, "held: rate limited")
        if message.edit_of is not None:
            return await self._edit(message, platform, sender, address)
        findable = sender if isinstance(sender, Findable) else None
        if message.in_doubt_since is not None:
            if findable is None:
                log.warning("delivery_resending_in_doubt", outbox_id=message.id, platform=message.platform)
            else:
                try:
                    found = await findable.find_sent(
                        address, key=message.idempotency_key, since=message.in_doubt_since
                    )
                except DeliveryError as error:  # its own rate limit: posting need not wait for it
                    await self._failed(message, error, in_doubt=True, hold=False)
                    return 0
                if found is not None:
                    log.info("delivery_found_already_posted", outbox_id=message.id, external_id=found)
                    return await self._sent(message, found, result="found")
        reply = reply_from_dict(message.payload)

        async def send() -> str | None:
            if findable is not None:
                return await findable.post(address, reply, key=message.idempotency_key)
            return await sender.send(address, reply)

        return await self._attempt(message, platform, address, send)

    async def _edit(
        self, message: outbox.Claimed, platform: Platform, sender: Sender, address: Address
    ) -> int:
        """Rewrite the post ``edit_of`` names, once it is out; nothing when it never went out or a
        newer edit of it is queued."""
        assert message.edit_of is not None
        target = await living.edit_target(self.db, edit_id=message.id, edit_of=message.edit_of)
        if target.waiting:
            return await self._defer(message, self.clock() + EDIT_WAIT, "waiting for the post it edits")
        if target.message_id is None or not isinstance(sender, Editable):
            why = "superseded" if target.superseded else "nothing to edit"
            log.info("delivery_edit_skipped", outbox_id=message.id, edit_of=message.edit_of, why=why)
            return await self._sent(message, None, result="skipped")
        message_id = target.message_id
        reply = reply_from_dict(message.payload)

        async def send() -> str | None:
            await sender.edit(address, message_id, reply)
            return message_id

        return await self._attempt(message, platform, address, send)

    async def _attempt(
        self,
        message: outbox.Claimed,
        platform: Platform,
        address: Address,
        send: Callable[[], Awaitable[str | None]],
    ) -> int:
        """One paced try of ``send``, its outcome recorded while this worker holds the row."""
        slot = await self.pacer.reserve(platform, address.target, now=self.clock())
        if not slot.reserved:
            return await self._defer(message, slot.start, "paced: waiting for a send slot")
        wait = (slot.start - self.clock()).total_seconds()
        if wait > 0:
            await self.sleep(wait)
        token = message.claim_token
        if not await outbox.begin_send(self.db, message.id, token=token, now=self.clock(), lease=self.lease):
            self._lost(message, "before sending")
            return 0
        try:
            external_id = await send()
        except DeliveryError as error:
            await self._failed(message, error)
            return 0
        except Exception as error:  # a bug or an unexpected library error: retry like a 5xx
            log.exception("delivery_unexpected_error", outbox_id=message.id)
            await self._failed(message, DeliveryError(f"{type(error).__name__}: {error}", maybe_sent=True))
            return 0
        return await self._sent(message, external_id)

    async def _sent(self, message: outbox.Claimed, external_id: str | None, *, result: str = "sent") -> int:
        recorded = await outbox.mark_sent(
            self.db,
            message.id,
            token=message.claim_token,
            now=self.clock(),
            external_id=external_id,
            key=message.idempotency_key,
        )
        if not recorded:
            self._lost(message, "after sending")
        self._count(message, result)
        log.info("delivered", outbox_id=message.id, purpose=message.purpose, platform=message.platform)
        return 1

    def _lost(self, message: outbox.Claimed, when: str) -> None:
        """The row was taken over by another worker after this one's lease ended."""
        log.warning("delivery_lease_lost", outbox_id=message.id, platform=message.platform, when=when)
        self._count(message, "lease_lost")

    def _count(self, message: outbox.Claimed, result: str) -> None:
        if self.metrics is not None:
            self.metrics.delivery(platform=message.platform, result=result)

    async def _defer(self, message: outbox.Claimed, until: datetime, reason: str) -> int:
        """Put the row back for ``until`` without counting an attempt (it was not tried)."""
        await outbox.mark_failed(
            self.db,
            message.id,
            token=message.claim_token,
            error=reason,
            retry_at=until,
            count_attempt=False,
            in_doubt=True,
        )
        return 0

    async def _failed(
        self, message: outbox.Claimed, error: DeliveryError, *, in_doubt: bool = False, hold: bool = True
    ) -> None:
        if error.untried:  # a local rate limit: not an attempt
            address = address_from_dict(message.address)
            until = self.clock() + timedelta(seconds=max(error.retry_after or 1.0, 0.0))
            await self.pacer.hold(Platform(message.platform), address.target, until=until)
            await self._defer(message, until, str(error))
            return
        attempts = message.attempts + 1
        in_doubt = in_doubt or error.maybe_sent
        if error.permanent or attempts >= self.max_attempts:
            await self._give_up(message, str(error), in_doubt=in_doubt)
            return
        if error.retry_after is not None:
            delay = max(error.retry_after, 0.0)
        else:
            delay = backoff_seconds(attempts, rng=self.rng)
        retry_at = self.clock() + timedelta(seconds=delay)
        if error.retry_after is not None and hold:
            address = address_from_dict(message.address)
            await self.pacer.hold(Platform(message.platform), address.target, until=retry_at)
        log.warning(
            "delivery_retry",
            outbox_id=message.id,
            attempts=attempts,
            delay_s=round(delay, 2),
            error=str(error),
        )
        recorded = await outbox.mark_failed(
            self.db,
            message.id,
            token=message.claim_token,
            error=str(error),
            retry_at=retry_at,
            in_doubt=in_doubt,
        )
        if not recorded:
            self._lost(message, "after a failure")
        self._count(message, "retry")

    async def _give_up(self, message: outbox.Claimed, reason: str, *, in_doubt: bool = False) -> None:
        recorded = await outbox.mark_failed(
            self.db, message.id, token=message.claim_token, error=reason, retry_at=None, in_doubt=in_doubt
        )
        if not recorded:
            self._lost(message, "giving up")
            return
        self._count(message, "dead")
        log.error("delivery_dead", outbox_id=message.id, purpose=message.purpose, reason=reason)
        if self.on_dead is not None:
            result = self.on_dead(message, reason)
            if asyncio.iscoroutine(result):
                await result
