"""A fake Salesforce org (its token endpoint and REST API) on an ephemeral loopback port that records every
request it receives.

It holds Accounts, Users and Opportunities and answers as Salesforce documents:

- ``POST /services/oauth2/token``: the client credentials flow (form-encoded); a wrong client id or secret
  is a 400 ``invalid_client``. :meth:`revoke` makes the tokens issued so far fail (401
  ``INVALID_SESSION_ID``) so the client fetches a new one; ``api_disabled`` refuses every session (the Run
  As user lacks API access).
- ``GET /services/data/vXX.X/query`` and ``/queryAll`` (``q``): the SOQL Touchpoint sends, read by a small
  parser (:func:`parse_soql` gives the grammar). Pages of ``Sforce-Query-Options: batchSize=N`` (200 to
  2,000; 2,000 by default) follow one another through ``nextRecordsUrl``
  (``/services/data/vXX.X/query/01gFAKE00000000001-2000``, for queryAll too). ``query`` leaves out deleted
  records; ``queryAll`` has them, merged ones with ``MasterRecordId``. An unknown field or object, and a
  datetime compared with a quoted value, are 400s as Salesforce words them.
- ``GET /services/data/vXX.X/sobjects/{sobject}/describe``: the standard fields below and those added by
  :meth:`define`.
- ``PATCH /services/data/vXX.X/composite/sobjects``: one save result per record in request order; a failed
  one has no ``id``. A field the object does not have refuses the whole request.

Every answer under ``/services/data/`` carries ``Sforce-Limit-Info: api-usage={usage}/{limit}``; each
authenticated REST request counts one. ``request_limit_exceeded`` refuses REST calls with 403
``REQUEST_LIMIT_EXCEEDED``; :meth:`fail_next` answers the next requests with a 5xx. Answers the research did
not find documented are marked *assumed*. ``requests`` holds every :class:`Call`; :meth:`of` picks some
out.

Changes go through :meth:`add`, :meth:`modify`, :meth:`delete` and :meth:`merge`, which stamp
``SystemModstamp`` and ``LastModifiedDate`` with ``clock()`` (a :class:`ManualClock` by default, never the
wall clock). Each object keeps its records sorted by ``(SystemModstamp, Id)``, so a query from a moment
starts where that moment is and tens of thousands of records page quickly.
"""

from __future__ import annotations

import itertools
import json
import operator
import re
from bisect import bisect_left, insort
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.fakes.hubspot import ManualClock

CLIENT_ID = "3MVG9FAKE.Touchpoint.ConsumerKey.0123456789"
CLIENT_SECRET = "F4KE0C0NSUMER0SECRET0123456789ABCDEF"
ORG_ID = "00D5g00000FAKEAEAY"
PREFIXES = {"Account": "001", "User": "005", "Opportunity": "006"}
BODY = web.RequestKey("body", object)  # the request's JSON body, parsed once by the gate

# name, type, length, updateable (u) or not (-), label (underscores for spaces). Types and lengths as the
# field reference gives them; User.Email's type and length are assumed (not confirmed in a reference).
_STAMPS = """
    LastModifiedDate  datetime   0    -  Last_Modified_Date
    SystemModstamp    datetime   0    -  System_Modstamp
"""
_FIELD_SPECS = {
    "Account": """
    Id                id         18   -  Account_ID
    IsDeleted         boolean    0    -  Deleted
    MasterRecordId    reference  18   -  Master_Record_ID
    Name              string     255  u  Account_Name
    Type              picklist   255  u  Account_Type
    Industry          picklist   255  u  Industry
    Website           url        255  u  Website
    AnnualRevenue     currency   0    u  Annual_Revenue
    OwnerId           reference  18   u  Owner_ID
"""
    + _STAMPS,
    "User": """
    Id                id         18   -  User_ID
    Email             email      128  u  Email
    Name              string     121  -  Full_Name
    IsActive          boolean    0    u  Active
"""
    + _STAMPS,
    "Opportunity": """
    Id                id         18   -  Opportunity_ID
    IsDeleted         boolean    0    -  Deleted
    AccountId         reference  18   u  Account_ID
    Name              string     120  u  Name
    Type              picklist   255  u  Opportunity_Type
    StageName         picklist   255  u  Stage
    IsClosed          boolean    0    -  Closed
    IsWon             boolean    0    -  Won
    CloseDate         date       0    u  Close_Date
    Amount            currency   0    u  Amount
"""
    + _STAMPS,
}
_REFERENCES = {"OwnerId": ["User"], "MasterRecordId": ["Account"], "AccountId": ["Account"]}
_CLOSED_STAGES = {"Closed Won": (True, True), "Closed Lost": (True, False)}  # IsClosed, IsWon
_ID_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def sf_time(moment: datetime) -> str:
    """Salesforce's form of a datetime: UTC, milliseconds, ``+0000``."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}+0000"


def with_suffix(base: str) -> str:
    """An 18-character id from a 15-character one: Salesforce's case-safe suffix, one character per five
    (a bit for each capital letter)."""
    assert len(base) == 15, base
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << n for n, char in enumerate(base[start : start + 5]) if "A" <= char <= "Z")
        suffix += _ID_SUFFIX[bits]
    return base + suffix


def describe_field(
    name: str, kind: str, label: str, *, length: int = 0, updateable: bool = True, custom: bool = False
) -> dict[str, Any]:
    """A field as ``describe`` lists it (a subset of DescribeSObjectResult.Field's keys)."""
    return {
        "name": name,
        "label": label,
        "type": kind,
        "length": length,
        "custom": custom,
        "updateable": updateable,
        "createable": updateable,
        "nillable": name not in ("Id", "IsDeleted", "Name", "IsClosed", "IsWon", "SystemModstamp"),
        "referenceTo": _REFERENCES.get(name, []),
    }


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    form: dict[str, str]
    headers: dict[str, str]
    status: int = 0  # the status the fake answered with


class _Table:
    """One object: its fields by name (and by lower-case name: SOQL's names ignore case), its records by
    id, and the sorted (SystemModstamp, Id) pairs of every record."""

    def __init__(self, name: str, spec: str) -> None:
        self.name, self.prefix = name, PREFIXES[name]
        self.fields: dict[str, dict[str, Any]] = {}
        for line in filter(str.strip, spec.splitlines()):
            field_name, kind, length, flag, label = line.split()
            self.fields[field_name] = describe_field(
                field_name, kind, label.replace("_", " "), length=int(length), updateable=flag == "u"
            )
        self.records: dict[str, dict[str, Any]] = {}
        self.by_stamp: list[tuple[datetime, str]] = []

    def canonical(self, name: str) -> str | None:
        lowered = name.lower()
        return next((known for known in self.fields if known.lower() == lowered), None)


@dataclass
class _Cursor:
    table: _Table
    fields: list[str]
    ids: list[str]
    batch: int


class SoqlError(Exception):
    """A query Salesforce would refuse: ``code`` (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE) and the
    message in Salesforce's frame (the query, a caret under the fault, the row and column)."""

    def __init__(self, soql: str, column: int, code: str, text: str) -> None:
        super().__init__(f"\n{soql}\n{' ' * (column - 1)}^\nERROR at Row:1:Column:{column}\n{text}")
        self.code = code


@dataclass
class Condition:
    field: str
    column: int
    op: str  # = != < <= > >= IN
    values: list[Any]  # one, or IN's list; a datetime literal is an aware datetime, a date a str
    quoted: bool  # a value was a quoted string


@dataclass
class Soql:
    fields: list[tuple[str, int]]  # (name, column)
    sobject: tuple[str, int]
    where: list[Condition]
    order: list[tuple[str, int]]
    limit: int | None


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^'\\]|\\.)*')
     |(?P<datetime>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))
     |(?P<date>\d{4}-\d\d-\d\d)
     |(?P<number>-?\d+(?:\.\d+)?)
     |(?P<name>[A-Za-z_][A-Za-z0-9_.]*)
     |(?P<op>!=|<=|>=|=|<|>)
     |(?P<punct>[,()])
    )""",
    re.VERBOSE,
)


def parse_soql(soql: str) -> Soql:
    """The one form of SOQL the fake reads (keywords in any case; SOQL's other clauses are refused as
    MALFORMED_QUERY):

    ``SELECT f1, f2, ... FROM Object [WHERE cond [AND cond ...]] [ORDER BY f [ASC] [, f [ASC] ...]]
    [LIMIT n]``, where ``cond`` is ``field op literal`` (op: ``= != < <= > >=``) or ``field IN (literal,
    ...)``, and a literal is ``'text'`` (``\\'`` escapes a quote), ``true``, ``false``, ``null``, a number, a
    date (``2024-03-31``) or an unquoted datetime (``2024-01-01T00:00:00Z``, or ``+hh:mm``/``-hh:mm``).
    Relationship paths (``Owner.Email``) are not followed: they are unknown fields here."""
    tokens: list[tuple[str, str, int]] = []  # (kind, text, column)
    at = 0
    while soql[at:].strip():
        found = _TOKEN.match(soql, at)
        if found is None or found.lastgroup is None:
            column = at + len(soql[at:]) - len(soql[at:].lstrip()) + 1
            raise SoqlError(soql, column, "MALFORMED_QUERY", f"unexpected token: '{soql[column - 1]}'")
        kind = found.lastgroup
        tokens.append((kind, found.group(kind), found.start(kind) + 1))
        at = found.end()
    return _Parser(soql, tokens).query()


class _Parser:
    def __init__(self, soql: str, tokens: list[tuple[str, str, int]]) -> None:
        self.soql, self.tokens, self.at = soql, tokens, 0

    def query(self) -> Soql:
        self.keyword("SELECT")
        fields = [self.name()]
        while self.punct(","):
            fields.append(self.name())
        self.keyword("FROM")
        sobject = self.name()
        where: list[Condition] = []
        if self.keyword("WHERE", optional=True):
            where.append(self.condition())
            while self.keyword("AND", optional=True):
                where.append(self.condition())
        order: list[tuple[str, int]] = []
        if self.keyword("ORDER", optional=True):
            self.keyword("BY")
            order.append(self.name())
            self.keyword("ASC", optional=True)
            while self.punct(","):
                order.append(self.name())
                self.keyword("ASC", optional=True)
        limit = None
        if self.keyword("LIMIT", optional=True):
            kind, text, column = self.next()
            if kind != "number" or not text.isdigit():
                self.fail(column, text)
            limit = int(text)
        if self.at < len(self.tokens):
            self.fail(self.tokens[self.at][2], self.tokens[self.at][1])
        return Soql(fields, sobject, where, order, limit)

    def condition(self) -> Condition:
        name, column = self.name()
        if self.keyword("IN", optional=True):
            if not self.punct("("):
                self.fail(*self.peek())
            values = [self.literal()]
            while self.punct(","):
                values.append(self.literal())
            if not self.punct(")"):
                self.fail(*self.peek())
            op = "IN"
        else:
            kind, op, at = self.next()
            if kind != "op":
                self.fail(at, op)
            values = [self.literal()]
        return Condition(name, column, op, [v for v, _ in values], any(q for _, q in values))

    def literal(self) -> tuple[Any, bool]:
        kind, text, column = self.next()
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", text[1:-1]), True
        if kind == "datetime":
            return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC), False
        if kind in ("date", "number"):
            return (text if kind == "date" else float(text)), False
        words: dict[str, Any] = {"true": True, "false": False, "null": None}
        if kind == "name" and text.lower() in words:
            return words[text.lower()], False
        self.fail(column, text)

    def name(self) -> tuple[str, int]:
        kind, text, column = self.next()
        if kind != "name":
            self.fail(column, text)
        return text, column

    def keyword(self, word: str, *, optional: bool = False) -> bool:
        kind, text, column = self.peek3()
        if kind == "name" and text.upper() == word:
            self.at += 1
            return True
        if not optional:
            self.fail(column, text)
        return False

    def punct(self, char: str) -> bool:
        kind, text, _ = self.peek3()
        if kind == "punct" and text == char:
            self.at += 1
            return True
        return False

    def next(self) -> tuple[str, str, int]:
        token = self.peek3()
        self.at += 1
        return token

    def peek3(self) -> tuple[str, str, int]:
        if self.at < len(self.tokens):
            return self.tokens[self.at]
        return "end", "<EOF>", len(self.soql) + 1

    def peek(self) -> tuple[int, str]:
        _, text, column = self.peek3()
        return column, text

    def fail(self, column: int, text: str) -> NoReturn:
        raise SoqlError(self.soql, column, "MALFORMED_QUERY", f"unexpected token: '{text}'")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class FakeSalesforce:
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    clock: Callable[[], datetime] = field(default_factory=ManualClock)
    usage: int = 0  # the org's API requests of the day so far
    limit: int = 100_000  # its daily allowance
    request_limit_exceeded: bool = False
    api_disabled: bool = False  # every session refused: the Run As user lacks the API Enabled permission
    requests: list[Call] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)  # the valid access tokens
    revoked: set[str] = field(default_factory=set)
    _tables: dict[str, _Table] = field(default_factory=dict)
    _cursors: dict[str, _Cursor] = field(default_factory=dict)
    _failures: list[tuple[str | None, int]] = field(default_factory=list)
    _serial: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _server: TestServer | None = None

    def __post_init__(self) -> None:
        self._tables = {name: _Table(name, spec) for name, spec in _FIELD_SPECS.items()}

    # ------------------------------------------------------------------------------------- data

    def add(self, sobject: str, fields: Mapping[str, Any] | None = None, id: str | None = None) -> str:
        """A new record (``fields`` by API name; an Opportunity's IsClosed and IsWon follow a closed
        stage unless given); returns its 18-character id, which starts with the object's key prefix."""
        table = self._tables[sobject]
        record_id = id or with_suffix(f"{table.prefix}5g{next(self._serial):010d}")
        assert len(record_id) == 18 and record_id.startswith(table.prefix), record_id
        assert record_id not in table.records, record_id
        record: dict[str, Any] = {"Id": record_id}
        record.update({flag: False for flag in ("IsDeleted", "IsClosed", "IsWon") if flag in table.fields})
        table.records[record_id] = record
        self._change(table, record, fields or {}, index=False)
        return record_id

    def modify(self, sobject: str, record_id: str, fields: Mapping[str, Any]) -> None:
        table = self._tables[sobject]
        self._change(table, table.records[record_id], fields)

    def delete(self, sobject: str, record_id: str) -> None:
        """Delete a record: it leaves ``query`` and stays in ``queryAll`` with IsDeleted true."""
        self.modify(sobject, record_id, {"IsDeleted": True})

    def merge(self, survivor: str, merged: str) -> None:
        """Merge ``merged`` into ``survivor`` (Accounts): the merged record is deleted with ``MasterRecordId``
        set to the survivor; both are stamped."""
        table = self._table_of(survivor)
        assert table is self._table_of(merged) and "MasterRecordId" in table.fields, (survivor, merged)
        self.modify(table.name, merged, {"IsDeleted": True, "MasterRecordId": survivor})
        self.modify(table.name, survivor, {})

    def define(self, sobject: str, name: str, type: str = "string") -> None:
        """Add a custom field (``Touchpoint_Health_Score__c``; ``type`` as describe names it)."""
        assert name.endswith("__c") and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name), name
        label = name.removesuffix("__c").replace("_", " ")
        length = 255 if type in ("string", "textarea", "picklist", "url", "email") else 0
        self._tables[sobject].fields[name] = describe_field(name, type, label, length=length, custom=True)

    def record(self, sobject: str, record_id: str) -> dict[str, Any]:
        return self._tables[sobject].records[record_id]

    def of(self, method: str, path_part: str = "") -> list[Call]:
        """The requests of ``method`` whose path holds ``path_part``, in order."""
        return [r for r in self.requests if r.method == method and path_part in r.path]

    def _table_of(self, record_id: str) -> _Table:
        return next(t for t in self._tables.values() if record_id.startswith(t.prefix))

    def _change(
        self, table: _Table, record: dict[str, Any], fields: Mapping[str, Any], *, index: bool = True
    ) -> None:
        if index:
            _unplace(table.by_stamp, (record["SystemModstamp"], record["Id"]))
        for name, value in fields.items():
            known = table.canonical(name)
            assert known is not None, f"{table.name} has no field {name!r}"
            record[known] = value
        if table.name == "Opportunity" and "StageName" in fields:  # the stage decides, unless given
            closed, won = _CLOSED_STAGES.get(str(fields["StageName"]), (False, False))
            record.update({k: v for k, v in (("IsClosed", closed), ("IsWon", won)) if k not in fields})
        now = self.clock().astimezone(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # Salesforce keeps milliseconds
        record["SystemModstamp"] = record["LastModifiedDate"] = now
        insort(table.by_stamp, (now, record["Id"]))

    # --------------------------------------------------------------------------------- failures

    def revoke(self) -> None:
        """Revoke every access token issued so far: each is refused with 401 ``INVALID_SESSION_ID``."""
        self.revoked |= self.tokens
        self.tokens.clear()

    def fail_next(self, status: int = 503, times: int = 1, *, path_part: str | None = None) -> None:
        """Answer the next ``times`` requests (whose path holds ``path_part``) with ``status``."""
        self._failures += [(path_part, status)] * times

    # ----------------------------------------------------------------------------------- server

    @property
    def url(self) -> str:
        """The org's My Domain URL, and its instance URL."""
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    async def start(self) -> None:
        app = web.Application(middlewares=[self._gate])
        data = "/services/data/{version}"
        app.router.add_post("/services/oauth2/token", self._token)
        app.router.add_get(data + "/query", self._query)
        app.router.add_get(data + "/queryAll", self._query)
        app.router.add_get(data + "/query/{locator}", self._more)
        app.router.add_get(data + "/sobjects/{sobject}/describe", self._describe)
        app.router.add_get(data + "/sobjects/{sobject}/describe/", self._describe)
        app.router.add_patch(data + "/composite/sobjects", self._update)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    @web.middleware
    async def _gate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        raw = await request.text()
        form: dict[str, str] = {}
        body: Any = None
        if request.content_type == "application/x-www-form-urlencoded":
            form = dict(parse_qsl(raw, keep_blank_values=True))
        elif raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        entry = Call(request.method, request.path, dict(request.query), body, form, dict(request.headers))
        self.requests.append(entry)
        request[BODY] = body
        response: web.StreamResponse | None = self._refusal(request)
        if response is None:
            try:
                response = await handler(request)
            except web.HTTPNotFound:  # assumed body of an unknown resource
                response = _error(404, "NOT_FOUND", "The requested resource does not exist")
        assert response is not None
        if request.path.startswith("/services/data/"):
            response.headers["Sforce-Limit-Info"] = f"api-usage={self.usage}/{self.limit}"
        entry.status = response.status
        return response

    def _refusal(self, request: web.Request) -> web.Response | None:
        for at, (path_part, status) in enumerate(self._failures):
            if path_part is None or path_part in request.path:
                del self._failures[at]
                # Assumed codes and message: Salesforce documents 500 and 503 without a body.
                code = "SERVER_UNAVAILABLE" if status == 503 else "UNKNOWN_EXCEPTION"
                return _error(status, code, "An unexpected error occurred. Please try again later.")
        if not request.path.startswith("/services/data/"):
            return None
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            return _error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if self.api_disabled:
            return _error(401, "INVALID_SESSION_ID", "This session is not valid for use with the REST API")
        self.usage += 1
        if self.request_limit_exceeded:
            return _error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        if not re.fullmatch(r"v\d+\.\d", request.match_info.get("version", "")):
            return _error(404, "NOT_FOUND", "The requested resource does not exist")  # assumed body
        return None

    # --------------------------------------------------------------------------------- handlers

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(parse_qsl(await request.text()))
        if form.get("grant_type") != "client_credentials":  # assumed description
            return web.json_response(
                {"error": "unsupported_grant_type", "error_description": "grant type not supported"},
                status=400,
            )
        if (form.get("client_id"), form.get("client_secret")) != (self.client_id, self.client_secret):
            # The pair seen for a wrong id or secret in this flow; the status is assumed (undocumented).
            return web.json_response(
                {"error": "invalid_client", "error_description": "invalid client credentials"}, status=400
            )
        serial = next(self._serial)
        token = f"{ORG_ID}!AQ4AQFakeSession.{serial:08d}"
        self.tokens.add(token)
        return web.json_response(
            {
                "access_token": token,
                "signature": "nUFHwtfIGLKDTHcLWmDBG8frv0t+HQGl/iCZFIQUarE=",
                "scope": "api",
                "instance_url": self.url,
                "id": f"{self.url}/id/{ORG_ID}/{with_suffix('0055g0000000RUN')}",
                "token_type": "Bearer",
                "issued_at": str(1_704_067_200_000 + serial),
            }
        )

    async def _query(self, request: web.Request) -> web.Response:
        soql = request.query.get("q", "")
        try:
            table, fields, ids = self._run(soql, all_rows=request.path.endswith("/queryAll"))
        except SoqlError as error:
            return _error(400, error.code, str(error))
        options = dict(parse_qsl(request.headers.get("Sforce-Query-Options", "").replace(" ", "")))
        batch = min(max(int(options.get("batchSize", "2000") or 2000), 200), 2000)
        locator = f"01gFAKE{next(self._serial):011d}"
        self._cursors[locator] = _Cursor(table, fields, ids, batch)
        return self._page(request, locator, 0)

    async def _more(self, request: web.Request) -> web.Response:
        locator, _, offset = request.match_info["locator"].rpartition("-")
        if locator not in self._cursors or not offset.isdigit():  # assumed message
            return _error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(request, locator, int(offset))

    def _page(self, request: web.Request, locator: str, offset: int) -> web.Response:
        cursor, version = self._cursors[locator], request.match_info["version"]
        chunk = cursor.ids[offset : offset + cursor.batch]
        end = offset + len(chunk)
        body: dict[str, Any] = {"totalSize": len(cursor.ids), "done": end >= len(cursor.ids)}
        if not body["done"]:
            body["nextRecordsUrl"] = f"/services/data/{version}/query/{locator}-{end}"
        body["records"] = [self._render(cursor.table, version, rid, cursor.fields) for rid in chunk]
        return web.json_response(body)

    def _render(self, table: _Table, version: str, record_id: str, fields: list[str]) -> dict[str, Any]:
        record = table.records[record_id]
        url = f"/services/data/{version}/sobjects/{table.name}/{record_id}"
        out: dict[str, Any] = {"attributes": {"type": table.name, "url": url}}
        for name in fields:
            value = record.get(name)
            out[name] = sf_time(value) if isinstance(value, datetime) else value
        return out

    def _run(self, soql: str, *, all_rows: bool) -> tuple[_Table, list[str], list[str]]:
        """The object, the field names and the ids a query selects, in its order."""
        query = parse_soql(soql)
        table = next((t for t in self._tables.values() if t.name.lower() == query.sobject[0].lower()), None)
        if table is None:
            raise SoqlError(
                soql,
                query.sobject[1],
                "INVALID_TYPE",
                f"sObject type '{query.sobject[0]}' is not supported. If you are attempting to use a custom "
                "object, be sure to append the '__c' after the entity name. Please reference your WSDL or "
                "the describe call for the appropriate names.",
            )  # assumed message

        def known(name: str, column: int) -> str:
            found = table.canonical(name)
            if found is None:
                raise SoqlError(
                    soql,
                    column,
                    "INVALID_FIELD",
                    f"No such column '{name}' on entity '{table.name}'. If you are attempting to use a "
                    "custom field, be sure to append the '__c' after the custom field name. Please "
                    "reference your WSDL or the describe call for the appropriate names.",
                )
            return found

        fields = list(dict.fromkeys(known(name, column) for name, column in query.fields))
        order = [known(name, column) for name, column in query.order]
        tests: list[tuple[str, str, list[Any]]] = []
        start = 0
        for condition in query.where:
            name = known(condition.field, condition.column)
            if table.fields[name]["type"] == "datetime" and condition.quoted:  # assumed wording
                raise SoqlError(
                    soql,
                    condition.column,
                    "INVALID_FIELD",
                    f"value of filter criterion for field '{name}' must be of type dateTime and should not "
                    "be enclosed in quotes",
                )
            value = condition.values[0]
            if name == "SystemModstamp" and condition.op in (">=", ">") and isinstance(value, datetime):
                edge = value if condition.op == ">=" else value + timedelta(microseconds=1)
                start = max(start, bisect_left(table.by_stamp, (edge, "")))
            tests.append((name, condition.op, condition.values))
        ids = [
            rid
            for _, rid in table.by_stamp[start:]
            if (all_rows or not table.records[rid].get("IsDeleted"))
            and all(_holds(table.records[rid].get(name), op, values) for name, op, values in tests)
        ]
        if order and order[:2] not in (["SystemModstamp", "Id"], ["SystemModstamp"]):
            ids.sort(key=lambda rid: [_sort_key(table.records[rid].get(name)) for name in order])
        return table, fields, ids[: query.limit] if query.limit is not None else ids

    async def _describe(self, request: web.Request) -> web.Response:
        asked = request.match_info["sobject"].lower()
        table = next((t for t in self._tables.values() if t.name.lower() == asked), None)
        if table is None:  # assumed body
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        version = request.match_info["version"]
        return web.json_response(
            {
                "name": table.name,
                "label": table.name,
                "keyPrefix": table.prefix,
                "custom": False,
                "updateable": True,
                "createable": True,
                "customSetting": False,
                "urls": {"sobject": f"/services/data/{version}/sobjects/{table.name}"},
                "fields": list(table.fields.values()),
                "childRelationships": [],
            }
        )

    async def _update(self, request: web.Request) -> web.Response:
        sent = request[BODY]
        body: dict[str, Any] = sent if isinstance(sent, dict) else {}
        records = body.get("records")
        if not isinstance(records, list) or not records:  # assumed
            return _error(400, "JSON_PARSER_ERROR", "records: a list of records is required")
        if len(records) > 200:  # assumed code and message
            message = "record limit reached. cannot submit more than 200 records into this call"
            return _error(400, "EXCEEDED_ID_LIMIT", message)
        checked: list[tuple[_Table, str, dict[str, Any], list[dict[str, Any]]]] = []
        for item in records:
            kind = str((item.get("attributes") or {}).get("type") or "")
            table = self._tables.get(kind)
            if table is None:  # assumed
                return _error(400, "INVALID_TYPE", f"sObject type '{kind}' is not supported.")
            values: dict[str, Any] = {}
            for name, value in item.items():
                if name in ("attributes", "id"):
                    continue
                known = table.canonical(name)
                if known is None:  # assumed: the whole request is refused
                    return _error(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {kind}")
                values[known] = value
            record_id = str(item.get("id") or "")
            checked.append((table, record_id, values, self._save_errors(table, record_id, values)))
        rolled_back = body.get("allOrNone") is True and any(errors for *_, errors in checked)
        results: list[dict[str, Any]] = []
        for table, record_id, values, errors in checked:
            if errors:
                results.append({"success": False, "errors": errors})
            elif rolled_back:
                rollback = {
                    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "message": "Record rolled back because not all records were valid and the request was "
                    "using AllOrNone header",
                    "fields": [],
                }
                results.append({"id": record_id, "success": False, "errors": [rollback]})
            else:
                self._change(table, table.records[record_id], values)
                results.append({"id": record_id, "success": True, "errors": []})
        return web.json_response(results)

    def _save_errors(self, table: _Table, record_id: str, values: dict[str, Any]) -> list[dict[str, Any]]:
        if not re.fullmatch(r"[A-Za-z0-9]{18}", record_id) or not record_id.startswith(table.prefix):
            message = f"{table.name} ID: id value of incorrect type: {record_id}"
            return [{"statusCode": "MALFORMED_ID", "message": message, "fields": ["Id"]}]
        record = table.records.get(record_id)
        if record is None:  # assumed message
            return [{"statusCode": "INVALID_CROSS_REFERENCE_KEY", "message": "invalid cross reference id"}]
        if record.get("IsDeleted"):  # assumed message
            return [{"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}]
        fixed = [name for name in values if not table.fields[name]["updateable"]]
        if fixed:  # assumed message
            message = (
                f"Unable to create/update fields: {', '.join(fixed)}. Please check the security settings of "
                "this field and verify that it is read/write for your profile or permission set."
            )
            return [{"statusCode": "INVALID_FIELD_FOR_INSERT_UPDATE", "message": message, "fields": fixed}]
        return []


def _error(status: int, code: str, message: str) -> web.Response:
    """A REST refusal: a JSON array of one error."""
    return web.json_response([{"message": message, "errorCode": code}], status=status)


def _unplace(items: list[tuple[datetime, str]], key: tuple[datetime, str]) -> None:
    at = bisect_left(items, key)
    assert at < len(items) and items[at] == key, key
    del items[at]


def _holds(value: Any, op: str, literals: list[Any]) -> bool:
    """Whether a record's value meets a condition; text compares without regard to case, as in SOQL."""
    if isinstance(value, str) and literals and isinstance(literals[0], datetime):
        value = datetime.fromisoformat(value)
    value = value.casefold() if isinstance(value, str) else value
    wanted = [v.casefold() if isinstance(v, str) else v for v in literals]
    if op == "IN":
        return bool(value in wanted)
    literal = wanted[0]
    if op in ("=", "!="):
        return bool(value == literal) == (op == "=")
    if value is None or literal is None:
        return False
    try:
        return bool(_COMPARE[op](value, literal))
    except TypeError:
        return False


def _sort_key(value: Any) -> tuple[bool, Any]:
    """Ascending with nulls first, SOQL's default."""
    return value is not None, value
