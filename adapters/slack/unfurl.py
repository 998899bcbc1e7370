"""Slack link unfurls: a link to an account's CRM record, posted in a conversation, gets a compact card.

Slack sends ``link_shared`` for links on the domains the manifest registers (``unfurl_domains``). The
event is acknowledged at once; then each link that names a record linked to an account
(:func:`handlers.account_links.accounts_for_urls`) gets the account's compact card through
``chat.unfurl`` (``channel`` and ``ts``, ``unfurls`` mapping each URL to ``{"blocks": [...]}``).

What is not unfurled, silently: links to records Touchpoint has not linked; links shared by someone
who is not registered with Touchpoint; links still in the message composer (``source: composer``: the
conversation they will go to is not known yet, and Slack sends the event again once the message is
posted); and any link in a conversation whose policy keeps account data out (shared with another
organisation and not allowed by an admin, or not describable now). In a shared channel an admin allowed,
the card shows only the allowed fields.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.identity import SlackIdentity
from adapters.slack.render import render_message
from bot.channels.privacy import channel_policy
from bot.core.dispatch import Bot
from bot.log import get_logger
from bot.types import Address, Platform
from handlers.account_links import accounts_for_urls, compact_card

log = get_logger("touchpoint.slack.unfurl")

MAX_LINKS = 10  # links unfurled per message; Slack sends a few at most


def links_of(event: dict[str, Any]) -> list[str]:
    """The URLs of a ``link_shared`` event, in order, each once."""
    urls: list[str] = []
    for link in event.get("links") or []:
        url = link.get("url") if isinstance(link, dict) else None
        if isinstance(url, str) and url not in urls:
            urls.append(url)
    return urls[:MAX_LINKS]


class SlackUnfurler:
    def __init__(self, bot: Bot, client: AsyncWebClient, identity: SlackIdentity) -> None:
        self.bot = bot
        self.client = client
        self.identity = identity

    async def unfurl(self, event: dict[str, Any]) -> int:
        """Unfurl what can be unfurled of a ``link_shared`` event; returns how many links were."""
        channel = str(event.get("channel") or event.get("channel_id") or "")
        ts = str(event.get("message_ts") or "")
        if event.get("source") == "composer" or channel in ("", "COMPOSER") or not ts:
            return 0
        urls = links_of(event)
        ctx = self.bot.context
        accounts = await accounts_for_urls(ctx, urls)
        if not accounts:
            return 0
        actor = await self.identity.actor(str(event.get("user") or ""))
        if not actor.is_registered:
            log.info("slack_unfurl_skipped", reason="sharer not registered", channel=channel)
            return 0
        policy = await channel_policy(
            ctx.db, ctx.sharing_checks, Address(platform=Platform.SLACK, target=channel, private=False)
        )
        if policy.closed:
            log.info("slack_unfurl_skipped", reason="shared channel", channel=channel)
            return 0
        unfurls: dict[str, Any] = {}
        for url, account_id in accounts.items():
            card = await compact_card(ctx, account_id, policy)
            if card is not None:
                unfurls[url] = {"blocks": render_message(card)["blocks"]}
        if not unfurls:
            return 0
        try:
            await self.client.chat_unfurl(channel=channel, ts=ts, unfurls=unfurls)
        except SlackApiError as error:
            # cannot_unfurl_url (an admin's block list, a link since removed) and the like: nothing to tell.
            log.warning("slack_unfurl_refused", channel=channel, error=str(error.response.get("error")))
            return 0
        return len(unfurls)
