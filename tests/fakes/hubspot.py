"""A fake HubSpot CRM v3 API on an ephemeral loopback port that records every request it receives.

It holds companies, deals and contacts (associated both ways), owners and property definitions, and
answers like HubSpot:

- ``GET /crm/v3/objects/{type}``: id order, ``limit`` capped at 100, an opaque ``after`` cursor,
  ``properties`` (unknown names ignored), ``associations``, ``archived=true`` for only archived records.
- ``POST /crm/v3/objects/{type}/search``: one filter group on the modification property (``GTE GT LT
  LTE``), sorted by it, ``limit`` capped at 200, an offset ``after``, a 400 once ``after`` reaches
  ``search_ceiling`` (10,000 in HubSpot); archived records never appear.
- ``GET /crm/v3/objects/{type}/{id}``: a merged-away id answers with its survivor.
- ``POST /crm/v3/objects/{type}/batch/update``: 200, or 207 naming the ids it could not find; 400 for the
  whole batch on an unknown property or an option the property does not have.
- ``GET /crm/v3/properties/{type}`` and ``GET /crm/v3/owners/``.

Refusals: a wrong token (401 ``INVALID_AUTHENTICATION``), ``token_expired`` (401
``EXPIRED_AUTHENTICATION``), ``daily_limit_reached`` (429 ``DAILY``), :meth:`rate_limit_next` (burst
429s, ``Retry-After`` optional), :meth:`fail_next` (5xx), :meth:`require_scope` (403), an unknown object
type. Where HubSpot's exact answer is not documented the fake's is marked *assumed*. Non-search answers
carry HubSpot's rate-limit headers; ``remaining`` scripts ``X-HubSpot-RateLimit-Remaining`` for the next
ones (99 otherwise). ``requests`` holds every :class:`Call`; :meth:`of` picks some out.

Changes go through :meth:`add`, :meth:`modify`, :meth:`archive` and :meth:`merge`, which stamp records
with ``clock()`` (a :class:`ManualClock` by default, never the wall clock). Records live in dicts and
sorted lists, so tens of thousands of them page and search quickly.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

TOKEN = "pat-na1-0f1e2d3c-4b5a-6978-8a9b-acbdcedf0011"
START = datetime(2024, 1, 1, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SINGULAR = {"companies": "company", "deals": "deal", "contacts": "contact"}
BODY = web.RequestKey("body", dict[str, Any])  # the request's JSON body, parsed once by the gate


class ManualClock:
    """A clock tests move: each call returns ``now``, then moves it on by ``step`` (1 ms by default, so
    consecutive changes get distinct times; ``step=timedelta(0)`` stamps them all alike)."""

    def __init__(self, start: datetime = START, step: timedelta = timedelta(milliseconds=1)) -> None:
        self.now, self.step = start, step

    def __call__(self) -> datetime:
        moment, self.now = self.now, self.now + self.step
        return moment

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def ms_of(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)


def iso(ms: int) -> str:
    """HubSpot's form: ISO-8601 with milliseconds and ``Z``."""
    return f"{EPOCH + timedelta(milliseconds=ms):%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    status: int = 0  # the status the fake answered with


@dataclass
class FakeRecord:
    id: str
    properties: dict[str, str | None]
    created_ms: int
    modified_ms: int
    archived_ms: int | None = None
    associations: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # type -> id -> labels


class _Table:
    """One object type: records by id, and sorted indexes of the active ids, the archived ids and the
    active (modified ms, id) pairs."""

    def __init__(self, modified: str, defaults: list[str]) -> None:
        self.modified, self.defaults = modified, defaults
        self.records: dict[str, FakeRecord] = {}
        self.active: list[int] = []
        self.archived: list[int] = []
        self.by_modified: list[tuple[int, int]] = []

    def index(self, record: FakeRecord, *, add: bool = True) -> None:
        """Put ``record`` in the indexes its state calls for (``add=False``: take it out of them)."""
        rid = int(record.id)
        if record.archived_ms is not None:
            _place(self.archived, rid, add)
        else:
            _place(self.active, rid, add)
            _place(self.by_modified, (record.modified_ms, rid), add)


def _place(items: list[Any], key: Any, add: bool) -> None:
    if add:
        insort(items, key)
        return
    at = bisect_left(items, key)
    assert at < len(items) and items[at] == key, key
    del items[at]


# Property definitions: name, label (underscores for spaces), type, fieldType, options. The types of
# industry and hubspot_owner_id are not verified; an owner's options (the owners) are not checked here.
_COMMON = """
    createdate              Create_Date         datetime     date
    hs_object_id            Record_ID           number       number
    hubspot_owner_id        Owner               enumeration  select
    hs_merged_object_ids    Merged_record_IDs   enumeration  checkbox
"""
_PROPERTY_SPECS = {
    "companies": _COMMON
    + """
    name                    Company_name        string       text
    domain                  Company_Domain_Name string       text
    hs_lastmodifieddate     Last_Modified_Date  datetime     date
    annualrevenue           Annual_Revenue      number       number
    lifecyclestage          Lifecycle_Stage     enumeration  radio    subscriber,lead,marketingqualifiedlead,
                                                                      salesqualifiedlead,opportunity,customer,
                                                                      evangelist,other
    industry                Industry            string       text
    hs_additional_domains   Additional_Domains  string       text
""",
    "deals": _COMMON
    + """
    dealname                Deal_Name           string       text
    amount                  Amount              number       number
    closedate               Close_Date          datetime     date
    dealstage               Deal_Stage          enumeration  radio    appointmentscheduled,qualifiedtobuy,
                                                                      contractsent,closedwon,closedlost
    pipeline                Pipeline            enumeration  select   default
    dealtype                Deal_Type           enumeration  radio    newbusiness,existingbusiness
    hs_is_closed            Is_Deal_Closed?     bool         booleancheckbox  true,false
    hs_is_closed_won        Is_Closed_Won       bool         booleancheckbox  true,false
    hs_is_closed_lost       Is_Closed_Lost      bool         booleancheckbox  true,false
    hs_lastmodifieddate     Last_Modified_Date  datetime     date
""",
    "contacts": _COMMON
    + """
    email                   Email               string       text
    firstname               First_Name          string       text
    lastname                Last_Name           string       text
    lastmodifieddate        Last_Modified_Date  datetime     date
""",
}
_FIELD_TYPES = {"string": "text", "enumeration": "select", "bool": "booleancheckbox", "datetime": "date"}
_DEFAULTS = {  # what search returns when a request names no properties (search docs)
    "companies": "name domain createdate hs_lastmodifieddate hs_object_id",
    "deals": "dealname amount closedate pipeline dealstage createdate hs_lastmodifieddate hs_object_id",
    "contacts": "firstname lastname email lastmodifieddate hs_object_id createdate",
}


def definition(
    name: str, label: str, kind: str, field_type: str, options: Iterable[str] = ()
) -> dict[str, Any]:
    """A property definition as ``GET /crm/v3/properties/{type}`` lists it."""
    return {
        "name": name,
        "label": label,
        "type": kind,
        "fieldType": field_type,
        "groupName": "information",
        "description": "",
        "options": [
            {"label": o, "value": o, "displayOrder": i, "hidden": False} for i, o in enumerate(options)
        ],
        "hidden": False,
        "hubspotDefined": True,
        "calculated": False,
        "formField": False,
    }


def _definitions(spec: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    rows: list[list[str]] = []
    for line in spec.strip().splitlines():
        words = line.split()
        if not words:
            continue
        if len(words) == 1:  # the options of the row above, continued
            rows[-1][-1] += words[0]
        else:
            rows.append(words)
    for name, label, kind, field_type, *options in rows:
        choices = options[0].split(",") if options else []
        found[name] = definition(name, label.replace("_", " "), kind, field_type, choices)
    return found


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class FakeHubSpot:
    token: str = TOKEN
    clock: Callable[[], datetime] = field(default_factory=ManualClock)
    search_ceiling: int = 10_000
    token_expired: bool = False
    daily_limit_reached: bool = False
    requests: list[Call] = field(default_factory=list)
    owners: dict[str, dict[str, Any]] = field(default_factory=dict)
    definitions: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    merged: dict[str, dict[str, str]] = field(default_factory=dict)  # type -> merged-away id -> survivor
    scopes: dict[str, str] = field(default_factory=dict)  # type -> the scope the token lacks
    remaining: deque[int] = field(default_factory=deque)  # X-HubSpot-RateLimit-Remaining of next answers
    _tables: dict[str, _Table] = field(default_factory=dict)
    _failures: list[tuple[str | None, int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1001))
    _server: TestServer | None = None

    def __post_init__(self) -> None:
        for kind, spec in _PROPERTY_SPECS.items():
            self.definitions[kind] = _definitions(spec)
            self._tables[kind] = _Table(_modified(kind), _DEFAULTS[kind].split())
            self.merged[kind] = {}

    # ------------------------------------------------------------------------------------- data

    def add(
        self, kind: str, properties: Mapping[str, str | None] | None = None, *, id: str | None = None
    ) -> str:
        table, now = self._tables[kind], ms_of(self.clock())
        record_id = id or str(next(self._ids))
        assert record_id.isdigit() and record_id not in table.records, record_id
        record = FakeRecord(record_id, dict(properties or {}), now, now)
        self._stamp(kind, record)
        table.records[record_id] = record
        table.index(record)
        return record_id

    def modify(
        self, kind: str, record_id: str, properties: Mapping[str, str | None], *, archived: bool | None = None
    ) -> None:
        """Change properties (and, with ``archived``, archive or restore): a new modification time."""
        table = self._tables[kind]
        record = table.records[record_id]
        table.index(record, add=False)
        record.properties.update(properties)
        record.modified_ms = ms_of(self.clock())
        if archived is not None:
            record.archived_ms = record.modified_ms if archived else None
        self._stamp(kind, record)
        table.index(record)

    def archive(self, kind: str, record_id: str, *, archived: bool = True) -> None:
        self.modify(kind, record_id, {}, archived=archived)

    def merge(self, kind: str, primary_id: str, merged_id: str, *, new_record: bool = False) -> str:
        """Merge ``merged_id`` into ``primary_id``; the survivor (``primary_id``, or with ``new_record`` a new
        id both old ids point to, as HubSpot does for companies and contacts since 2023) lists the merged
        ids in ``hs_merged_object_ids`` and takes over their associations. Returns the survivor's id."""
        table = self._tables[kind]
        primary, gone = table.records[primary_id], table.records[merged_id]
        survivor = self.add(kind, {**gone.properties, **primary.properties}) if new_record else primary_id
        earlier = [(r.properties.get("hs_merged_object_ids") or "").split(";") for r in (primary, gone)]
        old = [primary, gone] if new_record else [gone]
        for record in old:
            table.index(record, add=False)
            del table.records[record.id]
            self.merged[kind][record.id] = survivor
            for other_kind, links in record.associations.items():
                for other_id, labels in links.items():
                    self._tables[other_kind].records[other_id].associations[kind].pop(record.id, None)
                    self.associate(kind, survivor, other_kind, other_id, labels)
        merged_ids = [i for ids in earlier for i in ids if i] + [r.id for r in old]
        self.modify(kind, survivor, {"hs_merged_object_ids": ";".join(merged_ids)})
        return survivor

    def associate(
        self, kind: str, record_id: str, other_kind: str, other_id: str, labels: Iterable[str] | None = None
    ) -> None:
        """Associate two records both ways. By default with both labels HubSpot lists for a deal's company
        (``deal_to_company`` and ``deal_to_company_unlabeled``): the same id comes twice."""
        there = f"{SINGULAR[kind]}_to_{SINGULAR[other_kind]}"
        back = f"{SINGULAR[other_kind]}_to_{SINGULAR[kind]}"
        there_labels = list(labels or (there, f"{there}_unlabeled"))
        for a, a_id, b, b_id, names in (
            (kind, record_id, other_kind, other_id, there_labels),
            (other_kind, other_id, kind, record_id, [label.replace(there, back) for label in there_labels]),
        ):
            links = self._tables[a].records[a_id].associations.setdefault(b, {})
            links[b_id] = list(dict.fromkeys([*links.get(b_id, []), *names]))

    def add_owner(self, email: str | None, first: str = "", last: str = "", *, archived: bool = False) -> str:
        owner_id = str(next(self._ids))
        user_id = int(owner_id) + 9_000_000
        self.owners[owner_id] = {
            "id": owner_id,
            "email": email,
            "type": "PERSON",
            "firstName": "" if archived else first,  # HubSpot's example of a deactivated user
            "lastName": last,
            "userId": None if archived else user_id,
            "userIdIncludingInactive": user_id,
            "createdAt": iso(ms_of(START)),
            "updatedAt": iso(ms_of(START)),
            "archived": archived,
        }
        return owner_id

    def define(self, kind: str, name: str, value_type: str = "string", options: Iterable[str] = ()) -> None:
        """Add a custom property (``value_type``: string, number, date, datetime, enumeration or bool)."""
        field_type = _FIELD_TYPES.get(value_type, value_type)
        label = name.replace("_", " ").capitalize()
        self.definitions[kind][name] = definition(name, label, value_type, field_type, options)

    def record(self, kind: str, record_id: str) -> FakeRecord:
        return self._tables[kind].records[record_id]

    def of(self, method: str, path_part: str = "") -> list[Call]:
        """The requests of ``method`` whose path holds ``path_part``, in order."""
        return [r for r in self.requests if r.method == method and path_part in r.path]

    # --------------------------------------------------------------------------------- failures

    def rate_limit_next(
        self,
        times: int = 1,
        *,
        policy: str = "TEN_SECONDLY_ROLLING",
        retry_after: int | None = None,
        interval_ms: int | None = 10_000,
        path_part: str | None = None,
    ) -> None:
        """Answer the next ``times`` requests (whose path holds ``path_part``) with 429s of ``policy``."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        if interval_ms is not None:
            headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = str(interval_ms)
        self._failures += [(path_part, 429, _limit_body(policy), headers)] * times

    def fail_next(self, status: int = 503, times: int = 1, *, path_part: str | None = None) -> None:
        body = {"status": "error", "message": "internal error", "category": "INTERNAL_ERROR"}
        self._failures += [(path_part, status, body, {})] * times

    def require_scope(self, kind: str, scope: str) -> None:
        """Refuse every request about ``kind`` with 403: the token lacks ``scope``."""
        self.scopes[kind] = scope

    # ----------------------------------------------------------------------------------- server

    @property
    def url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    async def start(self) -> None:
        app = web.Application(middlewares=[self._gate])
        app.router.add_get("/crm/v3/properties/{kind}", self._properties)
        app.router.add_get("/crm/v3/owners", self._owners)
        app.router.add_get("/crm/v3/owners/", self._owners)
        app.router.add_get("/crm/v3/objects/{kind}", self._list)
        app.router.add_post("/crm/v3/objects/{kind}/search", self._search)
        app.router.add_post("/crm/v3/objects/{kind}/batch/update", self._batch_update)
        app.router.add_get("/crm/v3/objects/{kind}/{id}", self._get)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    @web.middleware
    async def _gate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        raw = await request.text()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        entry = Call(request.method, request.path, dict(request.query), body, dict(request.headers))
        self.requests.append(entry)
        request[BODY] = body if isinstance(body, dict) else {}
        response: web.StreamResponse | None = self._refusal(request)
        if response is None:
            try:
                response = await handler(request)
            except web.HTTPException as error:
                entry.status = error.status
                raise
            response.headers.update(self._limit_headers(search=request.path.endswith("/search")))
        entry.status = response.status
        return response

    def _refusal(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(401, _UNAUTHENTICATED, {"x-hubspot-auth-failure": "401 Unauthorized"})
        if self.token_expired:
            return _error(401, _EXPIRED, {"x-hubspot-auth-failure": "401 Unauthorized"})
        if self.daily_limit_reached:
            return _error(429, _limit_body("DAILY"))
        for at, (path_part, status, body, headers) in enumerate(self._failures):
            if path_part is None or path_part in request.path:
                del self._failures[at]
                return _error(status, body, headers)
        kind = request.match_info.get("kind")
        if kind is not None and kind not in self._tables:
            # Assumed status: HubSpot's message is real, the status is not documented.
            return _error(400, {"status": "error", "message": f"Unable to infer object type from: {kind}"})
        if kind is not None and kind in self.scopes:
            return _error(403, _missing_scope(self.scopes[kind]))
        return None

    def _limit_headers(self, *, search: bool) -> dict[str, str]:
        used = len(self.requests)
        headers = {
            "X-HubSpot-RateLimit-Daily": "250000",
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, 250_000 - used)),
            "X-HubSpot-Correlation-Id": _correlation(used),
        }
        if not search:  # search answers carry only the daily figures
            headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = "10000"
            headers["X-HubSpot-RateLimit-Max"] = "100"
            headers["X-HubSpot-RateLimit-Remaining"] = str(self.remaining.popleft() if self.remaining else 99)
            headers["X-HubSpot-RateLimit-Secondly"] = "10"
            headers["X-HubSpot-RateLimit-Secondly-Remaining"] = "9"
        return headers

    # --------------------------------------------------------------------------------- handlers

    def _stamp(self, kind: str, record: FakeRecord) -> None:
        record.properties["hs_object_id"] = record.id
        record.properties["createdate"] = iso(record.created_ms)
        record.properties[_modified(kind)] = iso(record.modified_ms)

    def _render(
        self, kind: str, record: FakeRecord, names: list[str] | None, associations: list[str]
    ) -> dict[str, Any]:
        table, known = self._tables[kind], self.definitions[kind]
        wanted = table.defaults
        if names:  # unknown names are ignored; these three always come
            wanted = [*(n for n in names if n in known), "createdate", table.modified, "hs_object_id"]
        out: dict[str, Any] = {
            "id": record.id,
            "properties": {name: record.properties.get(name) for name in dict.fromkeys(wanted)},
            "createdAt": iso(record.created_ms),
            "updatedAt": iso(record.modified_ms),
            "archived": record.archived_ms is not None,
        }
        if record.archived_ms is not None:
            out["archivedAt"] = iso(record.archived_ms)
        for other_kind in associations:
            if links := record.associations.get(other_kind):
                results = [{"id": i, "type": label} for i, labels in links.items() for label in labels]
                out.setdefault("associations", {})[other_kind] = {"results": results}
        return out

    async def _properties(self, request: web.Request) -> web.Response:
        return web.json_response({"results": list(self.definitions[request.match_info["kind"]].values())})

    async def _owners(self, request: web.Request) -> web.Response:
        archived, email = request.query.get("archived") == "true", request.query.get("email")
        owners = [
            o for o in self.owners.values() if o["archived"] == archived and email in (None, o["email"])
        ]
        start = _cursor(request.query.get("after"))
        if start is None:
            return _validation("after is not a valid cursor")
        limit = _int(request.query.get("limit"), 100)
        end = start + limit
        return web.json_response(_paged(owners[start:end], end if end < len(owners) else None))

    async def _list(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        table = self._tables[kind]
        ids = table.archived if request.query.get("archived") == "true" else table.active
        after = _cursor(request.query.get("after"))
        if after is None:
            return _validation("after is not a valid cursor")
        start = bisect_left(ids, after)
        limit = min(_int(request.query.get("limit"), 10), 100)
        names, associations = (
            _names(request.query.get("properties")),
            _names(request.query.get("associations")),
        )
        chunk = ids[start : start + limit]
        results = [self._render(kind, table.records[str(i)], names, associations or []) for i in chunk]
        end = start + limit
        return web.json_response(_paged(results, ids[end] if end < len(ids) else None))

    async def _get(self, request: web.Request) -> web.Response:
        kind, asked = request.match_info["kind"], request.match_info["id"]
        while asked in self.merged[kind]:
            asked = self.merged[kind][asked]
        record = self._tables[kind].records.get(asked)
        if record is None or (record.archived_ms is not None and request.query.get("archived") != "true"):
            return _error(404, _not_found(request.match_info["id"]))
        names, associations = (
            _names(request.query.get("properties")),
            _names(request.query.get("associations")),
        )
        return web.json_response(self._render(kind, record, names, associations or []))

    async def _search(self, request: web.Request) -> web.Response:
        kind, body = request.match_info["kind"], request[BODY]
        table = self._tables[kind]
        limit, after = min(_int(body.get("limit"), 10), 200), _int(body.get("after"), 0)
        if after >= self.search_ceiling:  # assumed body: HubSpot documents only "a 400 error"
            return _validation(f"Paging past {self.search_ceiling} search results is not supported")
        groups, sorts = body.get("filterGroups") or [], body.get("sorts") or []
        if len(groups) > 1 or "query" in body or any(s.get("propertyName") != table.modified for s in sorts):
            return _validation(f"the fake searches with one filter group on {table.modified}, no query")
        low, high = 0, len(table.by_modified)
        for spec in groups[0]["filters"] if groups else []:
            name, op = spec.get("propertyName"), spec.get("operator")
            if name not in self.definitions[kind]:
                return _error(400, _unknown_property(name))
            if name != table.modified or op not in ("GTE", "GT", "LT", "LTE"):
                return _validation(f"the fake filters only on {table.modified}, with GTE, GT, LT or LTE")
            try:
                value = int(spec["value"])
            except (KeyError, ValueError):
                return _validation("a date filter's value is milliseconds since the epoch")
            # The first pair at or after the edge: ``value`` for GTE/LT, the next millisecond for GT/LTE.
            edge = bisect_left(table.by_modified, (value + 1 if op in ("GT", "LTE") else value, -1))
            low, high = (max(low, edge), high) if op in ("GTE", "GT") else (low, min(high, edge))
        keys = table.by_modified[low:high] if high > low else []
        if not sorts:  # HubSpot's default order: oldest created first
            keys = sorted(keys, key=lambda key: key[1])
        elif sorts[0].get("direction") == "DESCENDING":
            keys = keys[::-1]
        chunk = keys[after : min(after + limit, self.search_ceiling)]
        names = body.get("properties") or None
        found: dict[str, Any] = {
            "total": len(keys),
            "results": [self._render(kind, table.records[str(i)], names, []) for _, i in chunk],
        }
        if after + len(chunk) < len(keys):
            found["paging"] = {"next": {"after": str(after + len(chunk))}}
        return web.json_response(found)

    async def _batch_update(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        table, inputs = self._tables[kind], (request[BODY]).get("inputs") or []
        ids = [str(item["id"]) for item in inputs]
        if len(inputs) > 100 or len(set(ids)) < len(ids):  # assumed messages
            return _validation("A batch takes at most 100 inputs, each id once")
        problems: list[tuple[str, str, str]] = []
        for item in inputs:
            for name, value in (item.get("properties") or {}).items():
                known = self.definitions[kind].get(name)
                if known is None:
                    problems.append((f'Property "{name}" does not exist', "PROPERTY_DOESNT_EXIST", name))
                elif known["options"] and value not in {o["value"] for o in known["options"]}:
                    problems.append((f"{value} was not one of the allowed options", "INVALID_OPTION", name))
        if problems:  # assumed: the whole batch is refused (HubSpot's documented 207 example is a create)
            found = [{"isValid": False, "message": m, "error": e, "name": n} for m, e, n in problems]
            return _validation(f"Property values were not valid: {json.dumps(found)}")
        results, missing = [], []
        for item, asked in zip(inputs, ids, strict=True):
            while asked in self.merged[kind]:  # assumed: applied to the survivor, which comes back instead
                asked = self.merged[kind][asked]
            record = table.records.get(asked)
            if record is None or record.archived_ms is not None:
                missing.append(str(item["id"]))
                continue
            self.modify(kind, record.id, item.get("properties") or {})
            results.append(self._render(kind, record, list(item.get("properties") or {}), []))
        stamp = iso(ms_of(START))
        answer: dict[str, Any] = {"status": "COMPLETE", "results": results}
        answer["startedAt"] = answer["completedAt"] = stamp
        if not missing:
            return web.json_response(answer)
        answer["numErrors"], answer["errors"] = 1, [_objects_not_found(kind, missing)]
        return web.json_response(answer, status=207)


def _modified(kind: str) -> str:
    return "lastmodifieddate" if kind == "contacts" else "hs_lastmodifieddate"


def _correlation(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def _error(status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response({**body, "correlationId": _correlation(status)}, status=status, headers=headers)


def _validation(message: str) -> web.Response:
    return _error(400, {"status": "error", "message": message, "category": "VALIDATION_ERROR"})


_UNAUTHENTICATED = {
    "status": "error",
    "message": "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
    "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
    "category": "INVALID_AUTHENTICATION",
}
_EXPIRED = {
    "status": "error",
    "message": "The OAuth token used to make this call expired 0 second(s) ago.",
    "category": "EXPIRED_AUTHENTICATION",
    "context": {"expire time": ["2024-01-01T00:00:00.000Z"]},
}


def _missing_scope(scope: str) -> dict[str, Any]:
    """Assumed shape: HubSpot does not document its missing-scope answer."""
    return {
        "status": "error",
        "message": "This app hasn't been granted all required scopes to make this call. Read more about "
        "required scopes here: https://developers.hubspot.com/scopes.",
        "errors": [
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": [scope]},
            }
        ],
        "category": "MISSING_SCOPES",
    }


def _not_found(record_id: str) -> dict[str, Any]:
    return {
        "status": "error",
        "message": "Object not found.  objectId are usually numeric.",
        "context": {"id": [record_id]},
        "category": "OBJECT_NOT_FOUND",
    }


def _unknown_property(name: object) -> dict[str, Any]:
    """Assumed: the error envelope of HubSpot's docs, with the code its write errors use."""
    message = f'Property "{name}" does not exist'
    return {
        "status": "error",
        "message": message,
        "category": "VALIDATION_ERROR",
        "errors": [
            {"message": message, "code": "PROPERTY_DOESNT_EXIST", "context": {"propertyName": [name]}}
        ],
    }


def _objects_not_found(kind: str, ids: list[str]) -> dict[str, Any]:
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": f"Could not get some {SINGULAR[kind].upper()} objects, they may be deleted or not exist. "
        "Check that ids are valid.",
        "context": {"ids": ids},
    }


def _limit_body(policy: str) -> dict[str, Any]:
    """A 429's body. The DAILY one is assumed (not documented), modelled on the burst ones."""
    group = {"SECONDLY": "secondly", "DAILY": "daily"}.get(policy, "ten-secondly")
    return {
        "status": "error",
        "message": f"You have reached your {policy.lower()} limit.",
        "errorType": "RATE_LIMIT",
        "policyName": policy,
        "groupName": f"publicapi:hapikey-api-calls-{group}:1234567",
    }


def _int(raw: object, default: int) -> int:
    try:
        return int(str(raw)) if raw not in (None, "") else default
    except ValueError:
        return default


def _names(raw: str | None) -> list[str] | None:
    return [n for n in (raw or "").split(",") if n] or None


def _cursor(raw: str | None) -> int | None:
    """The number behind an opaque ``after`` (0 without one; None when it is not one of the fake's)."""
    if raw is None:
        return 0
    try:
        return int(base64.urlsafe_b64decode(raw).decode())
    except (ValueError, binascii.Error):
        return None


def _paged(results: list[dict[str, Any]], next_at: int | None) -> dict[str, Any]:
    """A page and, when there is one after it, the opaque cursor of where the next starts."""
    body: dict[str, Any] = {"results": results}
    if next_at is not None:
        after = base64.urlsafe_b64encode(str(next_at).encode()).decode()
        body["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
    return body
