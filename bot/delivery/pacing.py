"""How fast the worker may send, for the whole cluster: the slots live in the database
(:mod:`storage.pacing`), so every replica draws on one budget instead of each assuming it is alone.

Two kinds of key: one per place (a channel, a DM, a conversation), spaced by the platform's
per-conversation pace, and one per platform as a whole (Slack's workspace-wide rate). A 429 holds
what the platform limited: Slack limits the workspace, so every Slack send waits for Retry-After;
Teams limits each conversation, so only that conversation waits and the rest of the batch goes on.
The hold is written to the shared slots too, so other replicas wait as well instead of each drawing
its own 429.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from bot.types import Platform
from storage import pacing
from storage.db import Database

# Minimum seconds between two sends to the same place: Slack allows about one message per second per
# channel; Teams 7 per second per conversation and 60 per 30 seconds (0.55 s stays under both with a
# margin: at exactly 0.5 s the 61st send would land on the edge of the 30-second window).
PACING_SECONDS = {Platform.SLACK: 1.0, Platform.TEAMS: 0.55, Platform.CONSOLE: 0.0}
# Messages per minute to a whole platform, for all replicas together: Slack also limits what an app
# posts to one workspace ("several hundred messages per minute"); 300 keeps 1,000 DMs free of 429s.
RATE_PER_MINUTE = {Platform.SLACK: 300.0}
# Platforms whose 429 holds every send to them; the others hold only the place that was limited.
HOLD_WHOLE_PLATFORM = frozenset({Platform.SLACK})
# A send whose slot is further off than this goes back to the outbox for then, instead of holding up
# the rest of the batch.
MAX_SLOT_WAIT = timedelta(seconds=10)


def place_key(platform: Platform, target: str) -> str:
    return f"{platform.value}:{target}"


def platform_key(platform: Platform) -> str:
    return f"{platform.value}:*"  # no channel or conversation id is "*"


@dataclass
class Pacer:
    db: Database
    place_seconds: dict[Platform, float]
    rate_per_minute: dict[Platform, float]
    max_wait: timedelta = MAX_SLOT_WAIT
    _held: dict[str, datetime] = field(default_factory=dict)

    def gaps(self, platform: Platform, target: str) -> list[tuple[str, timedelta]]:
        """Each key a send to ``target`` draws on, with how long it then stays taken (zero: the key is
        only checked for a hold)."""
        place = self.place_seconds.get(platform, 0.0)
        rate = self.rate_per_minute.get(platform, 0.0)
        return [
            (place_key(platform, target), timedelta(seconds=max(place, 0.0))),
            (platform_key(platform), timedelta(seconds=60.0 / rate if rate > 0 else 0.0)),
        ]

    def held_until(self, platform: Platform, target: str, now: datetime) -> datetime | None:
        """Until when a 429 this worker saw holds sends to ``target`` (None: free, as far as it knows)."""
        until = max(
            (self._held.get(key) or now for key in (platform_key(platform), place_key(platform, target))),
        )
        return until if until > now else None

    async def reserve(self, platform: Platform, target: str, *, now: datetime) -> pacing.Slot:
        return await pacing.reserve(self.db, self.gaps(platform, target), now=now, max_wait=self.max_wait)

    async def hold(self, platform: Platform, target: str, *, until: datetime) -> None:
        key = platform_key(platform) if platform in HOLD_WHOLE_PLATFORM else place_key(platform, target)
        if len(self._held) > 1000:  # forget holds that are over
            self._held = {k: v for k, v in self._held.items() if v > until - timedelta(hours=1)}
        self._held[key] = max(until, self._held.get(key, until))
        await pacing.hold(self.db, key, until=until)


def retry_after_seconds(value: str | None, *, now: Callable[[], datetime] | None = None) -> float | None:
    """An HTTP ``Retry-After`` as seconds: a number, or an HTTP date (seconds from ``now`` until it);
    None when absent or unreadable. Every outside service's 429 and 503 are read with this."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    current = now() if now is not None else datetime.now(UTC)
    return max(0.0, (moment - current).total_seconds())
