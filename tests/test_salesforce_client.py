"""The Salesforce client against the fake Salesforce org over real loopback HTTP: the client credentials
token and its renewal, query paging, queryAll, refusals, the daily API usage and collection updates.
Waits are recorded, never slept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy
from structlog.testing import capture_logs

from adapters.connectors.errors import (
    ConnectorAuthError,
    ConnectorError,
    ConnectorLimitError,
    ConnectorSchemaError,
)
from adapters.connectors.http import HttpAnswer
from adapters.connectors.salesforce.answers import read_usage, token_refusal
from adapters.connectors.salesforce.client import SalesforceClient, parse_time, soql_time
from tests.fakes.hubspot import START, ManualClock
from tests.fakes.salesforce import CLIENT_ID, CLIENT_SECRET, FakeSalesforce

ACCOUNT_FIELDS = "Id, Name, IsDeleted, MasterRecordId, SystemModstamp"


class Sleeps(list[float]):
    """Stands in for asyncio.sleep: remembers each wait and returns at once."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
async def salesforce() -> AsyncIterator[FakeSalesforce]:
    fake = FakeSalesforce()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def client(salesforce: FakeSalesforce, sleeps: Sleeps) -> AsyncIterator[SalesforceClient]:
    async with SalesforceClient(salesforce.url, CLIENT_ID, CLIENT_SECRET, sleep=sleeps) as sf:
        yield sf


async def everything(client: SalesforceClient, soql: str, *, all_rows: bool = False) -> list[dict[str, Any]]:
    return [record async for page in client.query(soql, all_rows=all_rows) for record in page]


def statuses(fake: FakeSalesforce) -> list[tuple[str, int]]:
    return [(call.path.rsplit("/", 1)[-1], call.status) for call in fake.requests]


# ------------------------------------------------------------------------------------------ token


async def test_the_token_is_fetched_once_and_sent_with_every_call(
    salesforce: FakeSalesforce, client: SalesforceClient
) -> None:
    salesforce.add("Account", {"Name": "Acme"})
    await everything(client, "SELECT Id FROM Account")
    await client.describe("Account")
    await everything(client, "SELECT Id FROM User")
    [token_call] = salesforce.of("POST", "/services/oauth2/token")
    assert token_call.form == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    assert token_call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    [token] = salesforce.tokens
    rest = salesforce.of("GET", "/services/data/")
    assert len(rest) == 3 and all(c.headers["Authorization"] == f"Bearer {token}" for c in rest)
    assert all(c.path.startswith("/services/data/v62.0/") for c in rest)


async def test_a_revoked_token_is_renewed_once_and_the_call_goes_through(
    salesforce: FakeSalesforce, client: SalesforceClient
) -> None:
    salesforce.add("Account", {"Name": "Acme"})
    await everything(client, "SELECT Id FROM Account")
    salesforce.revoke()
    assert [r["Id"] for r in await everything(client, "SELECT Id FROM Account")]
    assert statuses(salesforce) == [
        ("token", 200),
        ("query", 200),
        ("query", 401),
        ("token", 200),
        ("query", 200),
    ]
    [old] = salesforce.revoked
    assert salesforce.requests[-1].headers["Authorization"] != f"Bearer {old}"


async def test_a_session_refused_after_renewal_is_an_auth_error(
    salesforce: FakeSalesforce, client: SalesforceClient
) -> None:
    salesforce.api_disabled = True
    with pytest.raises(ConnectorAuthError, match="not valid for use with the REST API") as caught:
        await client.describe("Account")
    message = str(caught.value)
    assert "API Enabled" in message and caught.value.status == 401
    assert all(token not in message for token in salesforce.tokens) and CLIENT_SECRET not in message
    assert [status for _, status in statuses(salesforce)] == [200, 401, 200, 401]


async def test_wrong_credentials_name_the_settings_never_the_secret(
    salesforce: FakeSalesforce, sleeps: Sleeps
) -> None:
    async with SalesforceClient(salesforce.url, CLIENT_ID, "not-the-secret", sleep=sleeps) as client:
        with pytest.raises(ConnectorAuthError) as caught:
            await client.describe("Account")
    message = str(caught.value)
    assert "invalid_client" in message and "invalid client credentials" in message
    assert "SALESFORCE_CLIENT_ID" in message and "SALESFORCE_CLIENT_SECRET" in message
    assert "not-the-secret" not in message and caught.value.status == 400
    assert statuses(salesforce) == [("token", 400)] and sleeps == []


def test_a_login_url_that_is_not_my_domain_is_named() -> None:
    body = {"error": "invalid_grant", "error_description": "request not supported on this domain"}
    error = token_refusal(400, body, "", ("s3cret",))
    assert isinstance(error, ConnectorAuthError) and "SALESFORCE_LOGIN_URL" in str(error)
    not_salesforce = token_refusal(404, None, "<html>Not Found</html>", ("s3cret",))
    assert isinstance(not_salesforce, ConnectorAuthError) and "SALESFORCE_LOGIN_URL" in str(not_salesforce)


# ------------------------------------------------------------------------------------------ reads


async def test_query_pages_follow_next_records_url_at_the_batch_size(
    salesforce: FakeSalesforce, sleeps: Sleeps
) -> None:
    ids = [salesforce.add("Account", {"Name": f"Acme {n}", "AnnualRevenue": 1000.0 * n}) for n in range(450)]
    soql = f"SELECT {ACCOUNT_FIELDS}, AnnualRevenue FROM Account ORDER BY SystemModstamp, Id"
    async with SalesforceClient(salesforce.url, CLIENT_ID, CLIENT_SECRET, sleep=sleeps, batch_size=200) as c:
        pages = [page async for page in c.query(soql)]
    assert [len(page) for page in pages] == [200, 200, 50]
    records = [r for page in pages for r in page]
    assert [r["Id"] for r in records] == ids and all(len(i) == 18 and i.startswith("001") for i in ids)
    first = records[0]
    assert first == {
        "Id": ids[0],
        "Name": "Acme 0",
        "IsDeleted": False,
        "MasterRecordId": None,
        "SystemModstamp": "2024-01-01T00:00:00.000+0000",
        "AnnualRevenue": 0.0,
    }
    assert parse_time(first["SystemModstamp"]) == START
    calls = salesforce.of("GET", "/query")
    assert calls[0].path == "/services/data/v62.0/query" and calls[0].query == {"q": soql}
    assert all(c.headers["Sforce-Query-Options"] == "batchSize=200" for c in calls)
    assert [c.path.rsplit("-", 1)[-1] for c in calls[1:]] == ["200", "400"] and calls[1].query == {}
    assert sleeps == []


async def test_a_query_from_a_moment_and_on_values(
    salesforce: FakeSalesforce, client: SalesforceClient
) -> None:
    salesforce.add("Account", {"Name": "Early", "Type": "Customer - Direct"})
    clock = salesforce.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(hours=1, milliseconds=250))
    late = salesforce.add("Account", {"Name": "Late", "Type": "Customer - Direct"})
    other = salesforce.add("Account", {"Name": "Other", "Type": "Prospect"})
    since = soql_time(START + timedelta(hours=1, milliseconds=999))
    assert since == "2024-01-01T01:00:00Z"  # whole seconds: >= takes the rest of that second in
    soql = f"SELECT Id FROM Account WHERE SystemModstamp >= {since} ORDER BY SystemModstamp, Id"
    assert [r["Id"] for r in await everything(client, soql)] == [late, other]
    typed = f"SELECT Id FROM Account WHERE SystemModstamp >= {since} AND Type IN ('customer - direct')"
    assert [r["Id"] for r in await everything(client, typed)] == [late]
    named = "SELECT Id, Name FROM Account WHERE Name = 'Other'"
    assert await everything(client, named) == [{"Id": other, "Name": "Other"}]
    assert await everything(client, "SELECT Id FROM Account WHERE Name = 'Nobody'") == []


async def test_query_all_brings_deleted_and_merged_records(
    salesforce: FakeSalesforce, client: SalesforceClient
) -> None:
    keep, gone, old = (salesforce.add("Account", {"Name": n}) for n in ("Keep", "Gone", "Acme Inc"))
    salesforce.delete("Account", gone)
    salesforce.merge(keep, old)
    soql = f"SELECT {ACCOUNT_FIELDS} FROM Account ORDER BY SystemModstamp, Id"
    assert [r["Id"] for r in await everything(client, soql)] == [keep]
    found = {r["Id"]: r for r in await everything(client, soql, all_rows=True)}
    assert [(i, found[i]["IsDeleted"], found[i]["MasterRecordId"]) for i in found] == [
        (gone, True, None),
        (old, True, keep),
        (keep, False, None),
    ]
    assert salesforce.of("GET", "/queryAll")[0].path == "/services/data/v62.0/queryAll"


async def test_describe_lists_standard_and_custom_fields(
    salesforce: FakeSalesforce, client: SalesforceClient
) -> None:
    salesforce.define("Account", "Touchpoint_Health_Score__c", "double")
    fields = {f.name: f for f in await client.describe("Account")}
    assert fields["Website"].type == "url" and fields["Website"].updateable
    assert fields["Id"].type == "id" and not fields["Id"].updateable
    assert fields["SystemModstamp"].type == "datetime" and not fields["SystemModstamp"].updateable
    score = fields["Touchpoint_Health_Score__c"]
    assert (score.label, score.type, score.updateable) == ("Touchpoint Health Score", "double", True)
    users = {f.name for f in await client.describe("User")}
    assert {"Id", "Email", "Name", "IsActive"} <= users
    with pytest.raises(ConnectorSchemaError, match="no object 'Widget__c'"):
        await client.describe("Widget__c")


def test_salesforce_times() -> None:
    assert parse_time("2024-01-01T00:00:00.000+0000") == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_time("2013-05-20T20:49:32.123+0000") == datetime(2013, 5, 20, 20, 49, 32, 123000, tzinfo=UTC)
    assert parse_time("") is None and parse_time(None) is None and parse_time("soon") is None
    paris = datetime.fromisoformat("2024-06-01T12:30:15.500+02:00")
    assert soql_time(paris) == "2024-06-01T10:30:15Z"
    with pytest.raises(ValueError, match="time zone"):
        soql_time(datetime(2024, 1, 1))


# ------------------------------------------------------------------------------- limits and errors


async def test_an_unknown_field_is_a_schema_error_with_salesforces_words(
    salesforce: FakeSalesforce, client: SalesforceClient
) -> None:
    with pytest.raises(ConnectorSchemaError) as caught:
        await everything(client, "SELECT Id, Foo__c FROM Account ORDER BY SystemModstamp, Id")
    message = str(caught.value)
    assert "No such column 'Foo__c' on entity 'Account' (INVALID_FIELD)" in message
    assert "If you are attempting" not in message and caught.value.status == 400
    [answer] = salesforce.of("GET", "/query")
    assert answer.status == 400
    with pytest.raises(ConnectorSchemaError, match="sObject type 'Widget' is not supported"):
        await everything(client, "SELECT Id FROM Widget")
    with pytest.raises(ConnectorSchemaError, match="MALFORMED_QUERY"):
        await everything(client, "SELECT Id FRM Account")
    with pytest.raises(ConnectorSchemaError, match="should not be enclosed in quotes"):
        await everything(client, "SELECT Id FROM Account WHERE SystemModstamp >= '2024-01-01T00:00:00Z'")


async def test_request_limit_exceeded_stops_at_once(
    salesforce: FakeSalesforce, client: SalesforceClient, sleeps: Sleeps
) -> None:
    salesforce.request_limit_exceeded = True
    with pytest.raises(ConnectorLimitError, match="TotalRequests Limit exceeded") as caught:
        await client.describe("Account")
    assert "resumes on the next run" in str(caught.value) and caught.value.status == 403
    assert sleeps == [] and len(salesforce.of("GET")) == 1


async def test_nearly_spent_daily_usage_slows_down_then_stops_before_calling(
    salesforce: FakeSalesforce, client: SalesforceClient, sleeps: Sleeps
) -> None:
    salesforce.usage, salesforce.limit = 13_600, 15_000
    await client.describe("Account")  # the answer says 13,601 of 15,000: past 90%
    assert client.usage == (13_601, 15_000) and sleeps == []
    await client.describe("Account")
    assert sleeps == [1.0]
    salesforce.usage = 14_849  # the next answer says 14,850 (99%)
    await client.describe("Account")
    calls = len(salesforce.requests)
    with pytest.raises(ConnectorLimitError) as caught:
        await client.describe("Account")
    assert str(caught.value) == (
        "Salesforce's daily API requests are nearly used up (14,850 of 15,000); the sync stops and resumes "
        "on the next run"
    )
    assert len(salesforce.requests) == calls


def test_the_usage_header_is_read_with_or_without_bursts() -> None:
    def answer(value: str) -> HttpAnswer:
        headers = CIMultiDictProxy(CIMultiDict({"Sforce-Limit-Info": value}))
        return HttpAnswer(status=200, headers=headers, body=None, text="")

    assert read_usage(answer("api-usage=25/15000")) == (25, 15_000)
    assert read_usage(answer("api-usage=10018/100000; api-bursts=1/750")) == (10_018, 100_000)
    assert read_usage(answer("api-bursts=1/750")) is None


async def test_server_errors_are_retried_with_backoff(
    salesforce: FakeSalesforce, client: SalesforceClient, sleeps: Sleeps
) -> None:
    salesforce.add("Account", {"Name": "Acme"})
    salesforce.fail_next(503, times=2, path_part="/query")
    with capture_logs() as logs:
        assert len(await everything(client, "SELECT Id FROM Account")) == 1
    assert sleeps == [1.0, 2.0]
    assert [s for _, s in statuses(salesforce)] == [200, 503, 503, 200]
    assert all(token not in repr(logs) for token in salesforce.tokens) and CLIENT_SECRET not in repr(logs)
    salesforce.fail_next(500, times=4, path_part="/describe")
    with pytest.raises(ConnectorError, match="500"):
        await client.describe("Account")
    assert sleeps[2:] == [1.0, 2.0, 4.0]


async def test_a_failing_token_endpoint_is_retried(
    salesforce: FakeSalesforce, client: SalesforceClient, sleeps: Sleeps
) -> None:
    salesforce.fail_next(503, path_part="/oauth2/token")
    await client.describe("Account")
    assert statuses(salesforce) == [("token", 503), ("token", 200), ("describe", 200)] and sleeps == [1.0]


# ----------------------------------------------------------------------------------------- writes


async def test_update_records_in_chunks_reports_each_refusal(
    salesforce: FakeSalesforce, client: SalesforceClient
) -> None:
    salesforce.define("Account", "Touchpoint_Health_Score__c", "double")
    ids = [salesforce.add("Account", {"Name": f"a{n}"}) for n in range(250)]
    deleted = salesforce.add("Account", {"Name": "Deleted"})
    salesforce.delete("Account", deleted)
    unknown = ids[0][:-6] + "ZZZAAA"  # an Account id no record has
    updates: list[tuple[str, dict[str, Any]]] = [(i, {"Touchpoint_Health_Score__c": 82.0}) for i in ids]
    updates[100:100] = [(deleted, {"Touchpoint_Health_Score__c": 50.0}), (unknown, {"Name": "x"})]
    result = await client.update_records("Account", updates)
    assert result.updated == tuple(ids)
    assert [(rid, reason.split(":")[0]) for rid, reason in result.failed] == [
        (deleted, "ENTITY_IS_DELETED"),
        (unknown, "INVALID_CROSS_REFERENCE_KEY"),
    ]
    calls = salesforce.of("PATCH", "/composite/sobjects")
    assert [len(c.json["records"]) for c in calls] == [200, 52] and all(c.status == 200 for c in calls)
    assert calls[0].json["allOrNone"] is False
    assert calls[0].json["records"][0] == {
        "attributes": {"type": "Account"},
        "id": ids[0],
        "Touchpoint_Health_Score__c": 82.0,
    }
    assert salesforce.record("Account", ids[-1])["Touchpoint_Health_Score__c"] == 82.0
    assert salesforce.record("Account", deleted).get("Touchpoint_Health_Score__c") is None


async def test_updating_a_field_salesforce_lacks_is_a_schema_error(
    salesforce: FakeSalesforce, client: SalesforceClient
) -> None:
    account = salesforce.add("Account", {"Name": "Acme"})
    with pytest.raises(ConnectorSchemaError, match="No such column 'Touchpoint_Health_Score__c'"):
        await client.update_records("Account", [(account, {"Touchpoint_Health_Score__c": 82.0})])
    result = await client.update_records("Account", [(account, {"IsDeleted": True})])
    assert result.updated == () and "INVALID_FIELD_FOR_INSERT_UPDATE" in result.failed[0][1]
