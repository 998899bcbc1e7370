"""What account data a channel may receive.

A channel inside the organisation may receive everything. A channel shared with another organisation
(Slack Connect, a Teams shared channel) receives nothing unless an admin allowed it, and then only the
fields they chose. Whether a channel is shared is a platform fact, so each adapter brings a
:data:`SharingCheck`; when a check cannot tell (Slack did not answer, Teams never described the
channel) the channel is treated as shared: the rule fails closed.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from bot.types import Address, Platform
from storage import channels
from storage.db import Database

# The fields an admin can allow into a shared channel, and what each covers.
FIELDS: dict[str, str] = {
    "health": "health score, band, trend and health alerts",
    "arr": "ARR",
    "renewal": "renewal date and renewal reminders",
    "owner": "who owns the account",
    "feedback": "feedback items and their comments",
    "milestones": "milestones done or overdue",
    "outcomes": "success-plan outcomes achieved",
}


class Sharing(enum.StrEnum):
    INTERNAL = "internal"  # a channel of this organisation only
    EXTERNAL = "external"  # shared with another organisation
    DIRECT = "direct"  # a direct message or personal chat, not a channel
    UNKNOWN = "unknown"  # the platform could not tell now


SharingCheck = Callable[[Address], Awaitable[Sharing]]


@dataclass(frozen=True, slots=True)
class ChannelPolicy:
    """What may go into one channel. ``fields`` is None when everything may."""

    sharing: Sharing
    fields: frozenset[str] | None

    @property
    def closed(self) -> bool:
        """Nothing about accounts may go here."""
        return self.fields is not None and not self.fields

    def allows(self, field: str) -> bool:
        return self.fields is None or field in self.fields


async def sharing_of(checks: Mapping[Platform, SharingCheck], address: Address) -> Sharing:
    """What the platform says of the channel. The console has no other organisations in it; a
    platform with no check (Slack without a token) cannot tell."""
    if address.platform is Platform.CONSOLE:
        return Sharing.INTERNAL
    check = checks.get(address.platform)
    if check is None:
        return Sharing.UNKNOWN
    return await check(address)


async def channel_policy(
    db: Database, checks: Mapping[Platform, SharingCheck], address: Address
) -> ChannelPolicy:
    """The policy of the channel at ``address``: everything for an internal channel or a direct chat;
    an admin's chosen fields (or nothing) for a shared channel or one the platform could not describe."""
    sharing = await sharing_of(checks, address)
    if sharing in (Sharing.INTERNAL, Sharing.DIRECT):
        return ChannelPolicy(sharing, None)
    async with db.sessions() as session:
        allowed = await channels.allowance(session, address.platform.value, address.target)
    return ChannelPolicy(sharing, allowed if allowed is not None else frozenset())


def parse_fields(words: list[str]) -> tuple[frozenset[str], list[str]]:
    """The known field names among ``words`` (``all`` for every one) and the words that are not."""
    chosen: set[str] = set()
    unknown: list[str] = []
    for word in words:
        name = word.strip(",").lower()
        if name == "all":
            chosen.update(FIELDS)
        elif name in FIELDS:
            chosen.add(name)
        elif name:
            unknown.append(word)
    return frozenset(chosen), unknown
