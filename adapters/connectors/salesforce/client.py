"""An async client for the parts of Salesforce's REST API the connector uses.

It signs in with the OAuth 2.0 client credentials flow of a connected app (as the app's Run As user) at
the org's My Domain URL, and keeps the access token and the ``instance_url`` the token answer names: every
REST call goes to ``{instance_url}/services/data/{api_version}/...``. No refresh token is issued in this
flow, so a 401 (``INVALID_SESSION_ID``: the session expired or was revoked) gets a new token once and the
call is sent again.

Reads: SOQL queries (``query``, or ``queryAll`` with deleted and merged records too) a page at a time,
and an object's fields (describe). Writes: sObject Collections updates, 200 records a request.

Every REST answer says how much of the org's daily API allowance is used (``Sforce-Limit-Info``): past
90% the client pauses before each call, and from 98% it stops with :class:`ConnectorLimitError` rather
than use up what the org's other integrations need. How answers are read and refusals mapped is in
:mod:`adapters.connectors.salesforce.answers`.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
import structlog

from adapters.connectors.errors import ConnectorError, ConnectorLimitError, ConnectorSchemaError
from adapters.connectors.http import (
    DEFAULT_MAX_TRIES,
    FIRST_BACKOFF_SECONDS,
    HttpAnswer,
    JsonHttp,
    OwnedSession,
    Sleep,
)
from adapters.connectors.salesforce.answers import (
    SYSTEM,
    BatchResult,
    FieldInfo,
    daily_limit_message,
    first_error,
    parse_time,
    read_field,
    read_usage,
    refusal,
    save_outcome,
    session_refused,
    soql_time,
    strip_attributes,
    token_refusal,
)

__all__ = [
    "BATCH_MAX",
    "SLOW_DOWN_PERCENT",
    "SLOW_DOWN_SECONDS",
    "STOP_PERCENT",
    "SYSTEM",
    "BatchResult",
    "FieldInfo",
    "SalesforceClient",
    "parse_time",
    "soql_time",
]

BATCH_MAX = 200  # records in one sObject Collections request
QUERY_BATCH_MIN, QUERY_BATCH_MAX = 200, 2000  # Sforce-Query-Options batchSize (Salesforce's bounds)
SLOW_DOWN_PERCENT = 90  # of the daily API requests: past it, pause before each call
STOP_PERCENT = 98  # from it, stop
SLOW_DOWN_SECONDS = 1.0
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

log = structlog.get_logger(__name__)


class SalesforceClient(OwnedSession):
    """Salesforce's REST API for the org at ``login_url`` (its My Domain URL), signed in as the connected
    app ``client_id``/``client_secret``.

    Use it as an async context manager; a session it made itself is closed on the way out, one passed in is
    left open. ``batch_size`` is the query page size asked for (200 to 2,000; Salesforce may send fewer).
    ``usage`` is (used, limit) of the org's daily API requests as the last answer said (None before)."""

    def __init__(
        self,
        login_url: str,
        client_id: str,
        client_secret: str,
        *,
        api_version: str = "v62.0",
        session: aiohttp.ClientSession | None = None,
        sleep: Sleep = asyncio.sleep,
        batch_size: int = QUERY_BATCH_MAX,
        timeout: float = 30.0,
    ) -> None:
        if not QUERY_BATCH_MIN <= batch_size <= QUERY_BATCH_MAX:
            raise ValueError(f"batch_size must be between {QUERY_BATCH_MIN} and {QUERY_BATCH_MAX}")
        if not re.fullmatch(r"v\d+\.\d+", api_version):
            raise ValueError(f"api_version must look like v62.0, not {api_version!r}")
        self._login_url = login_url.rstrip("/")
        self._client_id = client_id
        self._secret = client_secret
        self.api_version = api_version
        super().__init__(session)
        self._sleep = sleep
        self._timeout = timeout
        self.batch_size = batch_size
        self.usage: tuple[int, int] | None = None
        self._token: str | None = None
        self._instance_url: str | None = None
        self._https: dict[bool, JsonHttp] = {}  # by "is a query": queries carry the batch size header
        self._token_lock = asyncio.Lock()

    def _forget(self) -> None:
        self._https.clear()

    @property
    def data_path(self) -> str:
        """Where the REST resources of the pinned version start (``/services/data/v62.0``)."""
        return f"/services/data/{self.api_version}"

    # --------------------------------------------------------------------------------------- reads

    async def query(self, soql: str, *, all_rows: bool = False) -> AsyncIterator[list[dict[str, Any]]]:
        """The records ``soql`` selects, a page at a time (never an empty page), each without its
        ``attributes``; with ``all_rows`` (queryAll) deleted and merged records too (``IsDeleted`` true; a
        merged one has its survivor's id in ``MasterRecordId``). Every page after the first is the
        ``nextRecordsUrl`` of the one before."""
        path: str = f"{self.data_path}/{'queryAll' if all_rows else 'query'}"
        params: dict[str, str] | None = {"q": soql}
        doing = f"the query {_what(soql)}"
        while True:
            answer = await self._rest("GET", path, params=params, query=True)
            body = self._checked(answer, doing)
            records = body.get("records")
            if not isinstance(records, list):
                raise refusal(answer, doing, self._secrets())  # an ok answer without records: unexpected
            if records:
                yield [strip_attributes(record) for record in records]
            next_url = body.get("nextRecordsUrl")
            if body.get("done", True) is True or not next_url:
                return
            if not str(next_url).startswith("/services/data/"):  # the token goes only to the org's API
                raise ConnectorError(
                    f"Salesforce answered {doing} with an unexpected next page ({str(next_url)[:80]!r})",
                    system=SYSTEM,
                )
            path, params = str(next_url), None

    async def describe(self, sobject: str) -> list[FieldInfo]:
        """The fields of ``sobject`` (``Account``, ``Touchpoint_Thing__c``)."""
        _check_name(sobject)
        answer = await self._rest("GET", f"{self.data_path}/sobjects/{sobject}/describe")
        if answer.status == 404:  # assumed: Salesforce answers NOT_FOUND for an object it does not have
            code, text = first_error(answer)
            raise ConnectorSchemaError(
                f"Salesforce has no object {sobject!r} ({code or 'NOT_FOUND'}: {text or 'not found'}): fix "
                "the object's name, or give the connected app's Run As user access to it",
                system=SYSTEM,
                status=404,
            )
        body = self._checked(answer, f"the description of {sobject}")
        return [read_field(raw) for raw in body.get("fields") or [] if isinstance(raw, dict)]

    # -------------------------------------------------------------------------------------- writes

    async def update_records(
        self, sobject: str, updates: Sequence[tuple[str, dict[str, Any]]]
    ) -> BatchResult:
        """Set fields on records of ``sobject`` (None clears one), 200 to a request, each record on its own
        (``allOrNone`` false): a record Salesforce refuses (deleted, unknown id, a value it does not
        accept) is reported in ``failed`` with Salesforce's reason and never stops the others. An id given
        twice is sent once with its fields merged. A field Salesforce does not know refuses the whole
        request: that raises :class:`ConnectorSchemaError` (every update naming it would fail)."""
        _check_name(sobject)
        merged: dict[str, dict[str, Any]] = {}
        for record_id, fields in updates:
            merged.setdefault(record_id, {}).update(fields)
        items = list(merged.items())
        updated: list[str] = []
        failed: list[tuple[str, str]] = []
        path = f"{self.data_path}/composite/sobjects"
        for start in range(0, len(items), BATCH_MAX):
            chunk = items[start : start + BATCH_MAX]
            records = [{"attributes": {"type": sobject}, "id": rid, **fields} for rid, fields in chunk]
            answer = await self._rest("PATCH", path, json_body={"allOrNone": False, "records": records})
            if not (answer.ok and isinstance(answer.body, list)):
                raise refusal(answer, f"the update of {len(chunk)} {sobject} records", self._secrets())
            done, refused = save_outcome(answer.body, [rid for rid, _ in chunk])
            updated.extend(done)
            failed.extend(refused)
        return BatchResult(updated=tuple(updated), failed=tuple(failed))

    # ---------------------------------------------------------------------------------- transport

    async def _rest(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        query: bool = False,
    ) -> HttpAnswer:
        """One REST call, after a pause (or a stop) the daily usage calls for; a 401 gets a new token and
        the call once more."""
        renewed = False
        while True:
            token = await self._access_token()
            await self._mind_the_limit()
            answer = await self._http(query).request(method, path, params=params, json_body=json_body)
            self.usage = read_usage(answer) or self.usage
            if answer.status != 401:
                return answer
            if renewed:
                raise session_refused(answer, self._secrets())
            log.info("connector_session_renewed", system=SYSTEM, code=first_error(answer)[0])
            renewed = True
            await self._access_token(stale=token)

    async def _mind_the_limit(self) -> None:
        if self.usage is None or self.usage[1] <= 0:
            return
        used, limit = self.usage
        if used * 100 >= STOP_PERCENT * limit:
            raise ConnectorLimitError(daily_limit_message(used, limit), system=SYSTEM)
        if used * 100 > SLOW_DOWN_PERCENT * limit:
            await self._sleep(SLOW_DOWN_SECONDS)

    def _open(self) -> None:
        self._http_session()

    def _http(self, query: bool) -> JsonHttp:
        http = self._https.get(query)
        if http is None:
            assert self._token is not None and self._instance_url is not None
            headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
            if query:
                headers["Sforce-Query-Options"] = f"batchSize={self.batch_size}"
            http = JsonHttp(
                self._http_session(),
                self._instance_url,
                system=SYSTEM,
                headers=headers,
                sleep=self._sleep,
                timeout=self._timeout,
            )
            self._https[query] = http
        return http

    async def _access_token(self, *, stale: str | None = None) -> str:
        """The access token, fetched when there is none yet or it is still ``stale`` (refused)."""
        async with self._token_lock:
            if self._token is None or self._token == stale:
                self._token, self._instance_url = await self._fetch_token()
                self._https.clear()
            return self._token

    async def _fetch_token(self) -> tuple[str, str]:
        """A new access token and the instance URL, from the client credentials flow. Connection errors and
        5xx answers are tried again (1 s, 2 s, 4 s), as :class:`JsonHttp` does for REST calls."""
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._secret,
        }
        url = f"{self._login_url}/services/oauth2/token"
        failures, status, text = 0, 0, ""
        while True:
            problem: str
            try:
                async with self._http_session().post(
                    url,
                    data=form,
                    headers={"Accept": "application/json"},
                    timeout=aiohttp.ClientTimeout(total=self._timeout),
                ) as response:
                    status, text = response.status, await response.text()
                if status < 500:
                    break
                problem = str(status)
            except (aiohttp.ClientError, TimeoutError) as error:
                problem = type(error).__name__
                if failures + 1 >= DEFAULT_MAX_TRIES:
                    raise ConnectorError(
                        f"Salesforce could not be reached at SALESFORCE_LOGIN_URL ({problem}) after "
                        f"{failures + 1} tries: check the URL (your org's My Domain URL) and the network "
                        "connection",
                        system=SYSTEM,
                    ) from error
            failures += 1
            if failures >= DEFAULT_MAX_TRIES:
                break
            wait = FIRST_BACKOFF_SECONDS * 2 ** (failures - 1)
            log.warning(
                "connector_retry",
                system=SYSTEM,
                path="/services/oauth2/token",
                problem=problem,
                attempt=failures,
                wait_seconds=wait,
            )
            await self._sleep(wait)
        body = _json(text)
        if status == 200 and isinstance(body, dict):
            token, instance = body.get("access_token"), body.get("instance_url")
            if isinstance(token, str) and token and isinstance(instance, str) and instance.startswith("http"):
                return token, instance.rstrip("/")
        if status == 200:
            raise ConnectorError(
                "Salesforce's token answer named no access token or instance URL; try again later",
                system=SYSTEM,
                status=status,
            )
        raise token_refusal(status, body, text, self._secrets())

    def _checked(self, answer: HttpAnswer, doing: str) -> dict[str, Any]:
        if answer.ok and isinstance(answer.body, dict):
            body: dict[str, Any] = answer.body
            return body
        raise refusal(answer, doing, self._secrets())

    def _secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self._token, self._secret) if s)


def _check_name(sobject: str) -> None:
    if not _NAME.fullmatch(sobject):
        raise ValueError(f"{sobject!r} is not a Salesforce object name")


def _what(soql: str) -> str:
    """A query named by its object (``of Account``): queries may hold customer values, never logged whole."""
    found = re.search(r"\bFROM\s+([A-Za-z][A-Za-z0-9_]*)", soql, re.IGNORECASE)
    return f"of {found.group(1)}" if found else "sent"


def _json(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None
