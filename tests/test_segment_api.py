"""Segment Spec calls over real HTTP into ``POST /api/v1/segment``, then counted into daily usage metrics.

The payloads follow the Segment Spec (common fields, ``track``, ``group``, ``page``, the HTTP API's
``{"batch": [...]}``); the clock is fixed, so "late" and "today" never depend on the day the tests run.
On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from adapters.api import IngestLimits, add_ingest_routes
from adapters.connectors.config import load_connectors_config
from adapters.connectors.runs import SyncOutcome, run_sync
from adapters.connectors.segment.counts import SegmentCounts
from adapters.connectors.sources_config import SegmentConfig
from bot.settings import Settings, get_settings
from storage.api_tokens import create_token
from storage.db import Database
from storage.models import Account, Person, ProductEvent, ProductUser
from tests.factories import usage_series

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
TODAY = NOW.date()
CONFIG = """
[connectors.segment]
features = { "Report Exported" = "reports", "Dashboard Shared" = "sharing", "Alert Created" = "alerts" }
seats_trait = "seats"
"""


def call(kind: str, message_id: str, user: str, at: datetime = NOW, **fields: Any) -> dict[str, Any]:
    """A Spec call as Segment delivers it: common fields plus the type's own."""
    body: dict[str, Any] = {
        "type": kind,
        "messageId": message_id,
        "userId": user,
        "timestamp": at.isoformat().replace("+00:00", "Z"),
        "context": {"library": {"name": "analytics.js", "version": "2.11.1"}},
    }
    body.update(fields)
    return body


def track(message_id: str, user: str, event: str, at: datetime = NOW, **fields: Any) -> dict[str, Any]:
    return call("track", message_id, user, at, event=event, properties=fields.pop("properties", {}), **fields)


def group(message_id: str, user: str, group_id: str, at: datetime = NOW, **traits: Any) -> dict[str, Any]:
    return call("group", message_id, user, at, groupId=group_id, traits=traits)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    (tmp_path / "touchpoint.toml").write_text(CONFIG)
    monkeypatch.setenv("TOUCHPOINT_CONFIG_FILE", str(tmp_path / "touchpoint.toml"))
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def config(settings: Settings) -> SegmentConfig:
    found = load_connectors_config(settings.config_file).segment
    assert found is not None
    return found


@pytest.fixture
async def client(db: Database, settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    app = web.Application()
    limits = IngestLimits(requests_per_minute=1000, segment_requests_per_minute=1000, max_records=500)
    add_ingest_routes(app, db=db, settings=settings, limits=limits, clock=lambda: NOW)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()


@pytest.fixture
async def token(db: Database) -> str:
    return (await create_token(db, "segment-destination", ["segment"])).secret


async def add_accounts(db: Database, *external_ids: str) -> None:
    async with db.transaction() as session:
        person = Person(email="ana@example.com", name="Ana", role="csm")
        session.add(person)
        await session.flush()
        for external_id in external_ids:
            session.add(Account(external_id=external_id, name=external_id, name_key=external_id.lower()))


async def post(client: TestClient[Any, Any], token: str, body: Any) -> tuple[int, dict[str, Any]]:
    response = await client.post(
        "/api/v1/segment", data=json.dumps(body), headers={"Authorization": f"Bearer {token}"}
    )
    return response.status, await response.json()


async def count(
    db: Database, config: SegmentConfig, *, now: datetime = NOW, full: bool = False
) -> SyncOutcome:
    counts = SegmentCounts(db, config, clock=lambda: now, default_timezone="UTC")

    async def work(tally: Any, lease: Any) -> None:
        await counts.run(tally, lease, full=full, dry_run=False)

    return await run_sync(db, "segment", work, full=full, dry_run=False, clock=lambda: now)


async def stored(db: Database) -> int:
    async with db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(ProductEvent))).scalar_one())


async def test_a_token_must_be_allowed_to_send_segment_calls(
    db: Database, client: TestClient[Any, Any]
) -> None:
    status, body = await post(client, "nope", track("m1", "u1", "Report Exported"))
    assert (status, body) == (401, {"error": "invalid or revoked token"})
    usage_only = (await create_token(db, "csv-sync", ["usage"])).secret
    status, body = await post(client, usage_only, track("m1", "u1", "Report Exported"))
    assert (status, body) == (403, {"error": "this token may not send segment"})
    assert await stored(db) == 0


async def test_a_batch_is_stored_once_and_counted_per_account_and_day(
    db: Database, client: TestClient[Any, Any], token: str, config: SegmentConfig
) -> None:
    await add_accounts(db, "acme", "globex")
    yesterday = NOW - timedelta(days=1)
    batch = [
        group("g1", "u1", "acme", yesterday, seats=25, name="Acme"),
        group("g2", "u2", "acme", yesterday),
        group("g3", "u3", "globex", yesterday, seats=10),
        track("t1", "u1", "Report Exported", yesterday),
        track("t2", "u1", "Report Exported", yesterday),  # the same user again: one active user
        track("t3", "u2", "Dashboard Shared", yesterday),
        call("page", "p1", "u3", yesterday, name="Pricing", properties={"path": "/pricing"}),
        track("t4", "u1", "Alert Created", NOW),
        call("identify", "i1", "u1", NOW, traits={"email": "jo@acme.com"}),
    ]
    status, body = await post(client, token, {"batch": batch})
    assert status == 200, body
    assert body == {"accepted": 7, "duplicates": 0, "late": 0, "ignored": 2, "waiting_for_account": 0}
    # Segment retries a delivery it got no answer to: the same messageIds are recognised.
    status, body = await post(client, token, {"batch": batch})
    assert body == {"accepted": 0, "duplicates": 7, "late": 0, "ignored": 2, "waiting_for_account": 0}
    assert await stored(db) == 7

    outcome = await count(db, config)
    assert outcome.error is None
    day_before = TODAY - timedelta(days=1)
    assert await usage_series(db, "acme", "active_users") == {day_before: 2.0, TODAY: 1.0}
    assert await usage_series(db, "globex", "active_users") == {day_before: 1.0, TODAY: 0.0}
    assert await usage_series(db, "acme", "features_adopted") == {day_before: 2.0, TODAY: 3.0}
    assert await usage_series(db, "acme", "features_available") == {day_before: 3.0, TODAY: 3.0}
    assert await usage_series(db, "acme", "licensed_seats") == {day_before: 25.0, TODAY: 25.0}
    assert await usage_series(db, "globex", "licensed_seats") == {day_before: 10.0, TODAY: 10.0}


async def test_late_events_land_on_their_day_and_too_late_ones_are_not_counted(
    db: Database, client: TestClient[Any, Any], token: str, config: SegmentConfig
) -> None:
    await add_accounts(db, "acme")
    await post(client, token, group("g1", "u1", "acme", NOW - timedelta(days=20)))
    await count(db, config)
    six_days_ago = NOW - timedelta(days=6)
    status, body = await post(
        client,
        token,
        {
            "batch": [
                track("t1", "u1", "Report Exported", six_days_ago),
                track("t2", "u1", "Report Exported", NOW - timedelta(days=8)),
            ]
        },
    )
    assert (status, body["accepted"], body["late"]) == (200, 1, 1)
    await count(db, config)
    active = await usage_series(db, "acme", "active_users")
    assert active[six_days_ago.date()] == 1.0
    assert sum(active.values()) == 1.0
    adopted = await usage_series(db, "acme", "features_adopted")
    # The late event's feature counts from its day to today: it is inside every 30-day window since.
    assert {day: value for day, value in adopted.items() if value} == {
        six_days_ago.date() + timedelta(days=n): 1.0 for n in range(7)
    }


async def test_events_of_an_unknown_account_wait_and_count_once_it_exists(
    db: Database, client: TestClient[Any, Any], token: str, config: SegmentConfig
) -> None:
    _, body = await post(
        client, token, {"batch": [group("g1", "u9", "initech"), track("t1", "u9", "Report Exported")]}
    )
    assert body["waiting_for_account"] == 1  # the group call gives no seats: only the track call is kept
    # A user whose group call has not come yet: kept without an account.
    _, body = await post(client, token, track("t2", "u10", "Report Exported"))
    assert body["waiting_for_account"] == 1
    outcome = await count(db, config)
    problems = {p["record"]: p["problem"] for p in outcome.tally.problems}
    assert problems["initech"].startswith("1 event since 2026-03-10: no account has this external id")
    assert "(users without a group call)" in problems

    await add_accounts(db, "initech")
    await post(client, token, group("g2", "u10", "initech"))
    outcome = await count(db, config)
    assert outcome.tally.problems == type(outcome.tally.problems)()
    assert await usage_series(db, "initech", "active_users") == {TODAY: 2.0}
    async with db.sessions() as session:
        users = dict((await session.execute(select(ProductUser.user, ProductUser.account_key))).all())
    assert users == {"u9": "initech", "u10": "initech"}


async def test_a_malformed_batch_is_refused_whole_with_every_problem(
    db: Database, client: TestClient[Any, Any], token: str
) -> None:
    bad = {"type": "track", "userId": "u1", "event": "Report Exported"}  # no messageId
    status, body = await post(
        client,
        token,
        {"batch": [track("t1", "u1", "Report Exported"), bad, {**track("t3", "u1", "x"), "type": "launch"}]},
    )
    assert status == 400
    fields = {(e["index"], e["field"]) for e in body["errors"]}
    assert (1, "messageId") in fields and (2, "type") in fields
    assert await stored(db) == 0


async def test_oversized_requests_get_413(db: Database, client: TestClient[Any, Any], token: str) -> None:
    calls = [track(f"t{n}", "u1", "Report Exported") for n in range(501)]
    status, body = await post(client, token, {"batch": calls})
    assert (status, body) == (413, {"error": "501 calls: at most 500 per request"})
    assert await stored(db) == 0


async def test_a_token_over_its_rate_gets_429_with_retry_after(db: Database, settings: Settings) -> None:
    app = web.Application()
    add_ingest_routes(
        app, db=db, settings=settings, limits=IngestLimits(segment_requests_per_minute=2), clock=lambda: NOW
    )
    secret = (await create_token(db, "segment", ["segment"])).secret
    async with TestClient(TestServer(app)) as client:
        statuses = []
        for n in range(3):
            response = await client.post(
                "/api/v1/segment",
                data=json.dumps(track(f"t{n}", "u1", "Report Exported")),
                headers={"Authorization": f"Bearer {secret}"},
            )
            statuses.append(response.status)
        assert statuses == [200, 200, 429]
        assert int(response.headers["Retry-After"]) >= 1
