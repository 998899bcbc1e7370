"""Slack users to Touchpoint people: by Slack user id, else by the email Slack has for them.

The email comes from ``users.info`` (scope users:read.email) once; a match stores the Slack id on the
person so later requests need no look-up. Unknown users are remembered for a few minutes so a stranger
clicking around does not turn into a stream of API calls; a look-up that failed (rate limit, outage) is
not remembered, so a registered person is not locked out by Slack's bad minute.
"""

from __future__ import annotations

import time

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import identity
from bot.log import get_logger
from bot.types import Actor, Platform
from storage.db import Database

log = get_logger("touchpoint.slack.identity")
UNKNOWN_TTL_SECONDS = 300.0


class _LookupFailed(Exception):
    """Slack could not answer users.info just now (rate limit, outage, network): ask again next time."""


class SlackIdentity:
    def __init__(self, db: Database, client: AsyncWebClient) -> None:
        self._db = db
        self._client = client
        self._unknown_until: dict[str, float] = {}

    async def actor(self, user_id: str) -> Actor:
        actor = await identity.find_by_platform_id(self._db, Platform.SLACK, user_id)
        if actor is not None:
            return actor
        if self._unknown_until.get(user_id, 0.0) > time.monotonic():
            return Actor(platform=Platform.SLACK, platform_user_id=user_id)
        try:
            email = await self._email_of(user_id)
        except _LookupFailed:
            return Actor(platform=Platform.SLACK, platform_user_id=user_id)
        if email:
            found = await identity.find_by_email(self._db, Platform.SLACK, email, user_id)
            if found is not None:
                return found
        self._unknown_until[user_id] = time.monotonic() + UNKNOWN_TTL_SECONDS
        return Actor(platform=Platform.SLACK, platform_user_id=user_id, email=email)

    async def _email_of(self, user_id: str) -> str | None:
        try:
            response = await self._client.users_info(user=user_id)
        except SlackApiError as error:
            data = error.response.data if isinstance(error.response.data, dict) else {}
            log.warning(
                "slack_users_info_failed",
                user=user_id,
                error=data.get("error"),
                status=error.response.status_code,
            )
            if error.response.status_code == 429 or error.response.status_code >= 500:
                raise _LookupFailed from error
            return None  # Slack's answer (user_not_found, ...): this user has no email we can use
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            log.warning("slack_users_info_failed", user=user_id, error=type(error).__name__)
            raise _LookupFailed from error
        profile = (response.get("user") or {}).get("profile") or {}
        email = profile.get("email")
        return str(email).lower() if email else None
