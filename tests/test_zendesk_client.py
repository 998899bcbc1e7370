"""The Zendesk client against the fake Zendesk Support API over real loopback HTTP: API token auth, the
organization list, the cursor-based incremental ticket export (deleted, merged and solved tickets, and
continuing after the end of the stream), satisfaction ratings, rate limits and refusals. Waits are
recorded, never slept."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from adapters.connectors.errors import ConnectorAuthError, ConnectorError, ConnectorSchemaError
from adapters.connectors.zendesk.client import Organization, Ticket, TicketPage, ZendeskClient
from tests.fakes.zendesk import EMAIL, START, TOKEN, FakeZendesk, ManualClock

DAY = timedelta(days=1)
SINCE = START - 30 * DAY  # a start_time well before every change the fake stamps


class Sleeps(list[float]):
    """Stands in for asyncio.sleep: remembers each wait and returns at once."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def zendesk(clock: ManualClock) -> AsyncIterator[FakeZendesk]:
    async with FakeZendesk(clock) as fake:
        yield fake


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def client(zendesk: FakeZendesk, sleeps: Sleeps) -> AsyncIterator[ZendeskClient]:
    async with ZendeskClient(zendesk.url, EMAIL, TOKEN, sleep=sleeps, page_size=2, list_page_size=2) as zd:
        yield zd


async def export(client: ZendeskClient, *, since: datetime = SINCE) -> list[TicketPage]:
    """Every page from ``since`` to the end of the stream."""
    pages = [await client.ticket_page(start_time=since)]
    while not pages[-1].end_of_stream:
        assert pages[-1].after_cursor is not None
        pages.append(await client.ticket_page(cursor=pages[-1].after_cursor))
    return pages


def tickets_of(pages: list[TicketPage]) -> dict[str, Ticket]:
    return {t.id: t for page in pages for t in page.tickets}


# ------------------------------------------------------------------------------------ credentials


async def test_the_api_token_goes_as_basic_auth_of_email_slash_token(
    zendesk: FakeZendesk, client: ZendeskClient
) -> None:
    me = await client.me()
    assert me["email"] == EMAIL and me["role"] == "admin"
    [call] = zendesk.requests
    assert call.path == "/api/v2/users/me.json" and call.user == f"{EMAIL}/token" and call.status == 200


async def test_the_authorization_header_is_zendesks_documented_form(zendesk: FakeZendesk) -> None:
    zendesk.email, zendesk.token = "jdoe@example.com", "6wiIBWbGk"  # the documentation's example user
    seen: list[str] = []

    async def trace(session: object, context: object, params: aiohttp.TraceRequestStartParams) -> None:
        seen.append(params.headers["Authorization"])

    tracing = aiohttp.TraceConfig()
    tracing.on_request_start.append(trace)
    async with aiohttp.ClientSession(trace_configs=[tracing]) as session:
        await ZendeskClient(zendesk.url, "jdoe@example.com", "6wiIBWbGk", session=session).me()
    expected = base64.b64encode(b"jdoe@example.com/token:6wiIBWbGk").decode()
    assert seen == [f"Basic {expected}"]


async def test_a_wrong_or_expired_token_is_refused_without_showing_it(
    zendesk: FakeZendesk, sleeps: Sleeps
) -> None:
    wrong = "Wr0ngT0kenWr0ngT0kenWr0ngT0kenWr0ngT0ken"
    async with ZendeskClient(zendesk.url, EMAIL, wrong, sleep=sleeps) as client:
        with pytest.raises(ConnectorAuthError) as caught:
            await client.me()
    message = str(caught.value)
    assert caught.value.status == 401 and "Couldn't authenticate you" in message
    assert "ZENDESK_EMAIL and ZENDESK_API_TOKEN" in message and wrong not in message
    zendesk.expire_token()
    async with ZendeskClient(zendesk.url, EMAIL, TOKEN, sleep=sleeps) as client:
        with pytest.raises(ConnectorAuthError) as caught:
            await client.ticket_page(start_time=SINCE)
    assert TOKEN not in str(caught.value) and sleeps == []


async def test_an_anonymous_answer_is_a_refusal(zendesk: FakeZendesk, sleeps: Sleeps) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{zendesk.url}/api/v2/users/me.json") as got:
        assert got.status == 200 and (await got.json())["user"]["id"] is None
    zendesk.anonymous_when_refused = True
    async with ZendeskClient(zendesk.url, EMAIL, "not-the-token", sleep=sleeps) as client:
        with pytest.raises(ConnectorAuthError, match="anonymous user") as caught:
            await client.me()
    assert "not-the-token" not in str(caught.value)


async def test_an_agent_may_list_organizations_but_not_export_tickets(
    zendesk: FakeZendesk, client: ZendeskClient
) -> None:
    zendesk.role = "agent"
    assert [p async for p in client.organizations()] == [[]]
    with pytest.raises(ConnectorAuthError) as caught:
        await client.ticket_page(start_time=SINCE)
    assert caught.value.status == 403 and "needs a Zendesk admin" in str(caught.value)
    with pytest.raises(ConnectorAuthError, match="needs a Zendesk admin"):
        [p async for p in client.satisfaction_ratings()]


# ---------------------------------------------------------------------------------- organizations


async def test_organizations_page_by_cursor(zendesk: FakeZendesk, client: ZendeskClient) -> None:
    ids = [
        zendesk.add_organization(
            f"Acme {n}",
            external_id=f"acct-{n}" if n % 2 else None,
            domain_names=[f"Acme{n}.COM", f"acme{n}.io"],
            fields={"crm_id": f"00{n}", "tier": None},
        )
        for n in range(5)
    ]
    pages = [page async for page in client.organizations()]
    assert [len(page) for page in pages] == [2, 2, 1]
    found = [org for page in pages for org in page]
    assert [org.id for org in found] == ids
    assert found[1] == Organization(
        ids[1], "Acme 1", "acct-1", ("acme1.com", "acme1.io"), {"crm_id": "001", "tier": None}
    )
    assert found[0].external_id is None
    calls = zendesk.of("/organizations")
    assert calls[0].query == {"page[size]": "2"}
    assert [set(c.query) for c in calls[1:]] == [{"page[size]", "page[after]"}] * 2


# ------------------------------------------------------------------------------------ the export


async def test_the_export_pages_to_the_end_of_the_stream_then_continues_from_its_cursor(
    zendesk: FakeZendesk, client: ZendeskClient, clock: ManualClock
) -> None:
    org = zendesk.add_organization("Acme")
    ids = [zendesk.add_ticket(org, created_at=START - n * DAY, tags=[f"t{n}"]) for n in range(5)]
    pages = await export(client)
    assert [[t.id for t in p.tickets] for p in pages] == [ids[:2], ids[2:4], ids[4:]]
    assert [p.end_of_stream for p in pages] == [False, False, True]
    first = pages[0].tickets[0]
    assert first.organization_id == org and first.status == "open" and first.priority == "normal"
    assert first.tags == ("t0",) and first.created_at == START and first.updated_at.tzinfo is not None
    calls = zendesk.of("/incremental/tickets/cursor")
    since = str(int(SINCE.timestamp()))
    assert calls[0].query == {"start_time": since, "per_page": "2", "include": "metric_sets"}
    assert [c.query.get("cursor") for c in calls[1:]] == [p.after_cursor for p in pages[:2]]

    clock.advance(timedelta(hours=1))
    zendesk.update_ticket(ids[1], priority="urgent")
    new = zendesk.add_ticket(org, created_at=clock.now, priority=None)
    last = pages[-1].after_cursor
    assert last is not None
    later = await client.ticket_page(cursor=last)
    assert [(t.id, t.priority) for t in later.tickets] == [(ids[1], "urgent"), (new, None)]
    assert later.end_of_stream and later.after_cursor not in (None, last)
    assert later.tickets[0].updated_at > pages[0].tickets[1].updated_at
    assert later.after_cursor is not None
    quiet = await client.ticket_page(cursor=later.after_cursor)
    assert quiet.tickets == [] and quiet.end_of_stream and quiet.after_cursor == later.after_cursor


async def test_a_ticket_changed_twice_comes_once_at_its_latest_place(
    zendesk: FakeZendesk, client: ZendeskClient
) -> None:
    a, b, c = (zendesk.add_ticket(None, created_at=START) for _ in range(3))
    zendesk.update_ticket(a, status="pending")
    zendesk.update_ticket(a, status="hold")
    found = [t for p in await export(client) for t in p.tickets]
    assert [(t.id, t.status) for t in found] == [(b, "open"), (c, "open"), (a, "hold")]
    assert found[0].organization_id is None


async def test_deleted_and_merged_tickets(zendesk: FakeZendesk, client: ZendeskClient) -> None:
    org = zendesk.add_organization("Acme")
    gone, source, target, kept = (zendesk.add_ticket(org, created_at=START, tags=["vip"]) for _ in range(4))
    zendesk.delete_ticket(gone)
    zendesk.merge_ticket(source, target)
    found = tickets_of(await export(client))
    assert found[gone].deleted and found[gone].status == "deleted" and not found[gone].merged
    assert found[gone].organization_id == org
    assert found[source].merged and found[source].status == "closed" and not found[source].deleted
    assert found[source].tags == ("vip", "closed_by_merge")
    assert not found[target].merged and not found[kept].merged and found[target].status == "open"


async def test_solved_at_comes_from_the_metric_sets(
    zendesk: FakeZendesk, client: ZendeskClient, clock: ManualClock
) -> None:
    solved = START - 2 * DAY + timedelta(hours=5)
    done = zendesk.add_ticket(None, created_at=START - 3 * DAY, status="solved", solved_at=solved)
    still_open = zendesk.add_ticket(None, created_at=START - 3 * DAY)
    later = zendesk.add_ticket(None, created_at=START - DAY)
    clock.advance(timedelta(minutes=30))
    moment = clock.now
    zendesk.update_ticket(later, status="solved")
    found = tickets_of(await export(client))
    assert found[done].solved_at == solved and found[done].status == "solved"
    assert found[still_open].solved_at is None
    assert found[later].solved_at == moment.replace(microsecond=0)  # Zendesk's times are whole seconds


async def test_changes_of_the_last_minute_wait_as_zendesk_holds_them_back(
    zendesk: FakeZendesk, client: ZendeskClient, clock: ManualClock
) -> None:
    zendesk.hold_back = timedelta(minutes=1)
    old = zendesk.add_ticket(None, created_at=START)
    clock.advance(timedelta(minutes=5))
    fresh = zendesk.add_ticket(None, created_at=clock.now)
    pages = await export(client)
    assert [t.id for p in pages for t in p.tickets] == [old]
    clock.advance(timedelta(minutes=2))
    assert pages[-1].after_cursor is not None
    later = await client.ticket_page(cursor=pages[-1].after_cursor)
    assert [t.id for t in later.tickets] == [fresh]


async def test_a_start_time_too_recent_or_to_come_is_refused(
    client: ZendeskClient, clock: ManualClock
) -> None:
    for start in (clock.now, clock.now + DAY):
        with pytest.raises(ConnectorError, match="Too recent start_time") as caught:
            await client.ticket_page(start_time=start)
        assert caught.value.status == 400 and not isinstance(caught.value, ConnectorAuthError)
    with pytest.raises(ValueError, match="either start_time"):
        await client.ticket_page()
    with pytest.raises(ValueError, match="either start_time"):
        await client.ticket_page(start_time=SINCE, cursor="abc")
    with pytest.raises(ValueError, match="time zone"):
        await client.ticket_page(start_time=datetime(2024, 1, 1))


async def test_many_tickets_page_a_thousand_at_a_time(zendesk: FakeZendesk, sleeps: Sleeps) -> None:
    rows = [(None, START - timedelta(minutes=n), "open", "low", (), None) for n in range(4_500)]
    zendesk.bulk_tickets(rows)
    async with ZendeskClient(zendesk.url, EMAIL, TOKEN, sleep=sleeps) as client:
        pages = await export(client, since=START - 10 * DAY)
    assert [len(p.tickets) for p in pages] == [1000] * 4 + [500]
    times = [t.updated_at for p in pages for t in p.tickets]
    assert times == sorted(times) and len({t.id for p in pages for t in p.tickets}) == 4_500


# ------------------------------------------------------------------------------------------ ratings


async def test_satisfaction_ratings_only_received_ones_page_by_page(
    zendesk: FakeZendesk, client: ZendeskClient
) -> None:
    ticket = zendesk.add_ticket(None, created_at=START - DAY)
    zendesk.add_rating(ticket, "good", "too early", created_at=START - 10 * DAY)
    good = zendesk.add_rating(ticket, "good", "Great support!", created_at=START - 2 * DAY)
    zendesk.add_rating(ticket, "offered", created_at=START - 2 * DAY)
    bad = zendesk.add_rating(ticket, "bad", "  ", created_at=START - DAY)
    zendesk.add_rating(ticket, "unoffered", created_at=START - DAY)
    also = zendesk.add_rating(ticket, "bad", "Slow", created_at=START)
    pages = [p async for p in client.satisfaction_ratings(start_time=START - 3 * DAY)]
    assert [[r.id for r in p] for p in pages] == [[good, bad], [also]]
    first, second = pages[0]
    assert (first.ticket_id, first.score, first.comment) == (ticket, "good", "Great support!")
    assert first.created_at == START - 2 * DAY == first.updated_at
    assert (second.score, second.comment) == ("bad", None)
    calls = zendesk.of("/satisfaction_ratings")
    assert calls[0].query == {
        "score": "received",
        "start_time": str(int((START - 3 * DAY).timestamp())),
        "page[size]": "2",
    }
    everything = [r.id async for p in client.satisfaction_ratings() for r in p]
    assert len(everything) == 4


async def test_a_score_with_a_comment_suffix_is_read_as_good_or_bad(
    zendesk: FakeZendesk, client: ZendeskClient
) -> None:
    ticket = zendesk.add_ticket(None, created_at=START)
    zendesk.answer_next(
        {
            "satisfaction_ratings": [
                {
                    "id": 1,
                    "ticket_id": int(ticket),
                    "score": "good_with_comment",
                    "comment": "ok",
                    "created_at": "2024-01-01T00:00:00Z",
                    "updated_at": "2024-01-02T00:00:00Z",
                },
                {"id": 2, "ticket_id": int(ticket), "score": "offered", "created_at": "2024-01-01T00:00:00Z"},
            ],
            "meta": {"has_more": False, "after_cursor": None, "before_cursor": None},
        }
    )
    [[rating]] = [p async for p in client.satisfaction_ratings()]
    assert rating.score == "good" and rating.updated_at == datetime(2024, 1, 2, tzinfo=UTC)


# ------------------------------------------------------------------------------- limits and errors


async def test_a_rate_limit_is_waited_out_for_retry_after(
    zendesk: FakeZendesk, client: ZendeskClient, sleeps: Sleeps
) -> None:
    zendesk.add_ticket(None, created_at=START)
    zendesk.rate_limit_next(2, retry_after=7)
    page = await client.ticket_page(start_time=SINCE)
    assert len(page.tickets) == 1 and sleeps == [7.0, 7.0]
    zendesk.rate_limit_next(retry_after=None)
    await client.me()
    assert sleeps[2:] == [60.0]
    assert [c.status for c in zendesk.requests] == [429, 429, 200, 429, 200]


async def test_a_spent_minute_pauses_before_the_next_request(
    zendesk: FakeZendesk, client: ZendeskClient, sleeps: Sleeps
) -> None:
    zendesk.remaining.extend([3, 0])
    for _ in range(3):
        await client.me()
    assert sleeps == [60.0] and [c.status for c in zendesk.requests] == [200, 200, 200]


async def test_server_errors_are_retried_then_reported(
    zendesk: FakeZendesk, client: ZendeskClient, sleeps: Sleeps
) -> None:
    zendesk.fail_next(2)
    assert (await client.me())["id"] == 1
    assert sleeps == [1.0, 2.0]
    zendesk.fail_next(4, status=502)
    with pytest.raises(ConnectorError, match="502") as caught:
        await client.ticket_page(start_time=SINCE)
    assert TOKEN not in str(caught.value) and sleeps[2:] == [1.0, 2.0, 4.0]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"tickets": []}, "end_of_stream"),
        ({"end_of_stream": True}, "'tickets' list"),
        (
            {
                "tickets": [{"id": 5, "status": "open", "updated_at": "2024-01-01T00:00:00Z"}],
                "end_of_stream": True,
            },
            "without a readable created_at",
        ),
        ({"tickets": [{"status": "open"}], "end_of_stream": False}, "without an id"),
    ],
)
async def test_a_malformed_export_page_is_a_schema_error(
    zendesk: FakeZendesk, client: ZendeskClient, body: dict[str, object], problem: str
) -> None:
    zendesk.answer_next(body)
    with pytest.raises(ConnectorSchemaError, match=problem):
        await client.ticket_page(start_time=SINCE)


async def test_other_malformed_answers_are_schema_errors(zendesk: FakeZendesk, client: ZendeskClient) -> None:
    zendesk.answer_next({"organizations": []})
    with pytest.raises(ConnectorSchemaError, match=r"meta\.has_more"):
        [p async for p in client.organizations()]
    zendesk.answer_next({"organizations": [{"id": 1}], "meta": {"has_more": False}})
    with pytest.raises(ConnectorSchemaError, match="without an id or a name"):
        [p async for p in client.organizations()]
    zendesk.answer_next({"organizations": [], "meta": {"has_more": True}})
    with pytest.raises(ConnectorSchemaError, match="after_cursor"):
        [p async for p in client.organizations()]
    zendesk.answer_next({"users": []})
    with pytest.raises(ConnectorSchemaError, match="'user' object"):
        await client.me()


async def test_other_refusals_carry_zendesks_words(zendesk: FakeZendesk, client: ZendeskClient) -> None:
    zendesk.answer_next({"error": "InvalidValue", "description": "Invalid cursor"}, status=400)
    with pytest.raises(ConnectorError) as caught:
        await client.ticket_page(cursor="bogus")
    assert (
        str(caught.value)
        == "Zendesk refused the incremental ticket export with 400: InvalidValue: Invalid cursor"
    )
    zendesk.answer_next({"error": {"title": "Not found", "message": "No such account"}}, status=404)
    with pytest.raises(ConnectorError, match=r"404 \(check ZENDESK_URL\): Not found: No such account"):
        await client.me()
