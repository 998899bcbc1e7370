"""What the worker asks of a platform's sender, and what a failed send tells it."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.types import Address, Reply

BASE_BACKOFF_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 900.0


class DeliveryError(Exception):
    """A send that failed. ``retry_after`` (seconds) comes from a 429; ``permanent`` means retrying
    cannot help (a channel that does not exist, a person with no conversation). ``maybe_sent`` means
    the platform may have taken the message all the same (a timeout, a dropped connection, a 5xx
    answer): the row stays marked in doubt, so the next attempt looks before posting again.
    ``untried`` means the platform was never asked (a local rate limit said wait): no attempt is
    counted, so waiting can never make a message dead."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        permanent: bool = False,
        maybe_sent: bool = False,
        untried: bool = False,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent
        self.maybe_sent = maybe_sent
        self.untried = untried


class Sender(Protocol):
    """What an adapter offers the worker: post one reply to one address, return the platform's id."""

    async def send(self, address: Address, reply: Reply) -> str | None: ...


@runtime_checkable
class Findable(Protocol):
    """A sender whose posts carry the outbox key and can be found again by it (Slack: message
    metadata). After a crash the worker looks before posting a message that may already be there."""

    async def post(self, address: Address, reply: Reply, *, key: str) -> str | None:
        """Post like :meth:`Sender.send`, tagging the message with ``key``."""
        ...

    async def find_sent(self, address: Address, *, key: str, since: datetime) -> str | None:
        """The platform's id of the message tagged ``key`` posted to ``address`` from ``since`` on
        (a little before, for clock skew); None when there is none. Raises :class:`DeliveryError`
        when it cannot tell (then nothing is posted)."""
        ...


@runtime_checkable
class Editable(Protocol):
    """A sender that can rewrite a message it posted (Slack ``chat.update``, Teams ``updateActivity``):
    how a living message shows its subject's new state without a new post."""

    async def edit(self, address: Address, message_id: str, reply: Reply) -> None:
        """Show ``reply`` in place of the message ``message_id`` posted to ``address``."""
        ...


def backoff_seconds(attempts: int, *, rng: random.Random) -> float:
    """2, 4, 8 ... seconds (capped at 15 minutes), each scaled by a random 0.5-1.5 so retries spread out."""
    base = min(BASE_BACKOFF_SECONDS * 2.0 ** max(0, attempts - 1), MAX_BACKOFF_SECONDS)
    return float(base * rng.uniform(0.5, 1.5))
