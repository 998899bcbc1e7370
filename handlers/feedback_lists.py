"""Feedback lists: the items an actor sees (open, theirs, an account's, by tag), ten to a page, each
open one with its buttons, and the tone threshold that marks an item strongly negative."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from bot.core.context import BotContext
from bot.core.lookup import AccountRef
from bot.core.paging import paginate
from bot.feedback.messages import STATE_LABELS, item_buttons
from bot.feedback.routing import CS_TEAM, routing_from_settings
from bot.feedback.sentiment import STRONGLY_NEGATIVE, strongly_negative_marker
from bot.format import truncate
from bot.types import Actions, Block, Context, Header, Reply, Request, Text
from storage.models import Account, FeedbackItem, FeedbackState, Person, Role

MAX_LISTED = 500


def strongly_negative_threshold(ctx: BotContext) -> float:
    """The tone at or below which an item is marked strongly negative (the feedback settings)."""
    return routing_from_settings(ctx.settings).strongly_negative


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    item: FeedbackItem
    account_name: str | None
    originator_name: str | None
    recipient_name: str | None


async def list_feedback(
    ctx: BotContext,
    request: Request,
    *,
    mode: str,
    tags: Sequence[str] = (),
    account: AccountRef | None = None,
) -> Reply:
    actor = request.actor
    me = actor.person_id
    assert me is not None
    originator = aliased(Person)
    recipient = aliased(Person)
    query = (
        select(FeedbackItem, Account.name, originator.name, recipient.name)
        .outerjoin(Account, Account.id == FeedbackItem.account_id)
        .outerjoin(originator, originator.id == FeedbackItem.originator_id)
        .outerjoin(recipient, recipient.id == FeedbackItem.recipient_id)
        .order_by(FeedbackItem.created_at.desc(), FeedbackItem.id.desc())
        .limit(MAX_LISTED)
    )
    if account is not None:
        title = f"Feedback about {account.name}"
        query = query.where(FeedbackItem.account_id == account.id)
    else:
        query = query.where(FeedbackItem.state != FeedbackState.RESOLVED.value)
        mine = or_(FeedbackItem.recipient_id == me, FeedbackItem.originator_id == me)
        if mode == "mine":
            title = "Your open feedback"
            query = query.where(mine)
        elif actor.role == Role.ADMIN.value:
            title = "Open feedback"
        elif actor.role == Role.CX.value:
            title = "Open feedback for CX and you"
            to_cx = (FeedbackItem.recipient_id.is_(None)) & (FeedbackItem.originator_team == CS_TEAM)
            query = query.where(or_(mine, to_cx))
        elif actor.role == Role.CS_MANAGER.value:
            title = "Open feedback for your team"
            query = query.where(or_(mine, recipient.manager_id == me))
        else:
            title = "Your open feedback"
            query = query.where(mine)
    async with ctx.db.sessions() as session:
        rows = [FeedbackRow(*row) for row in (await session.execute(query)).all()]
    if tags:
        wanted = set(tags)
        rows = [r for r in rows if wanted <= set(r.item.tags or ())]
        title += " tagged " + " ".join(f"#{t}" for t in tags)
    return list_reply(request, title, rows, now=ctx.now(), strongly_negative=strongly_negative_threshold(ctx))


def list_reply(
    request: Request,
    title: str,
    rows: Sequence[FeedbackRow],
    *,
    now: datetime,
    strongly_negative: float = STRONGLY_NEGATIVE,
) -> Reply:
    """Ten at a time with a More button; open items carry their buttons, resolved ones none."""
    if not rows:
        return Reply(summary=f"{title}: none.", blocks=(Text(f"{title}: none. 🎉"),), shared=request.share)
    page = paginate(rows, request)
    blocks: list[Block] = [Header(title)]
    for row in page.items:
        blocks.append(Text(feedback_line(row, now, strongly_negative=strongly_negative)))
        if row.item.state != FeedbackState.RESOLVED.value:
            blocks.append(Actions(item_buttons(row.item)))
    blocks.append(Context((page.caption,)))
    if page.more:
        blocks.append(Actions((page.more,)))
    return Reply(
        summary=f"{title}: {page.caption}",
        blocks=tuple(blocks),
        shared=request.share,
        replace=page.offset > 0,
    )


def feedback_line(row: FeedbackRow, now: datetime, *, strongly_negative: float = STRONGLY_NEGATIVE) -> str:
    """One item in a list; a strongly negative one shows the marker and its score."""
    item = row.item
    state = STATE_LABELS.get(item.state, item.state)
    about = f"**{row.account_name}**" if row.account_name else "**(many accounts)**"
    tags = "".join(f" #{t}" for t in item.tags or ())
    urgent = "🚨 " if item.urgent else ""
    marker = strongly_negative_marker(item.sentiment, threshold=strongly_negative)
    if marker:
        urgent += f"{marker} "
    who = row.originator_name or "a survey"
    to = row.recipient_name or ("CX" if item.originator_team == CS_TEAM else "CS")
    days = max(0, (now - item.created_at).days)
    age = "today" if days == 0 else f"{days}d ago"
    return f"{urgent}{state} #{item.id} {about}{tags}: {truncate(item.text, 160)} · {who} → {to} · {age}"
