"""Sending to the Bot Connector: a per-conversation rate limit and retries with backoff.

Every call the adapter makes to the connector (replies, proactive posts, card updates, member look-ups)
goes through :class:`Sender`. During a turn, throttled or briefly failing answers (429, 412, 502, 503,
504, and connection errors) are tried again after ``Retry-After`` when the service gives one, else
after an exponential backoff with jitter; anything else fails at once with :class:`TeamsDeliveryError`.
A call made ``once`` (an outbox send) is tried a single time and never waits: a throttled or failing
conversation goes straight back to the outbox, which retries it (honouring Retry-After) while the rest
of the batch goes on. The connector's own HTTP retries are switched off (see :mod:`adapters.teams.auth`)
so these are the only places that decide.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from msrest.exceptions import ClientRequestError, HttpOperationError

from adapters.teams import limits
from bot.delivery.pacing import retry_after_seconds
from bot.log import get_logger

log = get_logger("touchpoint.teams.delivery")
T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


class TeamsDeliveryError(Exception):
    """A message could not be delivered to Teams (after any retries).

    ``status`` is the Bot Connector's HTTP status (None for a network error), ``retry_after`` the
    seconds it asked to wait; ``permanent`` tells an outbox that trying again later cannot help.
    """

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after

    @property
    def permanent(self) -> bool:
        return self.status is not None and self.status < 500 and self.status not in limits.RETRY_STATUSES


class TeamsHeld(TeamsDeliveryError):
    """Not sent: the conversation is at its rate limit in this process (the connector was not asked)."""


class TeamsUnreachable(TeamsDeliveryError):
    """There is no stored conversation to post to (the app is not installed there, or never spoken to)."""

    @property
    def permanent(self) -> bool:
        return True


def base_conversation_id(conversation_id: str) -> str:
    """A channel conversation without its ``;messageid=`` thread part."""
    return conversation_id.split(";", 1)[0]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before try ``attempt + 1``: Retry-After if given, else backoff with jitter."""
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        backoff: float = self.base_delay * 2.0 ** (attempt - 1)
        jitter = 0.75 + random.random() / 2
        return min(self.max_delay, backoff * jitter)


class RateLimiter:
    """At most ``limit`` sends per ``window`` seconds for each conversation, for every window given.

    Callers wait (without blocking the loop) until a send fits. State lives in this process; several
    replicas each keep their own share, which the Bot Connector's 429 answers then even out.
    """

    def __init__(
        self,
        windows: tuple[tuple[float, int], ...] = limits.RATE_WINDOWS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._windows = windows
        self._longest = max(window for window, _ in windows)
        self._clock = clock
        self._sleep = sleep
        self._sent: defaultdict[str, deque[float]] = defaultdict(deque)

    def wait_time(self, key: str) -> float:
        now = self._clock()
        sent = self._sent.get(key)
        if not sent:
            return 0.0
        while sent and sent[0] <= now - self._longest:
            sent.popleft()
        wait = 0.0
        for window, limit in self._windows:
            recent = [t for t in sent if t > now - window]
            if len(recent) >= limit:
                wait = max(wait, recent[-limit] + window - now)
        return wait

    async def acquire(self, key: str) -> None:
        while True:
            wait = self.try_acquire(key)
            if wait <= 0:
                return
            await self._sleep(wait)

    def try_acquire(self, key: str) -> float:
        """Count a send now if it fits (returns 0), else the seconds until it would (nothing counted)."""
        wait = self.wait_time(key)
        if wait <= 0:
            self._sent[key].append(self._clock())
            self._forget_idle()
        return wait

    def _forget_idle(self) -> None:
        if len(self._sent) < 1000:
            return
        cutoff = self._clock() - self._longest
        for key in [k for k, sent in self._sent.items() if not sent or sent[-1] <= cutoff]:
            del self._sent[key]


def _status_and_retry_after(error: HttpOperationError) -> tuple[int | None, float | None]:
    response: Any = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    headers = getattr(response, "headers", None) or {}
    return (int(status) if status is not None else None), retry_after_seconds(headers.get("Retry-After"))


class Sender:
    """Runs connector calls under the rate limit, retrying what is worth retrying."""

    def __init__(
        self,
        *,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.limiter = limiter or RateLimiter(sleep=sleep)
        self._sleep = sleep

    async def call(
        self,
        what: str,
        conversation_id: str,
        operation: Callable[[], Awaitable[T]],
        *,
        limited: bool = True,
        once: bool = False,
    ) -> T:
        """``operation()`` with retries; ``limited`` calls count against the conversation's rate.
        ``once``: a single try that never waits (the caller retries later)."""
        key = base_conversation_id(conversation_id)
        attempts = 1 if once else self.retry.attempts
        for attempt in range(1, attempts + 1):
            if limited and once:
                wait = self.limiter.try_acquire(key)
                if wait > 0:
                    message = f"Teams {what} held: conversation at its rate limit"
                    raise TeamsHeld(message, status=429, retry_after=wait)
            elif limited:
                await self.limiter.acquire(key)
            try:
                return await operation()
            except HttpOperationError as error:
                status, retry_after = _status_and_retry_after(error)
                if status not in limits.RETRY_STATUSES or attempt == attempts:
                    message = f"Teams {what} failed with HTTP {status}"
                    raise TeamsDeliveryError(message, status=status, retry_after=retry_after) from error
            except ClientRequestError as error:
                status, retry_after = None, None
                if attempt == attempts:
                    raise TeamsDeliveryError(f"Teams {what} failed: {type(error).__name__}") from error
            delay = self.retry.delay(attempt, retry_after)
            log.warning("teams_send_retry", what=what, status=status, attempt=attempt, delay=round(delay, 2))
            await self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover
