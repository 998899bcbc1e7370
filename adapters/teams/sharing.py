"""Whether a Teams conversation may hold people of another organisation.

Teams says what kind of channel an activity comes from (``channelData.channel.type``: standard, private
or shared), and the adapter stores it with the conversation (:mod:`adapters.teams.conversations`). A
shared channel can be shared with teams of other organisations, and who is in it is not in the
activity, so every shared channel counts as shared with another organisation: account data goes
there only as an admin allowed. A personal chat is no channel; a conversation Touchpoint was never
told of cannot be described, and is kept out.
"""

from __future__ import annotations

from adapters.teams.conversations import PERSONAL, ConversationStore
from adapters.teams.delivery import base_conversation_id
from bot.channels.privacy import Sharing
from bot.types import Address


class TeamsSharing:
    def __init__(self, conversations: ConversationStore) -> None:
        self.conversations = conversations

    async def check(self, address: Address) -> Sharing:
        stored = await self.conversations.get(base_conversation_id(address.target))
        if stored is None:
            return Sharing.UNKNOWN
        if stored.kind == PERSONAL:
            return Sharing.DIRECT
        if stored.membership == "shared":
            return Sharing.EXTERNAL
        return Sharing.INTERNAL
