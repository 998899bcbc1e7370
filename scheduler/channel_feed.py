"""Posting followed accounts' events to the channels that follow them, every two minutes.

For each account some channel follows, the newest events of the followed kinds are read from its
timeline (:func:`storage.timeline.recent`), and the renewal reminder due today is added (the same 90,
60, 30 days the owner is reminded at). Each event newer than the follow goes to the channel once: the
outbox key is ``follow:{follow id}:{event}``, so a second run, or a second replica, adds nothing.

Before anything is queued the channel's policy is asked (:mod:`bot.channels.privacy`): a channel shared
with another organisation gets only the kinds an admin allowed there, and nothing when none were; a
channel the platform cannot describe now is skipped this run and tried again on the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.channels.feed import FEED_KINDS, RENEWAL_DUE, AccountEvent, allowed, event_reply
from bot.channels.privacy import ChannelPolicy, Sharing, channel_policy
from bot.core.context import BotContext
from bot.format import day_text, money
from bot.log import get_logger
from bot.serialize import outbox_message
from bot.types import Address, Platform
from scheduler.reminders_due import DEFAULT_SETTINGS, renewal_threshold
from storage import channels, outbox, queries
from storage.outbox import NewMessage
from storage.timeline import recent

log = get_logger("touchpoint.scheduler.channel_feed")

PURPOSE = "channel_feed"
RECENT = 10  # newest events of each kind looked at per run: more than two minutes ever bring


@dataclass(frozen=True, slots=True)
class FeedStats:
    accounts: int = 0
    enqueued: int = 0
    withheld: int = 0  # events kept out of a shared channel


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


async def account_events(ctx: BotContext, account_id: int, *, today: date) -> list[AccountEvent]:
    """The account's recent events of the followed kinds, oldest first, with today's renewal reminder."""
    async with ctx.db.sessions() as session:
        account = await queries.account_by_id(session, account_id)
        if account is None:
            return []
        entries = await recent(session, account_id, today=today, kinds=FEED_KINDS, limit=RECENT)
    events = [
        AccountEvent(account_id, account.name, e.kind, e.what, e.at, e.ident, e.who, e.link, e.timed)
        for e in entries
    ]
    renewal = account.renewal_date
    threshold = (
        None
        if account.churned or renewal is None
        else renewal_threshold(renewal, today, DEFAULT_SETTINGS.renewal_days)
    )
    if renewal is not None and threshold is not None:
        days = (renewal - today).days
        arr = f" · ARR {money(account.arr)}" if account.arr is not None else ""
        events.append(
            AccountEvent(
                account_id,
                account.name,
                RENEWAL_DUE,
                f"Renewal in {days} days ({day_text(renewal)}){arr}",
                _start_of(renewal - timedelta(days=threshold)),
                f"renewal-due:{renewal.isoformat()}:{threshold}",
                timed=False,
            )
        )
    return events


def after_follow(event: AccountEvent, since: datetime) -> bool:
    """Whether the event came after the channel started following. An event known only by its day (a
    band change, an overdue milestone, a renewal reminder) counts from the day after the follow: one
    of the follow's own day may well have come before it."""
    if event.timed:
        return event.at >= since
    return event.at.date() > since.astimezone(UTC).date()


def _without_arr(event: AccountEvent, policy: ChannelPolicy) -> AccountEvent:
    """A renewal reminder names the ARR only where ARR may go."""
    if event.kind != RENEWAL_DUE or policy.allows("arr"):
        return event
    what = event.what.split(" · ARR ", 1)[0]
    return AccountEvent(
        event.account_id, event.account_name, event.kind, what, event.at, event.ident, timed=event.timed
    )


async def post_channel_events(ctx: BotContext, *, now: datetime) -> FeedStats:
    """Queue every new event of every followed account for the channels following it."""
    async with ctx.db.sessions() as session:
        by_account = await channels.followers(session)
    today = ctx.local_date(now)
    policies: dict[tuple[str, str], ChannelPolicy] = {}
    messages: list[NewMessage] = []
    withheld = 0
    for account_id, follows in by_account.items():
        events = await account_events(ctx, account_id, today=today)
        if not events:
            continue
        for follow in follows:
            address = Address(platform=Platform(follow.platform), target=follow.conversation, private=False)
            key = (follow.platform, follow.conversation)
            if key not in policies:
                policies[key] = await channel_policy(ctx.db, ctx.sharing_checks, address)
            policy = policies[key]
            if policy.sharing is Sharing.DIRECT:
                continue
            for event in events:
                if not after_follow(event, follow.since):
                    continue
                if not allowed(event, policy):
                    withheld += 1
                    continue
                shown = _without_arr(event, policy)
                messages.append(
                    outbox_message(
                        f"follow:{follow.follow_id}:{event.ident}", PURPOSE, address, event_reply(shown)
                    )
                )
    enqueued = await outbox.enqueue(ctx.db, messages, now=now) if messages else 0
    if enqueued or withheld:
        log.info("channel_feed_queued", accounts=len(by_account), enqueued=enqueued, withheld=withheld)
    return FeedStats(accounts=len(by_account), enqueued=enqueued, withheld=withheld)
