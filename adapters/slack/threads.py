"""Replies in the thread of a feedback item's or a health alert's post, as Slack sends them.

Slack sends every message in a conversation the app is in as a ``message`` event (``message.channels``,
``message.groups``, ``message.im``); one written in a thread carries the ``thread_ts`` of the thread's
first message, different from its own ``ts``. Such a reply under a living message's post is kept on the
item's history and its account's timeline (:func:`bot.core.threads.keep_thread_reply`), and nothing is
said in the channel. A reply that mentions the app is a question for it: the ``app_mention`` event
answers it, and it is not kept as discussion.

A post sent to a person is addressed by their user id; its thread is in their DM with the app, so a
reply in a DM also matches the posts addressed to its author.
"""

from __future__ import annotations

from typing import Any

from adapters.slack.identity import SlackIdentity
from adapters.slack.requests import message_link
from bot.core.dispatch import Bot
from bot.core.threads import ThreadMessage, conversations_of, keep_thread_reply
from bot.types import Actor, Platform
from storage import text as texts


def thread_message(event: dict[str, Any]) -> ThreadMessage | None:
    """The reply a ``message`` event holds, or None when it is not a person's reply in a thread."""
    if event.get("subtype") or event.get("bot_id"):
        return None
    channel, ts, root = (str(event.get(k) or "") for k in ("channel", "ts", "thread_ts"))
    if not channel or not ts or not root or root == ts:
        return None
    user = str(event.get("user") or "")
    link = message_link(channel, ts)
    return ThreadMessage(
        root=root,
        conversations=conversations_of(channel, user if channel.startswith("D") else None),
        reply_id=f"{channel}:{ts}",
        text=texts.sanitize(str(event.get("text") or ""), multiline=True),
        link=f"{link}?thread_ts={root}&cid={channel}" if link else None,
    )


class SlackThreads:
    def __init__(self, bot: Bot, identity: SlackIdentity) -> None:
        self.bot = bot
        self.identity = identity

    async def keep(self, event: dict[str, Any], *, bot_user_id: str | None) -> bool:
        """True when ``event`` is a reply in a living message's thread (kept, or left out because its
        author is not registered); False: the event is for the other listeners."""
        message = thread_message(event)
        if message is None:
            return False
        if bot_user_id and f"<@{bot_user_id}>" in str(event.get("text") or ""):
            return False  # a question for the app: app_mention answers it
        user = str(event.get("user") or "")

        async def author() -> Actor:
            return await self.identity.actor(user)

        ctx = self.bot.context
        return await keep_thread_reply(
            ctx.db, message, platform=Platform.SLACK, actor_of=author, now=ctx.now()
        )


def ignorable(event: Any) -> bool:
    """A ``message`` event in a channel that is not a person's reply in a thread: the app subscribes to
    channel messages only for the threads of its own posts, so such an event is answered at once and
    nothing of it is read or stored (DMs and mentions are answered as before)."""
    if not isinstance(event, dict) or event.get("type") != "message" or event.get("channel_type") == "im":
        return False
    return thread_message(event) is None
