"""An async client for the parts of HubSpot's CRM v3 API the connector uses.

Reads: property definitions, owners, one page of an object list (with associations), and the records
modified since a moment (the search API). Writes: batch updates. Plus where a merged-away record went.

HubSpot's answers become :mod:`adapters.connectors.errors`: a refused token or a missing scope is a
:class:`ConnectorAuthError`, the daily quota a :class:`ConnectorLimitError`, an unknown object type or
property a :class:`ConnectorSchemaError`. Burst rate limits (429 ``TEN_SECONDLY_ROLLING``/``SECONDLY``) are
waited out, and the client pauses by itself when ``X-HubSpot-RateLimit-Remaining`` reaches 0. How answers
are read and refusals mapped is in :mod:`adapters.connectors.hubspot.answers`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import aiohttp

from adapters.connectors.crm.batch import BatchResult
from adapters.connectors.errors import ConnectorError
from adapters.connectors.http import HttpAnswer, JsonHttp, OwnedSession, Sleep
from adapters.connectors.hubspot.answers import (
    DAILY_LIMIT_MESSAGE,
    SYSTEM,
    CrmOwner,
    CrmRecord,
    Page,
    PropertyInfo,
    batch_outcome,
    epoch_ms,
    message,
    modified_property,
    names_unknown_type,
    next_after,
    parse_time,
    pause_when_spent,
    rate_limit_wait,
    read_owner,
    read_property,
    read_record,
    refusal,
    schema_problem,
)

__all__ = [
    "BATCH_MAX",
    "DAILY_LIMIT_MESSAGE",
    "LIST_PAGE_MAX",
    "SEARCH_CEILING",
    "SEARCH_PAGE_MAX",
    "SYSTEM",
    "BatchResult",
    "CrmOwner",
    "CrmRecord",
    "HubSpotClient",
    "Page",
    "PropertyInfo",
    "epoch_ms",
    "modified_property",
    "parse_time",
]

LIST_PAGE_MAX = 100  # the official SDKs page lists at 100; the API states no maximum
SEARCH_PAGE_MAX = 200
SEARCH_CEILING = 10_000  # "The search endpoints are limited to 10,000 total results for any given query."
BATCH_MAX = 100


class HubSpotClient(OwnedSession):
    """HubSpot's CRM v3 API at ``base_url`` (``https://api.hubapi.com``) with a private app's ``token``.

    Use it as an async context manager; a session it made itself is closed on the way out, one passed in is
    left open. ``search_ceiling`` is HubSpot's 10,000-result limit on one search (smaller in tests)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        session: aiohttp.ClientSession | None = None,
        sleep: Sleep = asyncio.sleep,
        page_size: int = LIST_PAGE_MAX,
        search_page_size: int = SEARCH_PAGE_MAX,
        search_ceiling: int = SEARCH_CEILING,
        timeout: float = 30.0,
    ) -> None:
        if not 1 <= page_size <= LIST_PAGE_MAX:
            raise ValueError(f"page_size must be between 1 and {LIST_PAGE_MAX}")
        if not 1 <= search_page_size <= SEARCH_PAGE_MAX:
            raise ValueError(f"search_page_size must be between 1 and {SEARCH_PAGE_MAX}")
        self._base_url = base_url
        self._token = token
        super().__init__(session)
        self._sleep = sleep
        self._timeout = timeout
        self._http: JsonHttp | None = None
        self.page_size = page_size
        self.search_page_size = search_page_size
        self.search_ceiling = search_ceiling

    def _open(self) -> None:
        self._client()

    def _forget(self) -> None:
        self._http = None

    # --------------------------------------------------------------------------------------- reads

    async def properties(self, object_type: str) -> list[PropertyInfo]:
        body = await self._call("GET", f"/crm/v3/properties/{object_type}", object_type=object_type)
        return [read_property(raw) for raw in body.get("results") or []]

    async def owners(self, *, archived: bool = False) -> AsyncIterator[list[CrmOwner]]:
        """Every owner (or, with ``archived``, every deactivated one), a page at a time."""
        after: str | None = None
        while True:
            params = {"limit": str(self.page_size), "archived": _flag(archived)}
            if after is not None:
                params["after"] = after
            body = await self._call("GET", "/crm/v3/owners/", params=params)
            yield [read_owner(raw) for raw in body.get("results") or []]
            after = next_after(body)
            if after is None:
                return

    async def list_page(
        self,
        object_type: str,
        properties: Sequence[str],
        after: str | None,
        *,
        archived: bool = False,
        associations: Sequence[str] = (),
    ) -> Page:
        """One page of every record (``archived``: of the archived ones only), in HubSpot's order.

        HubSpot ignores property names it does not know here (check them with :meth:`properties`), and lists
        at most 100 associations of a type inline; more are not followed."""
        params = {"limit": str(self.page_size), "archived": _flag(archived)}
        if properties:
            params["properties"] = ",".join(properties)
        if associations:
            params["associations"] = ",".join(associations)
        if after is not None:
            params["after"] = after
        path = f"/crm/v3/objects/{object_type}"
        body = await self._call("GET", path, params=params, object_type=object_type)
        modified = modified_property(object_type)
        records = tuple(read_record(raw, modified) for raw in body.get("results") or [])
        return Page(records=records, after=next_after(body))

    async def modified_since(
        self, object_type: str, properties: Sequence[str], since: datetime | None
    ) -> AsyncIterator[Page]:
        """Records modified at or after ``since`` (all when None), in ascending modification order, a page
        at a time: after each page the caller may save the last record's ``updated_at`` and later resume
        from it. (A resumed run sees the records of that exact millisecond again; applying a record twice
        must do no harm. A record modified again during the run comes again, newer, later in the run.)

        Search pages carry no associations (search does not return them) and ``after`` is None: the cursor
        to keep is a time. Archived records never appear (search leaves them out); list them with
        ``list_page(..., archived=True)``.

        HubSpot's search returns at most 10,000 results per query, and paging by offset over a sort key
        that changes skips a record whenever one before the offset is modified meanwhile. So every page
        starts a new search from the last modification time seen, leaving out the ids already yielded at
        that millisecond; ``paging.next.after`` is followed only while a whole page shares one millisecond,
        up to the ceiling. More than ``search_ceiling`` records modified in the same millisecond cannot be
        paged through: that raises :class:`ConnectorError`.
        """
        modified = modified_property(object_type)
        wanted = list(dict.fromkeys([*properties, modified]))
        path = f"/crm/v3/objects/{object_type}/search"
        start = None if since is None else epoch_ms(since)
        seen_at_start: set[str] = set()  # ids already yielded whose modification is `start`
        offset = 0
        while True:
            body: dict[str, Any] = {
                "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
                "properties": wanted,
                "limit": min(self.search_page_size, self.search_ceiling - offset),
            }
            if start is not None:
                since_filter = {"propertyName": modified, "operator": "GTE", "value": str(start)}
                body["filterGroups"] = [{"filters": [since_filter]}]
            if offset:
                body["after"] = str(offset)
            found = await self._call("POST", path, json_body=body, object_type=object_type)
            results = [read_record(raw, modified) for raw in found.get("results") or []]
            fresh = tuple(
                r for r in results if not (r.id in seen_at_start and epoch_ms(r.updated_at) == start)
            )
            if fresh:
                yield Page(records=fresh, after=None)
            if next_after(found) is None or not results:
                return
            last = epoch_ms(results[-1].updated_at)
            if last != start:  # time moved on: search again from the last millisecond seen
                at_last = {r.id for r in results if epoch_ms(r.updated_at) == last}
                start, seen_at_start, offset = last, at_last, 0
                continue
            # The whole page is one millisecond: page on through it within this search.
            seen_at_start.update(r.id for r in results)
            offset += len(results)
            if offset >= self.search_ceiling:
                raise ConnectorError(
                    f"{self.search_ceiling:,} or more HubSpot {object_type} were modified in the same "
                    f"millisecond ({results[-1].updated_at.isoformat()}), and HubSpot's search cannot page "
                    f"past {self.search_ceiling:,} results: run a full sync, which lists records instead",
                    system=SYSTEM,
                )

    async def merged_into(self, object_type: str, record_id: str) -> str | None:
        """The id a merged-away record now lives under (HubSpot answers for the old id with the surviving
        record); None when the id is its own record's, or when it is gone (deleted or archived)."""
        path = f"/crm/v3/objects/{object_type}/{record_id}"
        answer = await self._client().request("GET", path, params={"properties": "hs_object_id"})
        if answer.status == 404 and not names_unknown_type(answer):
            return None
        body = self._checked(answer, f"GET {object_type} {record_id}", object_type)
        survivor = str(body.get("id", record_id))
        return survivor if survivor != record_id else None

    # -------------------------------------------------------------------------------------- writes

    async def batch_update(
        self, object_type: str, updates: Sequence[tuple[str, dict[str, str]]]
    ) -> BatchResult:
        """Set properties on records, 100 to a request. One record HubSpot refuses (gone, or a value it
        does not accept) is reported in ``failed`` and never stops the others; a property HubSpot does not
        know raises :class:`ConnectorSchemaError` (every update naming it would fail)."""
        merged: dict[str, dict[str, str]] = {}
        for record_id, values in updates:  # HubSpot refuses an id twice in one batch
            merged.setdefault(record_id, {}).update(values)
        items = list(merged.items())
        updated: list[str] = []
        failed: list[tuple[str, str]] = []
        for start in range(0, len(items), BATCH_MAX):
            await self._update_chunk(object_type, items[start : start + BATCH_MAX], updated, failed)
        return BatchResult(updated=tuple(updated), failed=tuple(failed))

    async def _update_chunk(
        self,
        object_type: str,
        chunk: list[tuple[str, dict[str, str]]],
        updated: list[str],
        failed: list[tuple[str, str]],
    ) -> None:
        # objectWriteTraceId comes back in the context of an input's error: it says which input failed.
        inputs = [{"id": rid, "properties": values, "objectWriteTraceId": rid} for rid, values in chunk]
        path = f"/crm/v3/objects/{object_type}/batch/update"
        answer = await self._client().request("POST", path, json_body={"inputs": inputs})
        if answer.status == 400 and schema_problem(answer) is None:
            # HubSpot validates a batch as a whole, so one unacceptable value refuses every input (not
            # verified against HubSpot; the documented multi-status shape is for batch create): each
            # input alone, so the others still go through.
            if len(chunk) > 1:
                for item in chunk:
                    await self._update_chunk(object_type, [item], updated, failed)
            else:
                failed.append((chunk[0][0], message(answer)))
            return
        body = self._checked(answer, f"batch update of {object_type}", object_type)
        done, refused = batch_outcome(body, [rid for rid, _ in chunk])
        updated.extend(done)
        failed.extend(refused)

    # ---------------------------------------------------------------------------------- transport

    def _client(self) -> JsonHttp:
        if self._http is None:
            self._http = JsonHttp(
                self._http_session(),
                self._base_url,
                system=SYSTEM,
                headers={"Authorization": f"Bearer {self._token}", "Accept": "application/json"},
                sleep=self._sleep,
                timeout=self._timeout,
                on_rate_limit=rate_limit_wait,
                pause_after=pause_when_spent,
            )
        return self._http

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        object_type: str | None = None,
    ) -> dict[str, Any]:
        answer = await self._client().request(method, path, params=params, json_body=json_body)
        return self._checked(answer, f"{method} {path}", object_type)

    def _checked(self, answer: HttpAnswer, doing: str, object_type: str | None) -> dict[str, Any]:
        if answer.ok and isinstance(answer.body, dict):
            body: dict[str, Any] = answer.body
            return body
        raise refusal(answer, doing, object_type, self._token)


def _flag(value: bool) -> str:
    return "true" if value else "false"
