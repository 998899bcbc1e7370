"""An async client for the parts of the Zendesk Support API the connector reads.

- :meth:`ZendeskClient.me`: the user the credentials belong to (``GET /api/v2/users/me``).
- :meth:`ZendeskClient.organizations`: every organization, a page at a time (cursor pagination).
- :meth:`ZendeskClient.ticket_page`: one page of the cursor-based incremental ticket export, with the
  ``metric_sets`` sideload for ``solved_at``. The first page is asked by ``start_time``, the next ones by
  the previous page's ``after_cursor``; once ``end_of_stream`` is reached the last ``after_cursor`` still
  answers, later, the tickets changed since.
- :meth:`ZendeskClient.satisfaction_ratings`: the received (good or bad) satisfaction ratings, oldest
  first, a page at a time.

Authentication is an API token: HTTP Basic with ``{email}/token`` as the user name and the token as the
password. A 401 (or an anonymous ``users/me``) is a :class:`ConnectorAuthError` naming the settings to fix,
a 403 one naming the role the call needs (the export and the ratings list are for admins). 429s are waited
out for ``Retry-After`` seconds (the incremental export allows 10 requests a minute); 5xx answers and lost
connections are retried (:mod:`adapters.connectors.http`). A malformed answer is a
:class:`ConnectorSchemaError`. How answers are read is in :mod:`adapters.connectors.zendesk.answers`.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import aiohttp

from adapters.connectors.http import JsonHttp, OwnedSession, Sleep
from adapters.connectors.zendesk.answers import (
    SYSTEM,
    Organization,
    Rating,
    Ticket,
    TicketPage,
    anonymous,
    anonymous_refusal,
    list_of,
    malformed,
    next_page,
    parse_time,
    pause_when_spent,
    rate_limit_wait,
    read_organization,
    read_rating,
    read_ticket_page,
    refusal,
    unix_seconds,
)

__all__ = [
    "EXPORT_PAGE_MAX",
    "LIST_PAGE_MAX",
    "SYSTEM",
    "Organization",
    "Rating",
    "Ticket",
    "TicketPage",
    "ZendeskClient",
    "parse_time",
]

EXPORT_PAGE_MAX = 1000  # per_page of the incremental ticket export: 1000 at most (and by default)
LIST_PAGE_MAX = 100  # page[size] of cursor pagination: "most endpoints limit this to a maximum of 100"
ADMIN = "a Zendesk admin"
AGENT = "a Zendesk agent or admin"


class ZendeskClient(OwnedSession):
    """The Zendesk Support API of the account at ``base_url`` (``https://<subdomain>.zendesk.com``), as the
    user ``email`` with the API token ``api_token``.

    Use it as an async context manager; a session it made itself is closed on the way out, one passed in
    is left open. ``page_size`` is the export's ``per_page``; ``list_page_size`` the ``page[size]`` of the
    organization and rating lists."""

    def __init__(
        self,
        base_url: str,
        email: str,
        api_token: str,
        *,
        session: aiohttp.ClientSession | None = None,
        sleep: Sleep = asyncio.sleep,
        page_size: int = EXPORT_PAGE_MAX,
        list_page_size: int = LIST_PAGE_MAX,
        timeout: float = 30.0,
    ) -> None:
        if not 1 <= page_size <= EXPORT_PAGE_MAX:
            raise ValueError(f"page_size must be between 1 and {EXPORT_PAGE_MAX}")
        if not 1 <= list_page_size <= LIST_PAGE_MAX:
            raise ValueError(f"list_page_size must be between 1 and {LIST_PAGE_MAX}")
        self._base_url = base_url.rstrip("/")
        self._email = email
        self._api_token = api_token
        super().__init__(session)
        self._sleep = sleep
        self._timeout = timeout
        self._http: JsonHttp | None = None
        self.page_size = page_size
        self.list_page_size = list_page_size

    def _open(self) -> None:
        self._client()

    def _forget(self) -> None:
        self._http = None

    # --------------------------------------------------------------------------------------- reads

    async def me(self) -> dict[str, Any]:
        """The ``user`` the credentials belong to (its ``role`` says whether it may export tickets)."""
        body = await self._get("/api/v2/users/me.json", {}, "the credentials check (users/me)", AGENT)
        user = body.get("user")
        if not isinstance(user, dict):
            raise malformed("an answer to users/me without its 'user' object")
        if anonymous(user):
            raise anonymous_refusal()
        return user

    async def organizations(self) -> AsyncIterator[list[Organization]]:
        """Every organization, a page at a time, in Zendesk's order."""
        doing = "the organization list"
        async for body in self._pages("/api/v2/organizations.json", {}, doing, AGENT):
            yield [read_organization(raw) for raw in list_of(body, "organizations", doing)]

    async def ticket_page(
        self, *, start_time: datetime | None = None, cursor: str | None = None
    ) -> TicketPage:
        """One page of the incremental ticket export: the first from ``start_time`` (Zendesk wants it at
        least a minute in the past), the next ones from the previous page's ``after_cursor``. Tickets come
        in the order they last changed, each once, deleted ones with status ``deleted``."""
        if (start_time is None) == (cursor is None):
            raise ValueError("ticket_page takes either start_time (the first page) or cursor (the next ones)")
        params = {"per_page": str(self.page_size), "include": "metric_sets"}
        if cursor is not None:
            params["cursor"] = cursor
        else:
            assert start_time is not None
            params["start_time"] = str(unix_seconds(start_time))
        body = await self._get(
            "/api/v2/incremental/tickets/cursor.json", params, "the incremental ticket export", ADMIN
        )
        return read_ticket_page(body)

    async def satisfaction_ratings(
        self, *, start_time: datetime | None = None
    ) -> AsyncIterator[list[Rating]]:
        """The satisfaction ratings customers answered (``score=received``: good or bad, never the offered
        ones), created at or after ``start_time`` (all when None), oldest first, a page at a time."""
        params = {"score": "received"}
        if start_time is not None:
            params["start_time"] = str(unix_seconds(start_time))
        doing = "the satisfaction rating list"
        async for body in self._pages("/api/v2/satisfaction_ratings.json", params, doing, ADMIN):
            ratings = (read_rating(raw) for raw in list_of(body, "satisfaction_ratings", doing))
            yield [rating for rating in ratings if rating is not None]

    # ---------------------------------------------------------------------------------- transport

    def _client(self) -> JsonHttp:
        if self._http is None:
            credentials = f"{self._email}/token:{self._api_token}".encode()
            self._http = JsonHttp(
                self._http_session(),
                self._base_url,
                system=SYSTEM,
                headers={
                    "Authorization": "Basic " + base64.b64encode(credentials).decode("ascii"),
                    "Accept": "application/json",
                },
                sleep=self._sleep,
                timeout=self._timeout,
                on_rate_limit=rate_limit_wait,
                pause_after=pause_when_spent,
            )
        return self._http

    async def _pages(
        self, path: str, params: dict[str, str], doing: str, needs: str
    ) -> AsyncIterator[dict[str, Any]]:
        """Every page of a cursor-paginated list."""
        after: str | None = None
        while True:
            asked = {**params, "page[size]": str(self.list_page_size)}
            if after is not None:
                asked["page[after]"] = after
            body = await self._get(path, asked, doing, needs)
            yield body
            after = next_page(body, doing)
            if after is None:
                return

    async def _get(self, path: str, params: dict[str, str], doing: str, needs: str) -> dict[str, Any]:
        answer = await self._client().request("GET", path, params=params)
        if answer.ok and isinstance(answer.body, dict):
            body: dict[str, Any] = answer.body
            return body
        raise refusal(answer, doing, needs, self._api_token)
