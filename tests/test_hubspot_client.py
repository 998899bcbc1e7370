"""The HubSpot client against the fake HubSpot CRM v3 API over real loopback HTTP: paging, search past
the 10,000-result ceiling, rate limits, refusals and writes. Waits are recorded, never slept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from adapters.connectors.errors import (
    ConnectorAuthError,
    ConnectorError,
    ConnectorLimitError,
    ConnectorSchemaError,
)
from adapters.connectors.hubspot.client import CrmRecord, HubSpotClient, parse_time
from tests.fakes.hubspot import START, FakeHubSpot, ManualClock, ms_of

MS = timedelta(milliseconds=1)


class Sleeps(list[float]):
    """Stands in for asyncio.sleep: remembers each wait and returns at once."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
async def hubspot() -> AsyncIterator[FakeHubSpot]:
    fake = FakeHubSpot()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def client(hubspot: FakeHubSpot, sleeps: Sleeps) -> AsyncIterator[HubSpotClient]:
    async with HubSpotClient(hubspot.url, hubspot.token, sleep=sleeps) as hs:
        yield hs


async def all_modified(client: HubSpotClient, since: datetime | None = None) -> list[CrmRecord]:
    return [r async for page in client.modified_since("companies", ["name"], since) for r in page.records]


# ------------------------------------------------------------------------------------------ reads


async def test_list_pages_follow_the_cursor_with_the_token(
    hubspot: FakeHubSpot, client: HubSpotClient
) -> None:
    ids = [hubspot.add("companies", {"name": f"Acme {n}", "domain": f"acme{n}.com"}) for n in range(250)]
    seen: list[CrmRecord] = []
    after: str | None = None
    pages = 0
    while True:
        page = await client.list_page("companies", ["name", "no_such_property"], after)
        seen += page.records
        pages += 1
        if (after := page.after) is None:
            break
    assert pages == 3 and [r.id for r in seen] == ids
    first = seen[0]
    assert first.properties["name"] == "Acme 0" and "domain" not in first.properties
    assert first.updated_at == START and first.updated_at.tzinfo is not None and not first.archived
    calls = hubspot.of("GET", "/crm/v3/objects/companies")
    assert all(c.headers["Authorization"] == f"Bearer {hubspot.token}" for c in calls)
    assert calls[0].query == {"limit": "100", "archived": "false", "properties": "name,no_such_property"}


async def test_archived_records_are_listed_apart(hubspot: FakeHubSpot, client: HubSpotClient) -> None:
    kept, gone = hubspot.add("companies", {"name": "Kept"}), hubspot.add("companies", {"name": "Gone"})
    hubspot.archive("companies", gone)
    active = await client.list_page("companies", ["name"], None)
    archived = await client.list_page("companies", ["name"], None, archived=True)
    assert [r.id for r in active.records] == [kept]
    assert [(r.id, r.archived) for r in archived.records] == [(gone, True)]
    assert [r.id for r in await all_modified(client)] == [kept]  # search never shows archived records


async def test_a_deal_lists_each_associated_company_once(hubspot: FakeHubSpot, client: HubSpotClient) -> None:
    first, second = hubspot.add("companies", {"name": "A"}), hubspot.add("companies", {"name": "B"})
    deal = hubspot.add("deals", {"dealname": "Renewal", "dealstage": "closedwon", "amount": "25000.00"})
    hubspot.associate("deals", deal, "companies", first)  # deal_to_company and deal_to_company_unlabeled
    hubspot.associate("deals", deal, "companies", second)
    page = await client.list_page("deals", ["dealname", "amount"], None, associations=["companies"])
    [record] = page.records
    assert record.associations == {"companies": (first, second)}
    assert record.properties["amount"] == "25000.00"
    company = await client.list_page("companies", ["name"], None, associations=["deals"])
    assert company.records[0].associations == {"deals": (deal,)}


async def test_owners_page_and_archived_owners(hubspot: FakeHubSpot, sleeps: Sleeps) -> None:
    for n in range(3):
        hubspot.add_owner(f"csm{n}@example.com", "Casey", f"Lee{n}")
    gone = hubspot.add_owner("left@example.com", "Former", "Owner", archived=True)
    async with HubSpotClient(hubspot.url, hubspot.token, sleep=sleeps, page_size=2) as client:
        pages = [page async for page in client.owners()]
        archived = [owner async for page in client.owners(archived=True) for owner in page]
    assert [len(p) for p in pages] == [2, 1]
    assert pages[0][0].email == "csm0@example.com" and pages[0][0].first_name == "Casey"
    assert [(o.id, o.first_name, o.last_name, o.archived) for o in archived] == [(gone, None, "Owner", True)]


async def test_property_definitions(client: HubSpotClient) -> None:
    found = {p.name: p for p in await client.properties("companies")}
    assert found["lifecyclestage"].type == "enumeration"
    assert found["lifecyclestage"].label == "Lifecycle Stage"
    assert found["hs_lastmodifieddate"].type == "datetime"


def test_hubspot_times_become_aware_utc() -> None:
    assert parse_time("2019-10-30T03:30:17.883Z") == datetime(2019, 10, 30, 3, 30, 17, 883000, tzinfo=UTC)
    assert parse_time("2019-10-30T03:30:17Z") == datetime(2019, 10, 30, 3, 30, 17, tzinfo=UTC)
    assert parse_time("1579514400000") == datetime(2020, 1, 20, 10, 0, tzinfo=UTC)
    assert parse_time("") is None and parse_time(None) is None and parse_time("soon") is None


# ----------------------------------------------------------------------------------------- search


async def test_search_reads_past_the_ceiling_in_windows_each_record_once(sleeps: Sleeps) -> None:
    clock = ManualClock(step=timedelta(0))
    fake = FakeHubSpot(clock=clock, search_ceiling=50)
    await fake.start()
    try:
        # 120 companies in groups that share a millisecond: some across page edges, one of 45 (more than
        # two pages of 20, reaching the ceiling of 50 within one search).
        ids: list[str] = []
        for size in (1, 3, 7, 19, 2, 45, 1, 1, 30, 4, 6, 1):
            clock.advance(MS * 7)
            ids += [fake.add("companies", {"name": f"c{len(ids) + n}"}) for n in range(size)]
        assert len(ids) == 120
        async with HubSpotClient(
            fake.url, fake.token, sleep=sleeps, search_page_size=20, search_ceiling=50
        ) as c:
            pages = [page async for page in c.modified_since("companies", ["name"], None)]
        records = [r for page in pages for r in page.records]
        assert sorted(r.id for r in records) == sorted(ids)  # every id, exactly once
        times = [r.updated_at for r in records]
        assert times == sorted(times)
        assert all(page.after is None and all(not r.associations for r in page.records) for page in pages)
        searches = fake.of("POST", "/search")
        assert all(s.status == 200 for s in searches)
        assert max(int(s.json.get("after", 0)) + s.json["limit"] for s in searches) == 50  # up to the ceiling
        assert searches[0].json["sorts"] == [
            {"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}
        ]
        assert set(searches[0].json["properties"]) == {"name", "hs_lastmodifieddate"}
        assert sleeps == []
    finally:
        await fake.close()


async def test_search_from_a_moment_filters_in_epoch_milliseconds(
    hubspot: FakeHubSpot, client: HubSpotClient
) -> None:
    hubspot.add("companies", {"name": "Early"})
    clock = hubspot.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(hours=1))
    moment = clock.now
    late = hubspot.add("companies", {"name": "Late"})
    records = await all_modified(client, moment)
    assert [(r.id, r.updated_at) for r in records] == [(late, moment)]
    [search] = hubspot.of("POST", "/search")
    assert search.json["filterGroups"] == [
        {"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(ms_of(moment))}]}
    ]


async def test_search_misses_nothing_modified_while_it_pages(hubspot: FakeHubSpot, sleeps: Sleeps) -> None:
    ids = [hubspot.add("companies", {"name": f"c{n}"}) for n in range(150)]
    seen: list[str] = []
    async with HubSpotClient(hubspot.url, hubspot.token, sleep=sleeps, search_page_size=20) as client:
        async for page in client.modified_since("companies", ["name"], None):
            if not seen:  # someone edits a record the sync has read already: it moves to the end
                hubspot.modify("companies", page.records[0].id, {"name": "edited"})
            seen += [r.id for r in page.records]
    assert sorted(set(seen)) == sorted(ids)
    assert seen.count(ids[0]) == 2 and len(seen) == 151  # the edited one again, newer


async def test_more_records_in_one_millisecond_than_the_ceiling_stop_the_search(sleeps: Sleeps) -> None:
    fake = FakeHubSpot(clock=ManualClock(step=timedelta(0)), search_ceiling=50)
    await fake.start()
    try:
        for n in range(60):
            fake.add("companies", {"name": f"c{n}"})
        async with HubSpotClient(
            fake.url, fake.token, sleep=sleeps, search_page_size=20, search_ceiling=50
        ) as c:
            with pytest.raises(ConnectorError, match="50 or more HubSpot companies"):
                await all_modified(c)
        assert all(s.status == 200 for s in fake.requests)
    finally:
        await fake.close()


# ------------------------------------------------------------------------------- limits and errors


async def test_a_burst_limit_is_waited_out(
    hubspot: FakeHubSpot, client: HubSpotClient, sleeps: Sleeps
) -> None:
    hubspot.rate_limit_next(2)  # TEN_SECONDLY_ROLLING, with the interval header
    hubspot.rate_limit_next(policy="SECONDLY", interval_ms=None, path_part="/search")
    hubspot.rate_limit_next(retry_after=3)
    await client.properties("companies")
    assert sleeps == [10.0, 10.0, 3.0]
    await all_modified(client)
    assert sleeps[-1] == 1.0
    assert [c.status for c in hubspot.requests] == [429, 429, 429, 200, 429, 200]


async def test_rate_limits_that_never_clear_stop_the_run(hubspot: FakeHubSpot, client: HubSpotClient) -> None:
    hubspot.rate_limit_next(20)
    with pytest.raises(ConnectorLimitError, match="429"):
        await client.properties("companies")
    assert len(hubspot.requests) == 9


async def test_the_daily_limit_stops_at_once(
    hubspot: FakeHubSpot, client: HubSpotClient, sleeps: Sleeps
) -> None:
    hubspot.daily_limit_reached = True
    with pytest.raises(ConnectorLimitError) as caught:
        await client.list_page("companies", ["name"], None)
    assert "daily API limit is reached" in str(caught.value) and "resumes" in str(caught.value)
    assert sleeps == [] and len(hubspot.requests) == 1


async def test_an_empty_burst_budget_slows_down_before_a_refusal(
    hubspot: FakeHubSpot, client: HubSpotClient, sleeps: Sleeps
) -> None:
    hubspot.remaining.extend([5, 0])
    for _ in range(3):
        await client.properties("companies")
    assert sleeps == [10.0]
    assert [c.status for c in hubspot.requests] == [200, 200, 200]


async def test_server_errors_are_retried_with_backoff(
    hubspot: FakeHubSpot, client: HubSpotClient, sleeps: Sleeps
) -> None:
    hubspot.fail_next(503, times=2)
    with capture_logs() as logs:
        assert await client.properties("companies")
    assert sleeps == [1.0, 2.0]
    assert [entry["event"] for entry in logs] == ["connector_retry", "connector_retry"]
    assert hubspot.token not in repr(logs)
    hubspot.fail_next(502, times=4)
    with pytest.raises(ConnectorError, match="502"):
        await client.properties("companies")
    assert sleeps[2:] == [1.0, 2.0, 4.0]


async def test_an_unreachable_hubspot_is_tried_four_times(sleeps: Sleeps) -> None:
    fake = FakeHubSpot()
    await fake.start()
    url = fake.url
    await fake.close()  # nothing listens there any more
    async with HubSpotClient(url, "pat-na1-secret", sleep=sleeps) as client:
        with pytest.raises(ConnectorError, match="could not be reached") as caught:
            await client.properties("companies")
    assert sleeps == [1.0, 2.0, 4.0] and "pat-na1-secret" not in str(caught.value)


async def test_an_expired_token_is_refused_without_showing_it(
    hubspot: FakeHubSpot, client: HubSpotClient
) -> None:
    hubspot.token_expired = True
    with pytest.raises(ConnectorAuthError) as caught:
        await client.list_page("companies", ["name"], None)
    message = str(caught.value)
    assert message == (
        "HubSpot refused the access token (EXPIRED_AUTHENTICATION): create a new private app token and set "
        "HUBSPOT_ACCESS_TOKEN"
    )
    assert hubspot.token not in message and caught.value.status == 401


async def test_a_wrong_token_and_a_missing_scope(hubspot: FakeHubSpot, sleeps: Sleeps) -> None:
    async with HubSpotClient(hubspot.url, "pat-na1-wrong", sleep=sleeps) as client:
        with pytest.raises(ConnectorAuthError, match="INVALID_AUTHENTICATION") as caught:
            await client.properties("companies")
        assert "pat-na1-wrong" not in str(caught.value)
    hubspot.require_scope("deals", "crm.objects.deals.read")
    async with HubSpotClient(hubspot.url, hubspot.token, sleep=sleeps) as client:
        with pytest.raises(ConnectorAuthError, match=r"needs crm\.objects\.deals\.read") as caught:
            await client.list_page("deals", ["dealname"], None)
    assert hubspot.token not in str(caught.value) and sleeps == []


async def test_unknown_object_types_and_properties_are_schema_errors(
    hubspot: FakeHubSpot, client: HubSpotClient
) -> None:
    company = hubspot.add("companies", {"name": "Acme"})
    with pytest.raises(ConnectorSchemaError, match="no object type 'widgets'"):
        await client.properties("widgets")
    with pytest.raises(ConnectorSchemaError, match="no object type 'widgets'"):
        await client.list_page("widgets", ["name"], None)
    with pytest.raises(ConnectorSchemaError, match="no object type 'widgets'"):
        await client.merged_into("widgets", company)
    with pytest.raises(ConnectorSchemaError, match="no companies property 'health_score'"):
        await client.batch_update("companies", [(company, {"health_score": "82"})])
    assert hubspot.record("companies", company).properties.get("health_score") is None


# ----------------------------------------------------------------------------------------- writes


async def test_batch_update_reports_the_records_it_could_not_update(
    hubspot: FakeHubSpot, client: HubSpotClient
) -> None:
    ids = [hubspot.add("companies", {"name": f"c{n}"}) for n in range(250)]
    updates = [(i, {"lifecyclestage": "customer"}) for i in ids] + [
        ("999999", {"lifecyclestage": "customer"})
    ]
    result = await client.batch_update("companies", updates)
    assert result.updated == tuple(ids)
    [(missing, reason)] = result.failed
    assert missing == "999999" and "Could not get some COMPANY objects" in reason
    assert [len(c.json["inputs"]) for c in hubspot.of("POST", "/batch/update")] == [100, 100, 51]
    assert [c.status for c in hubspot.of("POST", "/batch/update")] == [200, 200, 207]
    assert hubspot.record("companies", ids[-1]).properties["lifecyclestage"] == "customer"


async def test_one_unacceptable_value_does_not_hold_up_the_others(
    hubspot: FakeHubSpot, client: HubSpotClient
) -> None:
    good, bad = hubspot.add("companies", {"name": "Good"}), hubspot.add("companies", {"name": "Bad"})
    result = await client.batch_update(
        "companies", [(good, {"lifecyclestage": "customer"}), (bad, {"lifecyclestage": "delighted"})]
    )
    assert result.updated == (good,)
    [(failed, reason)] = result.failed
    assert failed == bad and "INVALID_OPTION" in reason
    assert [len(c.json["inputs"]) for c in hubspot.of("POST", "/batch/update")] == [2, 1, 1]
    assert hubspot.record("companies", bad).properties.get("lifecyclestage") is None


async def test_merged_ids_lead_to_the_surviving_record(hubspot: FakeHubSpot, client: HubSpotClient) -> None:
    keep, old = hubspot.add("companies", {"name": "Acme"}), hubspot.add("companies", {"name": "Acme Inc"})
    survivor = hubspot.merge("companies", keep, old)
    assert await client.merged_into("companies", old) == survivor == keep
    assert await client.merged_into("companies", keep) is None
    assert await client.merged_into("companies", "424242") is None  # never existed, or deleted
    page = await client.list_page("companies", ["name", "hs_merged_object_ids"], None)
    assert [(r.id, r.properties["hs_merged_object_ids"]) for r in page.records] == [(keep, old)]

    a, b = hubspot.add("companies", {"name": "Beta"}), hubspot.add("companies", {"name": "Beta Ltd"})
    new = hubspot.merge("companies", a, b, new_record=True)  # both old ids point to a new record
    assert {await client.merged_into("companies", a), await client.merged_into("companies", b)} == {new}
    archived = hubspot.add("companies", {"name": "Gone"})
    hubspot.archive("companies", archived)
    assert await client.merged_into("companies", archived) is None
