"""Posting outbox messages to Slack for the delivery worker.

This client has no retry handlers of its own: the worker decides about retries and keeps them in the
database, so a restart in the middle of a back-off loses nothing and no request blocks the worker.

An image generated here (a digest's chart: ``attachment://NAME`` with its bytes) is uploaded first with
``files_upload_v2``, unshared, and the message shows it with an image block naming the Slack file. If
the message then fails, the retry uploads again; an unshared orphan file is the worst outcome, never a
duplicate message. An attachment without bytes is shown as a line of small print with its title.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.render import SLACK_FILE_SCHEME, render_message
from bot.delivery import DeliveryError
from bot.settings import Settings
from bot.types import Address, Block, Context, Image, Reply

ATTACHMENT_SCHEME = "attachment://"
DEFAULT_RETRY_AFTER_SECONDS = 1.0

# Slack errors that no retry can fix.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "user_not_found",
        "user_disabled",
        "account_inactive",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "missing_scope",
        "invalid_blocks",
        "msg_too_long",
        "cannot_dm_bot",
    }
)


class SlackSender:
    """The worker's :class:`bot.delivery.Sender` for Slack: ``chat.postMessage`` to a channel, or to a
    person's DM when the target is a user id (opened with ``conversations.open`` and remembered)."""

    def __init__(self, settings: Settings, client: AsyncWebClient | None = None) -> None:
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        self.client = client or AsyncWebClient(
            token=token, base_url=settings.slack_api_url, retry_handlers=[]
        )
        self._dm_channels: dict[str, str] = {}

    async def send(self, address: Address, reply: Reply) -> str | None:
        try:
            channel = await self._channel(address.target)
            reply = await self._upload_images(reply)
            response = await self.client.chat_postMessage(
                channel=channel, thread_ts=address.thread, **render_message(without_attachments(reply))
            )
        except SlackApiError as error:
            raise delivery_error(error) from error
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            raise DeliveryError(f"network: {type(error).__name__}: {error}") from error
        return str(response.get("ts") or "") or None

    async def _upload_images(self, reply: Reply) -> Reply:
        """Each generated image uploaded as a Slack file, its block pointing at the file."""
        if not any(isinstance(b, Image) and b.data is not None for b in reply.blocks):
            return reply
        blocks: list[Block] = []
        for block in reply.blocks:
            if isinstance(block, Image) and block.data is not None:
                name = block.url.removeprefix(ATTACHMENT_SCHEME) or "image.png"
                response = await self.client.files_upload_v2(
                    content=block.data, filename=name, title=block.title or block.alt
                )
                file_id = str((response.get("file") or {}).get("id") or "")
                block = dataclasses.replace(block, url=f"{SLACK_FILE_SCHEME}{file_id}", data=None)
            blocks.append(block)
        return dataclasses.replace(reply, blocks=tuple(blocks))

    async def _channel(self, target: str) -> str:
        """A user id becomes their DM channel with the bot (conversations.open, remembered)."""
        if not target.startswith(("U", "W")):
            return target
        if target not in self._dm_channels:
            response = await self.client.conversations_open(users=target)
            channel = (response.get("channel") or {}).get("id")
            if not channel:
                raise DeliveryError(f"slack: conversations.open gave no channel for {target}")
            self._dm_channels[target] = str(channel)
        return self._dm_channels[target]


def without_attachments(reply: Reply) -> Reply:
    """``reply`` with each ``attachment://`` image as a line of small print naming it."""
    if not any(isinstance(b, Image) and b.url.startswith(ATTACHMENT_SCHEME) for b in reply.blocks):
        return reply
    blocks: list[Block] = [
        Context((block.title or block.alt,))
        if isinstance(block, Image) and block.url.startswith(ATTACHMENT_SCHEME)
        else block
        for block in reply.blocks
    ]
    return dataclasses.replace(reply, blocks=tuple(blocks))


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A response header by name, whatever its case."""
    wanted = name.lower()
    for key, value in (headers or {}).items():
        if key.lower() == wanted:
            return value
    return None


def delivery_error(error: SlackApiError) -> DeliveryError:
    """What the worker should do about a refused call: wait (429), give up (permanent), or back off."""
    status = error.response.status_code
    data = error.response.data if isinstance(error.response.data, dict) else {}
    code = str(data.get("error") or f"http_{status}")
    if status == 429 or code == "ratelimited":
        value = header(error.response.headers, "Retry-After")
        try:
            seconds = float(value) if value is not None else DEFAULT_RETRY_AFTER_SECONDS
        except ValueError:
            seconds = DEFAULT_RETRY_AFTER_SECONDS
        return DeliveryError(f"slack: rate limited ({code})", retry_after=max(seconds, 0.0))
    return DeliveryError(f"slack: {code}", permanent=code in PERMANENT_ERRORS)
