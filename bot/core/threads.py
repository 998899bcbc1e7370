"""Replies in the thread of a living message: the discussion of a feedback item or a health alert.

An adapter that sees a message written in a thread hands it here with the thread's first message (its
platform id) and the conversations it may have been posted to. When that first message is the post of
a feedback item or a health alert (:mod:`storage.living`), the reply is kept: on the item's history
and on its account's timeline. Only registered people's replies are kept: a thread in a channel other
organisations share can hold anyone's words, and those do not belong in an account's history.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.log import get_logger
from bot.types import Actor, Platform
from storage import living
from storage.db import Database

log = get_logger("touchpoint.threads")

MAX_REPLY = 3000


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """A message written in a thread, as an adapter read it."""

    root: str  # the platform's id of the thread's first message
    conversations: tuple[str, ...]  # the address targets that lead to the thread's conversation
    reply_id: str  # the platform's id of the reply itself
    text: str
    link: str | None = None


async def keep_thread_reply(
    db: Database,
    message: ThreadMessage,
    *,
    platform: Platform,
    actor_of: Callable[[], Awaitable[Actor]],
    now: datetime,
) -> bool:
    """Keep ``message`` when it is written in the thread of a living message's post. True: it is (kept
    now, kept already, or left out because its author is not registered); False: it is not, and the
    adapter treats it as it would anyway. The author is looked up (``actor_of``) only for a living
    thread, so the many other threads of a busy channel cost one indexed read each."""
    text = message.text.strip()
    if not text or not message.root or not message.reply_id:
        return False
    subject = await living.subject_of_thread(
        db, platform=platform.value, root=message.root, conversations=message.conversations
    )
    if subject is None:
        return False
    actor = await actor_of()
    if not actor.is_registered:
        log.info("thread_reply_skipped", reason="author not registered", subject=subject.kind)
        return True  # a living thread all the same: not a command to answer
    kept = await living.add_reply(
        db,
        subject,
        author_id=actor.person_id,
        platform=platform.value,
        message_id=message.reply_id,
        text=text[:MAX_REPLY],
        link=message.link,
        at=now,
    )
    log.info("thread_reply_kept", subject=subject.kind, subject_id=subject.id, new=kept)
    return True


def conversations_of(*targets: str | None) -> tuple[str, ...]:
    """The non-empty targets, each once."""
    return tuple(dict.fromkeys(t for t in targets if t))


__all__: Sequence[str] = ["ThreadMessage", "conversations_of", "keep_thread_reply"]
