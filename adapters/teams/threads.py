"""Replies in the thread of a feedback item's or a health alert's post in a Teams channel.

A post Touchpoint makes in a channel starts a thread; a reply in it arrives with the conversation id
``{channel};messageid={first message's id}``. The app package asks for the resource-specific permission
``ChannelMessage.Read.Group``, so Teams sends channel messages that do not mention Touchpoint too. Such
a message is kept when it is a reply in a living message's thread (on the item's history and its
account's timeline, :func:`bot.core.threads.keep_thread_reply`) and otherwise dropped at once, unread
and unstored: only a message that mentions Touchpoint is a question for it, as before the permission.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from botbuilder.core import TurnContext
from botbuilder.schema import Activity

from adapters.teams.activities import kind_of, tenant_of, thread_of
from adapters.teams.conversations import CHANNEL
from adapters.teams.delivery import base_conversation_id
from adapters.teams.html_text import html_text
from adapters.teams.identity import TeamsIdentity
from bot.core.dispatch import Bot
from bot.core.threads import ThreadMessage, conversations_of, keep_thread_reply
from bot.types import Actor, Platform

MESSAGE_LINK = "https://teams.microsoft.com/l/message/"


def mentions_bot(activity: Activity) -> bool:
    """Whether the message mentions Touchpoint (a mention entity naming the bot)."""
    for entity in activity.entities or []:
        if getattr(entity, "type", None) != "mention":
            continue
        mentioned = (getattr(entity, "additional_properties", None) or {}).get("mentioned")
        if isinstance(mentioned, dict) and mentioned.get("id") == activity.recipient.id:
            return True
    return False


def unmentioned_channel_message(activity: Activity) -> bool:
    """A typed channel message that does not mention Touchpoint (Teams sends it only under the
    resource-specific permission): not a question for the bot. A card's submit is not typed."""
    if kind_of(activity) != CHANNEL or activity.value:
        return False
    return not mentions_bot(activity)


def thread_message(activity: Activity) -> ThreadMessage | None:
    """The reply a channel message holds, or None when it is not a reply in a thread."""
    root = thread_of(activity)
    if kind_of(activity) != CHANNEL or not root or not activity.id or root == activity.id:
        return None
    channel = base_conversation_id(str(activity.conversation.id))
    query = {"parentMessageId": root, **({"tenantId": tenant} if (tenant := tenant_of(activity)) else {})}
    link = f"{MESSAGE_LINK}{quote(channel, safe='')}/{quote(str(activity.id), safe='')}?{urlencode(query)}"
    text = str(activity.text or "")
    if (activity.text_format or "").lower() != "plain" or "<" in text:
        text = html_text(text)
    return ThreadMessage(
        root=root,
        conversations=conversations_of(channel),
        reply_id=f"{channel}:{activity.id}",
        text=text,
        link=link,
    )


async def channel_discussion(turn_context: TurnContext, bot: Bot, identity: TeamsIdentity) -> bool:
    """True when the activity is a channel message that does not mention Touchpoint: kept when it is a
    reply in a living message's thread, dropped otherwise; either way not a question to answer."""
    activity = turn_context.activity
    if not unmentioned_channel_message(activity):
        return False
    message = thread_message(activity)
    if message is not None:

        async def author() -> Actor:
            return await identity.actor(turn_context)

        ctx = bot.context
        await keep_thread_reply(ctx.db, message, platform=Platform.TEAMS, actor_of=author, now=ctx.now())
    return True
