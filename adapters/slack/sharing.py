"""Whether a Slack conversation is shared with another organisation (Slack Connect).

``conversations.info`` says it: ``is_ext_shared`` (shared with an external organisation) and
``is_pending_ext_shared`` (an invitation to one is pending) both count as shared, since account data
posted now would be read by them once they join; a direct message with someone of another
organisation too. Any other direct message is no channel. The answer is kept
for a few minutes per conversation: a channel's sharing changes rarely, while the feed asks on every
run. When Slack cannot answer (the app is not in the channel, an error) the check says it cannot tell,
and the privacy rule keeps account data out.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.privacy import Sharing
from bot.log import get_logger
from bot.types import Address

log = get_logger("touchpoint.slack.sharing")

KEEP_SECONDS = 300.0
MAX_KEPT = 5000


def sharing_of_channel(channel: dict[str, object]) -> Sharing:
    """What a ``conversations.info`` channel object says."""
    if channel.get("is_ext_shared") or channel.get("is_pending_ext_shared"):
        return Sharing.EXTERNAL
    if channel.get("is_im"):
        return Sharing.DIRECT
    return Sharing.INTERNAL


class SlackSharing:
    def __init__(self, client: AsyncWebClient, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.clock = clock
        self._kept: dict[str, tuple[float, Sharing]] = {}

    async def check(self, address: Address) -> Sharing:
        channel_id = address.target
        kept = self._kept.get(channel_id)
        now = self.clock()
        if kept is not None and now - kept[0] < KEEP_SECONDS:
            return kept[1]
        try:
            response = await self.client.conversations_info(channel=channel_id)
        except SlackApiError as error:
            log.warning("slack_channel_unknown", channel=channel_id, error=str(error.response.get("error")))
            return Sharing.UNKNOWN
        except Exception as error:  # a dropped connection, a timeout: ask again next time
            log.warning("slack_channel_unknown", channel=channel_id, error=type(error).__name__)
            return Sharing.UNKNOWN
        channel = response.get("channel")
        sharing = sharing_of_channel(channel) if isinstance(channel, dict) else Sharing.UNKNOWN
        if sharing is not Sharing.UNKNOWN:
            if len(self._kept) >= MAX_KEPT:
                self._kept.clear()
            self._kept[channel_id] = (now, sharing)
        return sharing
