"""What a digest says: a team digest for a channel (or a manager) and a CSM digest for a person's DM.

The builders turn a handful of set-based queries into a :class:`Digest`: the :class:`Reply` to post
and any images it refers to (``attachment://NAME`` urls) as PNG bytes for the adapter to upload.
Nothing here writes to the database or sends anything; the scheduler queues what it builds.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.context import BotContext
from bot.digests.csm import build_csm_digest
from bot.digests.parts import (
    Digest,
)
from bot.digests.team import build_team_digest, team_scope
from storage.models import (
    DigestCadence,
    DigestScope,
    DigestSubscription,
)

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


# ------------------------------------------------------------------------------------ the entry point


def digest_today(ctx: BotContext, subscription: DigestSubscription, now: datetime) -> date:
    """The calendar day ``now`` falls on in the subscription's time zone."""
    try:
        return now.astimezone(ZoneInfo(subscription.timezone)).date()
    except (KeyError, ValueError):
        return ctx.local_date(now)


def previous_digest_day(subscription: DigestSubscription, today: date) -> date:
    """The day of the previous digest: its period when that is a date, else one cadence back."""
    period = subscription.last_sent_period or ""
    if _ISO_DAY.fullmatch(period):  # "2026-11-24", not a week such as "2026-W48"
        try:
            return date.fromisoformat(period)
        except ValueError:
            pass
    return today - timedelta(days=7 if subscription.cadence == DigestCadence.WEEKLY else 1)


async def build_digest(ctx: BotContext, subscription: DigestSubscription, *, now: datetime) -> Digest | None:
    """The digest ``subscription`` gets at ``now``; None when there is no one to build it for
    (the subscription is inactive, or the people it depends on were deleted)."""
    if not subscription.active:
        return None
    today = digest_today(ctx, subscription, now)
    since = previous_digest_day(subscription, today)
    if subscription.scope == DigestScope.MINE:
        person_id = subscription.person_id or subscription.created_by_id
        if person_id is None:
            return None
        return await build_csm_digest(ctx, person_id, today=today, since=since)
    if subscription.scope == DigestScope.SEGMENT and subscription.segment:
        return await build_team_digest(
            ctx,
            owner_ids=None,
            segment=subscription.segment,
            title=f"Segment {subscription.segment}",
            today=today,
            since=since,
        )
    # A team digest covers the team of whoever set it up (or of its recipient, if they are gone).
    base_id = subscription.created_by_id or subscription.person_id
    if base_id is None:
        return None
    async with ctx.db.sessions() as session:
        scope = await team_scope(session, base_id)
    if scope is None:
        return None
    owner_ids, title = scope
    return await build_team_digest(ctx, owner_ids=owner_ids, title=title, today=today, since=since)


# ------------------------------------------------------------------------------------- team digest


# -------------------------------------------------------------------------------------- CSM digest


# ------------------------------------------------------------------------------------------ helpers
