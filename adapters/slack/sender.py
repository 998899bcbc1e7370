"""Posting outbox messages to Slack for the delivery worker.

This client has no retry handlers of its own: the worker decides about retries and keeps them in the
database, so a restart in the middle of a back-off loses nothing and no request blocks the worker.

An image generated here (a digest's chart: ``attachment://NAME`` with its bytes) is uploaded first with
``files_upload_v2``, unshared, and the message shows it with an image block naming the Slack file. If
the message then fails, the retry uploads again; an unshared orphan file is the worst outcome, never a
duplicate message. An attachment without bytes is shown as a line of small print with its title.

Every outbox post carries its idempotency key as message metadata (event type
:data:`METADATA_EVENT_TYPE`). When a post's outcome was never recorded (the process died between
Slack's answer and the database), :meth:`SlackSender.find_sent` looks for the key in the conversation
around the time of that send (``conversations.history``, or ``conversations.replies`` in a thread,
with ``include_all_metadata``) before anything is posted again. Reading a channel's history needs the
app in the channel and the ``channels:history``/``groups:history`` scopes (``im:history`` for DMs);
where Slack refuses the look-up, the message is posted again (at least once, never lost).

A living message (a feedback item's or a health alert's post) is rewritten with ``chat.update``
(:meth:`SlackSender.edit`); a DM target is the same user id, opened to its DM channel as for a post.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.render import SLACK_FILE_SCHEME, render_message
from bot.delivery import DeliveryError
from bot.log import get_logger
from bot.settings import Settings
from bot.types import Address, Block, Context, Image, Reply

log = get_logger("touchpoint.slack.sender")

ATTACHMENT_SCHEME = "attachment://"
DEFAULT_RETRY_AFTER_SECONDS = 1.0
METADATA_EVENT_TYPE = "touchpoint_outbox_message"
# The window searched for a post whose send began at ``since``: a little before (clocks differ) and
# well past the client's 30-second timeout.
LOOKUP_BEFORE = timedelta(seconds=60)
LOOKUP_AFTER = timedelta(minutes=5)
LOOKUP_PAGE_SIZE = 100  # Slack may cap it lower (15 for some apps); the pages follow the cursor
LOOKUP_MAX_PAGES = 20
# Refusals of a look-up that mean "cannot look here", not "try later": post again instead.
LOOKUP_UNAVAILABLE = frozenset(
    {"missing_scope", "not_in_channel", "channel_not_found", "thread_not_found", "not_allowed_token_type"}
)

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
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
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
        """Post ``reply`` without an outbox key (nothing to look it up by later)."""
        return await self._post(address, reply, key=None)

    async def post(self, address: Address, reply: Reply, *, key: str) -> str | None:
        """Post ``reply`` tagged with the outbox ``key`` (message metadata); returns its ``ts``."""
        return await self._post(address, reply, key=key)

    async def _post(self, address: Address, reply: Reply, *, key: str | None) -> str | None:
        try:
            channel = await self._channel(address.target)
            reply = await self._upload_images(reply)
        except SlackApiError as error:
            raise delivery_error(error) from error
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            raise DeliveryError(f"network: {type(error).__name__}: {error}") from error
        metadata = None
        if key is not None:
            metadata = {"event_type": METADATA_EVENT_TYPE, "event_payload": {"outbox_key": key}}
        try:
            response = await self.client.chat_postMessage(
                channel=channel,
                thread_ts=address.thread,
                metadata=metadata,
                **render_message(without_attachments(reply)),
            )
        except SlackApiError as error:  # a 5xx may have posted all the same
            raise delivery_error(error, maybe_sent=error.response.status_code >= 500) from error
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            raise DeliveryError(f"network: {type(error).__name__}: {error}", maybe_sent=True) from error
        return str(response.get("ts") or "") or None

    async def edit(self, address: Address, message_id: str, reply: Reply) -> None:
        """Rewrite the message ``message_id`` (its ``ts``) with ``reply``: ``chat.update``. An edit can
        be sent twice without harm, so any failure short of a refusal is worth another try."""
        try:
            channel = await self._channel(address.target)
            await self.client.chat_update(
                channel=channel, ts=message_id, **render_message(without_attachments(reply))
            )
        except SlackApiError as error:
            raise delivery_error(error) from error
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            raise DeliveryError(f"network: {type(error).__name__}: {error}") from error

    async def find_sent(self, address: Address, *, key: str, since: datetime) -> str | None:
        """The ``ts`` of the message tagged ``key`` posted to ``address`` around ``since``, or None."""
        oldest, latest = since - LOOKUP_BEFORE, since + LOOKUP_AFTER
        try:
            channel = await self._channel(address.target)
            cursor: str | None = None
            for _ in range(LOOKUP_MAX_PAGES):
                page = await self._history_page(channel, address.thread, oldest, latest, cursor)
                for message in page.get("messages") or []:
                    if _tagged(message, key):
                        return str(message.get("ts") or "") or None
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not page.get("has_more") or not cursor:
                    return None
        except SlackApiError as error:
            if error_code(error) in LOOKUP_UNAVAILABLE:
                log.warning("slack_lookup_unavailable", channel=address.target, error=error_code(error))
                return None  # cannot look: post again (at least once)
            failure = delivery_error(error)
            raise DeliveryError(f"look-up: {failure}", retry_after=failure.retry_after) from error
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            raise DeliveryError(f"look-up: network: {type(error).__name__}: {error}") from error
        log.warning("slack_lookup_gave_up", channel=address.target, pages=LOOKUP_MAX_PAGES)
        return None

    async def _history_page(
        self, channel: str, thread: str | None, oldest: datetime, latest: datetime, cursor: str | None
    ) -> Any:
        window: dict[str, Any] = {
            "oldest": f"{oldest.timestamp():.6f}",
            "latest": f"{latest.timestamp():.6f}",
            "inclusive": True,
            "include_all_metadata": True,
            "limit": LOOKUP_PAGE_SIZE,
            "cursor": cursor,
        }
        if thread:
            return await self.client.conversations_replies(channel=channel, ts=thread, **window)
        return await self.client.conversations_history(channel=channel, **window)

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


def _tagged(message: Any, key: str) -> bool:
    metadata = message.get("metadata") if isinstance(message, dict) else None
    if not isinstance(metadata, dict) or metadata.get("event_type") != METADATA_EVENT_TYPE:
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, dict) and payload.get("outbox_key") == key


def error_code(error: SlackApiError) -> str:
    """Slack's error code (``channel_not_found``), or ``http_503`` when the answer had none."""
    data = error.response.data if isinstance(error.response.data, dict) else {}
    return str(data.get("error") or f"http_{error.response.status_code}")


def delivery_error(error: SlackApiError, *, maybe_sent: bool = False) -> DeliveryError:
    """What the worker should do about a refused call: wait (429), give up (permanent), or back off."""
    status = error.response.status_code
    code = error_code(error)
    if status == 429 or code == "ratelimited":
        value = header(error.response.headers, "Retry-After")
        try:
            seconds = float(value) if value is not None else DEFAULT_RETRY_AFTER_SECONDS
        except ValueError:
            seconds = DEFAULT_RETRY_AFTER_SECONDS
        return DeliveryError(f"slack: rate limited ({code})", retry_after=max(seconds, 0.0))
    return DeliveryError(f"slack: {code}", permanent=code in PERMANENT_ERRORS, maybe_sent=maybe_sent)
