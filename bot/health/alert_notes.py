"""A health alert's post is a living message: what happens to the alert afterwards is written on it.

The alert's owner logging a follow-up from its button, and the account leaving red again, each add a
line of small print to the same message (rewritten in place through the outbox, :mod:`storage.living`)
instead of a new message. Once the account is out of red the alert's work buttons go; "Open account"
stays. The post's current content is the starting point, so the lines add up.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import actions
from bot.serialize import reply_from_dict, reply_to_dict
from bot.types import Actions, Block, Context, Reply
from storage import living

PURPOSE = "alert"


def alert_subject(alert_id: int) -> living.Subject:
    return living.Subject(kind=living.ALERT, id=alert_id)


def with_note(reply: Reply, line: str, *, closed: bool) -> Reply:
    """``reply`` with ``line`` added above its buttons; ``closed`` keeps only "Open account"."""
    body: list[Block] = [block for block in reply.blocks if not isinstance(block, Actions)]
    buttons = [b for block in reply.blocks if isinstance(block, Actions) for b in block.buttons]
    if closed:
        buttons = [b for b in buttons if b.action == actions.ACCOUNT_OPEN]
    body.append(Context((line,)))
    if buttons:
        body.append(Actions(tuple(buttons)))
    return Reply(summary=reply.summary, blocks=tuple(body), shared=reply.shared)


async def note_in(
    session: AsyncSession, alert_id: int, line: str, *, revision: str, now: datetime, closed: bool = False
) -> int:
    """Write ``line`` on the alert's post, in the caller's transaction; returns the edits queued (none
    when the alert has no post: sent before posts were kept, or its owner was unreachable)."""
    subject = alert_subject(alert_id)
    contents = await living.contents_in(session, subject)
    if not contents:
        return 0
    reply = with_note(reply_from_dict(contents[0]), line, closed=closed)
    return await living.edit_in(
        session, subject, reply_to_dict(reply), revision=revision, purpose=PURPOSE, now=now
    )
