"""A fake Zendesk Support API on an ephemeral loopback port that records every request it receives.

It answers like Zendesk's developer documentation says (an answer that is not documented is *assumed*):

- ``GET /api/v2/users/me.json``: ``{"user": {...}}``; without credentials an anonymous user (*assumed*).
- ``GET /api/v2/organizations.json``: cursor pagination (``page[size]``, at most 100, and ``page[after]``;
  ``meta.has_more``, ``meta.after_cursor``, ``meta.before_cursor``, ``links.next``, ``links.prev``).
- ``GET /api/v2/incremental/tickets/cursor.json``: ``start_time`` (Unix seconds, at least a minute ago) or
  ``cursor``, ``per_page`` (at most 1000), ``include=metric_sets``; ``tickets`` ordered by their last
  change, each once at its latest place (deleted ones with status ``deleted``), ``after_cursor``,
  ``after_url``, ``before_cursor``, ``before_url``, ``end_of_stream``. The last ``after_cursor`` answers,
  later, the tickets changed since. Zendesk leaves out the last minute's changes; :attr:`hold_back` does
  too when a test sets it (0 by default, so tests need not move the clock).
- ``GET /api/v2/satisfaction_ratings.json``: the ``score`` filter (``received``, ``good``, ``bad``,
  ``offered``, ``unoffered``, ``..._with_comment``, ``..._without_comment``), ``start_time`` and
  ``end_time`` on ``created_at`` (*assumed*), oldest first, cursor pagination.

The export and the ratings list are for admins (403 for another ``role``). Wrong credentials answer 401
``{"error": "Couldn't authenticate you"}``, as does everything after :meth:`expire_token`;
:meth:`rate_limit_next`, :meth:`fail_next` and :meth:`answer_next` script other answers. Changes are
stamped with ``clock()`` (a ``ManualClock`` by default, never the wall clock). Tickets are kept in a list
of (change time, id) kept sorted, each one's JSON built once per change: 500,000 page quickly.
"""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.fakes.hubspot import START, ManualClock

__all__ = ["EMAIL", "START", "TOKEN", "Call", "FakeZendesk", "ManualClock"]

EMAIL = "admin@acme.example"
TOKEN = "Zq8VbN3kWm5TyR1pLd7HsA2cXf9GjE4uKo6iBt0n"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)
SOLVED = ("solved", "closed")
JSON_PATH = "{ext:(\\.json)?}"
Row = tuple[str | None, datetime, str, str | None, tuple[str, ...], datetime | None]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNAUTHENTICATED = {"error": "Couldn't authenticate you"}
FORBIDDEN = {"error": "Forbidden", "description": "You do not have access to this page."}  # assumed body
ORGANIZATION: dict[str, Any] = {"details": "", "notes": "", "group_id": None, "tags": []}
RATING = {"assignee_id": None, "group_id": None, "requester_id": None, "reason": None}
RATE_LIMITED = {"error": "APIRateLimitExceeded", "description": "Number of allowed API requests exceeded"}


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    user: str | None  # the Basic auth user name ("{email}/token"); the password is never kept
    status: int = 0


@dataclass(slots=True)
class FakeTicket:
    id: int
    organization_id: int | None
    created_at: datetime
    updated_at: datetime
    status: str
    priority: str | None
    tags: tuple[str, ...]
    solved_at: datetime | None
    key: tuple[int, int] = (0, 0)  # (change time in µs since the epoch, id): its place in the export
    json: str | None = None  # the ticket and its metric set, built when first exported after a change
    metric: str | None = None


def iso(moment: datetime) -> str:
    """Zendesk's form of a (UTC) time: whole seconds and ``Z``."""
    return moment.isoformat(timespec="seconds")[:19] + "Z"


def _ticket(ticket_id: int, row: Row) -> FakeTicket:
    """A ticket last changed when created or solved (whichever is later)."""
    org, created_at, status, priority, tags, solved_at = row
    created, solved = _aware(created_at), None if solved_at is None else _aware(solved_at)
    org_id, changed = None if org is None else int(org), max(created, solved or created)
    return FakeTicket(ticket_id, org_id, created, changed, status, priority, tuple(tags), solved)


def _us(moment: datetime) -> int:
    return (moment - EPOCH) // US


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is UTC:
        return moment
    if moment.tzinfo is None:
        raise ValueError("the fake's times need a time zone")
    return moment.astimezone(UTC)


def _encode(*parts: object) -> str:
    return base64.urlsafe_b64encode("|".join(map(str, parts)).encode()).decode()


def _decode(raw: str, count: int) -> list[int] | None:
    try:
        parts = [int(p) for p in base64.urlsafe_b64decode(raw.encode()).decode().split("|")]
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return parts if len(parts) == count else None


def _error(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response(dict(body), status=status, headers=headers)


def _invalid(description: str) -> web.Response:
    return _error(400, {"error": "InvalidValue", "description": description})  # assumed body


class FakeZendesk:
    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.clock: Callable[[], datetime] = clock or ManualClock()
        self.email, self.token, self.role = EMAIL, TOKEN, "admin"
        self.hold_back = timedelta(0)  # Zendesk's is a minute (changes of the last minute are left out)
        self.anonymous_when_refused = False  # users/me answers wrong credentials as Zendesk may: anonymously
        self.requests: list[Call] = []
        self.remaining: deque[int] = deque()  # X-Rate-Limit-Remaining of the next answers (699 otherwise)
        self.organizations: dict[int, dict[str, Any]] = {}
        self.tickets: dict[int, FakeTicket] = {}
        self.ratings: dict[int, dict[str, Any]] = {}
        self._order: list[tuple[int, int]] = []  # ticket keys, sorted
        self._rating_order: list[tuple[str, int]] = []  # (created_at, id), sorted
        self._failures: list[tuple[int, Mapping[str, Any], dict[str, str]]] = []
        self._expired = False
        self._next_id = 1000
        self._server: TestServer | None = None
        self._url = "https://acme.zendesk.com"  # the fake's own address once started
        self._json_cache: dict[str | tuple[str, ...] | None, str] = {}

    # ------------------------------------------------------------------------------------- data

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def add_organization(
        self,
        name: str,
        *,
        external_id: str | None = None,
        domain_names: Sequence[str] = (),
        fields: Mapping[str, Any] | None = None,
    ) -> str:
        org_id, now = self._new_id(), iso(self.clock())
        self.organizations[org_id] = {
            **ORGANIZATION,
            "id": org_id,
            "url": f"{self.url}/api/v2/organizations/{org_id}.json",
            "name": name,
            "external_id": external_id,
            "domain_names": list(domain_names),
            "organization_fields": dict(fields or {}),
            "created_at": now,
            "updated_at": now,
        }
        return str(org_id)

    def add_ticket(
        self,
        organization_id: str | None,
        *,
        created_at: datetime,
        status: str = "open",
        priority: str | None = "normal",
        tags: Sequence[str] = (),
        solved_at: datetime | None = None,
    ) -> str:
        """A new ticket, changed now (or when created or solved, if that is later)."""
        ticket = _ticket(
            self._new_id(), (organization_id, created_at, status, priority, tuple(tags), solved_at)
        )
        ticket.updated_at = max(ticket.updated_at, _aware(self.clock()))
        self._place(ticket)
        return str(ticket.id)

    def update_ticket(
        self,
        ticket_id: str,
        *,
        status: str | None = None,
        priority: str | None = None,
        tags: Sequence[str] | None = None,
        solved_at: datetime | None = None,
    ) -> None:
        """Change a ticket now. Solving it without ``solved_at`` sets its metric's ``solved_at`` to now."""
        ticket = self._unplace(ticket_id)
        ticket.updated_at = max(_aware(self.clock()), ticket.created_at)
        if status is not None:
            ticket.status = status
        if priority is not None:
            ticket.priority = priority
        if tags is not None:
            ticket.tags = tuple(tags)
        if solved_at is not None:
            ticket.solved_at = _aware(solved_at)
        elif status in SOLVED and ticket.solved_at is None:
            ticket.solved_at = ticket.updated_at
        self._place(ticket)

    def delete_ticket(self, ticket_id: str) -> None:
        """Deleted, as the export shows it: the ticket with status ``deleted``, changed now."""
        self.update_ticket(ticket_id, status="deleted")

    def merge_ticket(self, source_id: str, target_id: str) -> None:
        """Merge: the source is closed and tagged ``closed_by_merge`` (*assumed* tag); the target gets a
        comment about it, so it changes too."""
        source = self.tickets[int(source_id)]
        self.update_ticket(source_id, status="closed", tags=[*source.tags, "closed_by_merge"])
        self.update_ticket(target_id)

    def bulk_tickets(self, rows: Iterable[Row]) -> None:
        """Many tickets at once: (organization id, created_at, status, priority, tags, solved_at). Each is
        changed last when created or solved (whichever is later), not now: load them before exporting."""
        for row in rows:
            self._next_id += 1
            ticket = _ticket(self._next_id, row)
            ticket.key = (_us(ticket.updated_at), ticket.id)
            self.tickets[ticket.id] = ticket
            self._order.append(ticket.key)
        self._order.sort()

    def add_rating(
        self, ticket_id: str, score: str, comment: str | None = None, *, created_at: datetime | None = None
    ) -> str:
        ticket = self.tickets[int(ticket_id)]
        rating_id, created = self._new_id(), iso(_aware(created_at or self.clock()))
        self.ratings[rating_id] = {
            **RATING,
            "id": rating_id,
            "url": f"{self.url}/api/v2/satisfaction_ratings/{rating_id}.json",
            "ticket_id": ticket.id,
            "score": score,
            "comment": comment,
            "created_at": created,
            "updated_at": created,
        }
        insort(self._rating_order, (created, rating_id))
        return str(rating_id)

    def _place(self, ticket: FakeTicket) -> None:
        ticket.key, ticket.json, ticket.metric = (_us(ticket.updated_at), ticket.id), None, None
        self.tickets[ticket.id] = ticket
        insort(self._order, ticket.key)

    def _unplace(self, ticket_id: str) -> FakeTicket:
        ticket = self.tickets[int(ticket_id)]
        del self._order[bisect_left(self._order, ticket.key)]
        return ticket

    # --------------------------------------------------------------------------------- failures

    def rate_limit_next(self, count: int = 1, retry_after: int | None = 60) -> None:
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        self._failures += [(429, RATE_LIMITED, headers)] * count

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        self._failures += [(status, {"error": "ServiceUnavailable", "description": "try again"}, {})] * count

    def answer_next(self, body: Mapping[str, Any], status: int = 200) -> None:
        """Answer the next request with ``body`` whatever it asks (a malformed answer, say)."""
        self._failures.append((status, body, {}))

    def expire_token(self) -> None:
        self._expired = True

    def of(self, path_part: str) -> list[Call]:
        return [call for call in self.requests if path_part in call.path]

    # ----------------------------------------------------------------------------------- server

    @property
    def url(self) -> str:
        return self._url

    async def start(self) -> str:
        app = web.Application(middlewares=[self._gate])
        app.router.add_get("/api/v2/users/me" + JSON_PATH, self._me)
        app.router.add_get("/api/v2/organizations" + JSON_PATH, self._organizations)
        app.router.add_get("/api/v2/incremental/tickets/cursor" + JSON_PATH, self._export)
        app.router.add_get("/api/v2/satisfaction_ratings" + JSON_PATH, self._ratings)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        self._url = str(self._server.make_url("")).rstrip("/")
        return self._url

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    async def __aenter__(self) -> FakeZendesk:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @web.middleware
    async def _gate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        user, password = _basic(request.headers.get("Authorization"))
        call = Call(request.method, request.path, dict(request.query), user)
        self.requests.append(call)
        response: web.StreamResponse
        if self._expired or (user, password) != (f"{self.email}/token", self.token):
            anonymous = (user is None or self.anonymous_when_refused) and not self._expired
            anonymous = anonymous and request.path.startswith("/api/v2/users/me")
            response = web.json_response(_ANONYMOUS) if anonymous else _error(401, UNAUTHENTICATED)
        elif self._failures:
            status, body, headers = self._failures.pop(0)
            response = _error(status, body, headers)
        elif self.role != "admin" and ("/incremental/" in request.path or "satisfaction" in request.path):
            response = _error(403, FORBIDDEN)
        else:
            response = await handler(request)
            if response.status == 200:
                remaining = self.remaining.popleft() if self.remaining else 699
                response.headers.update({"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": str(remaining)})
        call.status = response.status
        return response

    # --------------------------------------------------------------------------------- handlers

    async def _me(self, request: web.Request) -> web.Response:
        user = {"id": 1, "name": "Acme Admin", "email": self.email, "role": self.role, "active": True}
        return web.json_response({"user": user})

    async def _organizations(self, request: web.Request) -> web.Response:
        return self._cursor_page(request, "organizations", sorted(self.organizations), self.organizations)

    async def _ratings(self, request: web.Request) -> web.Response:
        wanted = _score_filter(request.query.get("score"))
        low, high = request.query.get("start_time"), request.query.get("end_time")
        if any(v is not None and not v.isdigit() for v in (low, high)):
            return _invalid("start_time and end_time are Unix epoch seconds")
        first, last = (None if v is None else iso(EPOCH + timedelta(seconds=int(v))) for v in (low, high))
        ids = [
            i
            for at, i in self._rating_order
            if (first or at) <= at <= (last or at) and wanted(self.ratings[i])
        ]
        return self._cursor_page(request, "satisfaction_ratings", ids, self.ratings)

    def _cursor_page(
        self, request: web.Request, key: str, ids: list[int], records: Mapping[int, dict[str, Any]]
    ) -> web.Response:
        size, after = request.query.get("page[size]"), request.query.get("page[after]")
        if size is None or not size.isdigit():
            return _invalid("the fake lists with cursor pagination only: page[size] is needed")
        found = [0] if after is None else _decode(after, 1)
        if found is None:
            return _invalid("page[after] is not a cursor of this list")
        start = found[0]
        end = start + min(int(size), 100)  # assumed: a larger page[size] is capped, not refused
        chunk = ids[start:end]
        has_more = end < len(ids)
        after_cursor, before_cursor = _encode(end) if chunk else None, _encode(start) if chunk else None
        link = f"{self.url}{request.path}?page%5Bsize%5D={size}&page%5B"
        meta = {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": before_cursor}
        prev = f"{link}before%5D={before_cursor}" if start and chunk else None
        links = {"next": f"{link}after%5D={after_cursor}" if has_more else None, "prev": prev}
        return web.json_response({key: [records[i] for i in chunk], "meta": meta, "links": links})

    async def _export(self, request: web.Request) -> web.Response:
        query, now = request.query, _aware(self.clock())
        per_page = query.get("per_page", "1000")
        if not per_page.isdigit() or not 1 <= int(per_page) <= 1000:
            return _invalid("per_page must be between 1 and 1000")
        cursor, start_time = query.get("cursor"), query.get("start_time")
        if cursor is not None:
            key = _decode(cursor, 2)
            if key is None:
                return _invalid("Invalid cursor")  # assumed body
            start = bisect_right(self._order, (key[0], key[1]))
        elif start_time is not None and start_time.isdigit():
            if EPOCH + timedelta(seconds=int(start_time)) > now - timedelta(minutes=1):
                # documented: at least a minute in the past; the answer itself is assumed
                return _invalid("Too recent start_time. Use a start_time older than 1 minute")
            start = bisect_left(self._order, (int(start_time) * 1_000_000, -1))
        else:
            return _invalid("start_time (Unix epoch seconds) or cursor is needed")
        limit = bisect_right(self._order, (_us(now - self.hold_back), 1 << 62))
        chunk = self._order[start : min(start + int(per_page), limit)] if start < limit else []
        tickets = [self.tickets[i] for _, i in chunk]
        after = _encode(*chunk[-1]) if chunk else cursor  # assumed: no ticket, no new cursor
        before = _encode(*chunk[0]) if chunk else None
        export = f"{self.url}/api/v2/incremental/tickets/cursor.json?cursor="
        tail = {
            "after_cursor": after,
            "after_url": None if after is None else export + after,
            "before_cursor": before,
            "before_url": None if before is None else export + before,
            "end_of_stream": start + len(chunk) >= limit,
        }
        rendered = [self._render(t) for t in tickets]
        parts = ['{"tickets":[', ",".join(r[0] for r in rendered), "]"]
        if "metric_sets" in query.get("include", "").split(","):
            parts += [',"metric_sets":[', ",".join(r[1] for r in rendered), "]"]
        parts += [",", json.dumps(tail)[1:]]
        return web.Response(text="".join(parts), content_type="application/json")

    def _render(self, t: FakeTicket) -> tuple[str, str]:
        """The ticket's JSON and its metric set's, built from templates once per change."""
        if t.json is None or t.metric is None:
            created, updated = iso(t.created_at), iso(t.updated_at)
            solved = "null" if t.solved_at is None else f'"{iso(t.solved_at)}"'
            values = self._json_of
            org = "null" if t.organization_id is None else t.organization_id
            t.json = (  # a subset of the documented ticket, enough to be read like one
                f'{{"id":{t.id},"created_at":"{created}","updated_at":"{updated}",'
                f'"generated_timestamp":{t.key[0] // 1_000_000},'
                f'"priority":{values(t.priority)},"status":{values(t.status)},"organization_id":{org},'
                f'"tags":{values(t.tags)}}}'
            )
            t.metric = f'{{"id":{t.id + 10**9},"ticket_id":{t.id},"solved_at":{solved}}}'
        return t.json, t.metric

    def _json_of(self, value: str | tuple[str, ...] | None) -> str:
        """JSON of a status, a priority or a tuple of tags: few distinct ones, each encoded once."""
        found = self._json_cache.get(value)
        if found is None:
            found = self._json_cache[value] = json.dumps(list(value) if isinstance(value, tuple) else value)
        return found


# assumed: users/me without (or, as Zendesk may do, with wrong) credentials: an anonymous user, no id
_ANONYMOUS = {"user": {"id": None, "name": "Anonymous user", "role": "end-user"}}


def _basic(header: str | None) -> tuple[str | None, str | None]:
    if not header or not header.startswith("Basic "):
        return None, None
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (ValueError, binascii.Error):
        return None, None
    return user, password


def _score_filter(score: str | None) -> Callable[[Mapping[str, Any]], bool]:
    """The ``score`` filter of the ratings list: which ratings it keeps."""
    if not score:
        return lambda rating: True
    base, _, comment = score.partition("_with")
    wanted = {"received": ("good", "bad")}.get(base, (base,))

    def keep(rating: Mapping[str, Any]) -> bool:
        has_comment = bool(rating.get("comment"))
        if (comment == "_comment" and not has_comment) or (comment == "out_comment" and has_comment):
            return False
        return rating["score"] in wanted

    return keep
