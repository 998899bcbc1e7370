"""Teams users to Touchpoint people: by Azure AD object id, else by the email Teams has for them.

The email (or the user principal name, which is an email address in most organisations) comes from
the conversation's member look-up (``TeamsInfo.get_member``, ``GET /v3/conversations/{id}/members/
{userId}``) once; a match stores the AAD object id on the person so later requests need no look-up.
Unknown users are remembered for a few minutes so a stranger does not turn into a stream of look-ups.
"""

from __future__ import annotations

import time

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsInfo

from adapters.teams.delivery import Sender, TeamsDeliveryError
from bot.core import identity
from bot.log import get_logger
from bot.types import Actor, Platform
from storage.db import Database

log = get_logger("touchpoint.teams.identity")
UNKNOWN_TTL_SECONDS = 300.0


class TeamsIdentity:
    def __init__(self, db: Database, sender: Sender) -> None:
        self._db = db
        self._sender = sender
        self._unknown_until: dict[str, float] = {}

    async def actor(self, turn_context: TurnContext) -> Actor:
        account = turn_context.activity.from_property
        user_id = str(getattr(account, "id", "") or "")
        aad = str(getattr(account, "aad_object_id", "") or "") or None
        name = getattr(account, "name", None)
        key = aad or user_id
        if aad:
            found = await identity.find_by_platform_id(self._db, Platform.TEAMS, aad)
            if found is not None:
                return found
        if self._unknown_until.get(key, 0.0) > time.monotonic():
            return Actor(platform=Platform.TEAMS, platform_user_id=key, name=name)
        email = await self._email_of(turn_context, user_id) if user_id else None
        if email:
            # Only an AAD object id is remembered on the person: Teams' 29: ids differ per bot.
            found = await identity.find_by_email(self._db, Platform.TEAMS, email, aad or "")
            if found is not None:
                return found
        self._unknown_until[key] = time.monotonic() + UNKNOWN_TTL_SECONDS
        return Actor(platform=Platform.TEAMS, platform_user_id=key, email=email, name=name)

    async def _email_of(self, turn_context: TurnContext, user_id: str) -> str | None:
        conversation_id = str(turn_context.activity.conversation.id)

        async def lookup() -> object:
            return await TeamsInfo.get_member(turn_context, user_id)

        try:
            member = await self._sender.call("member lookup", conversation_id, lookup, limited=False)
        except TeamsDeliveryError as error:
            log.warning("teams_member_lookup_failed", status=error.status)
            return None
        except Exception as error:  # a malformed answer must not keep the person from an answer
            log.warning("teams_member_lookup_failed", error=type(error).__name__)
            return None
        email = getattr(member, "email", None)
        if not email:
            upn = getattr(member, "user_principal_name", None)
            email = upn if upn and "@" in upn else None
        return str(email).strip().lower() if email else None
