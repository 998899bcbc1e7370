"""What a channel following an account is told: one short message per event.

Events are read from the account's timeline (:mod:`storage.timeline`): band changes and health alerts,
feedback and its changes of state, milestones done or overdue, outcomes achieved, renewals closed;
renewal reminders (90, 60, 30 days before, as the owner gets them) are made here. Each kind belongs to
one of the fields an admin can allow into a shared channel (:data:`bot.channels.privacy.FIELDS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot import actions
from bot.channels.privacy import ChannelPolicy
from bot.format import truncate
from bot.types import Actions, Button, Context, Reply, Text

# Timeline kinds a channel is told of, with the field each belongs to.
KIND_FIELDS: dict[str, str] = {
    "health": "health",
    "feedback": "feedback",
    "milestones": "milestones",
    "outcomes": "outcomes",
    "renewals": "renewal",
}
FEED_KINDS = tuple(KIND_FIELDS)
RENEWAL_DUE = "renewal_due"  # a renewal reminder: not on the timeline, made by the feed
KIND_MARKS = {
    "health": "🩺",
    "feedback": "💬",
    "milestones": "🏁",
    "outcomes": "🎯",
    "renewals": "🔁",
    RENEWAL_DUE: "📅",
}
LINE_CHARS = 500


@dataclass(frozen=True, slots=True)
class AccountEvent:
    """Something that happened to a followed account. ``ident`` names it for good (the outbox key)."""

    account_id: int
    account_name: str
    kind: str
    what: str
    at: datetime
    ident: str
    who: str | None = None
    link: str | None = None
    timed: bool = True  # False: only its day is known


def field_of(kind: str) -> str:
    return "renewal" if kind == RENEWAL_DUE else KIND_FIELDS[kind]


def allowed(event: AccountEvent, policy: ChannelPolicy) -> bool:
    """Whether the channel may be told of ``event``."""
    return not policy.closed and policy.allows(field_of(event.kind))


def event_reply(event: AccountEvent) -> Reply:
    """The message: the account, what happened and who did it, and how to stop following."""
    mark = KIND_MARKS.get(event.kind, "•")
    who = f" · {event.who}" if event.who else ""
    link = f" · {event.link}" if event.link else ""
    line = f"{mark} **{event.account_name}** · {truncate(event.what, LINE_CHARS)}{who}{link}"
    open_card = Button("Open account", actions.ACCOUNT_OPEN, {"account_id": event.account_id})
    return Reply(
        summary=f"{event.account_name}: {truncate(event.what, 150)}",
        blocks=(
            Text(line),
            Context(
                (f"This channel follows {event.account_name} · `unfollow {event.account_name}` to stop",)
            ),
            Actions((open_card,)),
        ),
        shared=True,
    )
