"""The ingest API over real HTTP: tokens, every kind, bad bodies (nothing written), idempotency, rate."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from adapters.api import IngestLimits, add_ingest_routes
from bot.settings import Settings, get_settings
from storage.api_tokens import create_token, revoke_token
from storage.db import Database
from storage.models import (
    Account,
    ArrChange,
    AuditEvent,
    FeedbackItem,
    IdempotencyRecord,
    Milestone,
    Outcome,
    Person,
    SurveyResponse,
    UsageMetric,
)

PEOPLE = [
    {"email": "ana@example.com", "name": "Ana", "role": "csm", "timezone": "Europe/Paris"},
    {"email": "max@example.com", "name": "Max", "role": "cs_manager"},
]
ACCOUNTS = [
    {"external_id": "A1", "name": "Acme", "owner_email": "ana@example.com", "arr": 1200.5},
    {"external_id": "A2", "name": "Globex", "owner_email": "ana@example.com", "renewal_date": "2027-01-31"},
]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TOUCHPOINT_CONFIG_FILE", str(tmp_path / "touchpoint.toml"))
    get_settings.cache_clear()
    return get_settings()


async def _client(
    db: Database, settings: Settings, limits: IngestLimits | None = None
) -> TestClient[Any, Any]:
    app = web.Application()
    add_ingest_routes(app, db=db, settings=settings, limits=limits)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def client(db: Database, settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    c = await _client(db, settings)
    yield c
    await c.close()


async def _token(db: Database, name: str = "crm", kinds: list[str] | None = None) -> dict[str, str]:
    made = await create_token(db, name, kinds)
    return {"Authorization": f"Bearer {made.secret}"}


async def _count(db: Database, model: Any) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _seed(client: TestClient[Any, Any], auth: dict[str, str]) -> None:
    for kind, records in (("people", PEOPLE), ("accounts", ACCOUNTS)):
        response = await client.post(f"/api/v1/{kind}", json=records, headers=auth)
        assert response.status == 200, await response.text()


async def test_every_kind_upserts(db: Database, client: TestClient[Any, Any]) -> None:
    auth = await _token(db)
    response = await client.post("/api/v1/people", json=PEOPLE, headers=auth)
    assert response.status == 200
    assert await response.json() == {
        "kind": "people",
        "records": 2,
        "inserted": 2,
        "updated": 0,
        "unchanged": 0,
    }
    response = await client.post("/api/v1/accounts", json=ACCOUNTS, headers=auth)
    assert (await response.json())["inserted"] == 2
    usage = [
        {"account_external_id": "A1", "date": "2026-11-01", "metric": "logins", "value": 12},
        {"account_external_id": "A1", "date": "2026-11-02", "metric": "logins", "value": 3.5},
    ]
    response = await client.post("/api/v1/usage", json=usage, headers=auth)
    assert (await response.json())["inserted"] == 2
    usage[0]["value"] = 13
    response = await client.post("/api/v1/usage", json=usage, headers=auth)
    assert await response.json() == {
        "kind": "usage",
        "records": 2,
        "inserted": 0,
        "updated": 1,
        "unchanged": 1,
    }
    milestones = [
        {"account_external_id": "A2", "name": "Kickoff", "due_date": "2026-12-01", "kind": "kickoff"}
    ]
    response = await client.post("/api/v1/milestones", json=milestones, headers=auth)
    assert (await response.json())["inserted"] == 1
    outcomes: list[dict[str, Any]] = [
        {"account_external_id": "A2", "title": "Go live in every region", "due_date": "2027-03-31"},
        {
            "account_external_id": "A1",
            "title": "50 weekly active users",
            "metric": "active_users",
            "target": ">= 50",
            "due_date": "2027-03-31",
            "customer_owner": "Dana (VP Ops)",
        },
    ]
    response = await client.post("/api/v1/outcomes", json=outcomes, headers=auth)
    assert (await response.json())["inserted"] == 2
    outcomes[1]["metric"] = "happiness"
    response = await client.post("/api/v1/outcomes", json=outcomes, headers=auth)
    assert response.status == 422
    assert "happiness" in await response.text()
    from datetime import UTC, datetime

    now = datetime.now(UTC).isoformat(timespec="seconds")
    surveys = [
        {"account_external_id": "A1", "kind": "nps", "score": 2, "submitted_at": now, "comment": "Too slow"},
        {"account_external_id": "A2", "kind": "csat", "score": 5, "submitted_at": now, "external_id": "s-2"},
    ]
    response = await client.post("/api/v1/surveys", json=surveys, headers=auth)
    assert response.status == 200
    body = await response.json()
    assert body["inserted"] == 2 and body["feedback_items"] == 1
    assert await _count(db, Person) == 2
    assert await _count(db, Account) == 2
    assert await _count(db, UsageMetric) == 2
    assert await _count(db, Milestone) == 1
    assert await _count(db, Outcome) == 2
    assert await _count(db, SurveyResponse) == 2
    assert await _count(db, FeedbackItem) == 1
    async with db.sessions() as session:
        value = await session.scalar(
            select(UsageMetric.value).where(UsageMetric.metric == "logins").order_by(UsageMetric.day)
        )
    assert value == 13


async def test_accounts_keep_their_arr_history_with_the_api_as_source(
    db: Database, client: TestClient[Any, Any]
) -> None:
    auth = await _token(db)
    await _seed(client, auth)  # A1 has an ARR, A2 none

    async def history() -> list[tuple[str, Any, Any, str]]:
        async with db.sessions() as session:
            rows = await session.execute(
                select(Account.external_id, ArrChange.arr, ArrChange.previous_arr, ArrChange.source)
                .join(Account, Account.id == ArrChange.account_id)
                .order_by(ArrChange.id)
            )
            return [tuple(row) for row in rows]  # type: ignore[misc]

    assert await history() == [("A1", Decimal("1200.50"), None, "api")]
    response = await client.post("/api/v1/accounts", json=ACCOUNTS, headers=auth)  # the same again
    assert (await response.json())["unchanged"] == 2
    changed = [{**ACCOUNTS[0], "arr": 1500}, {**ACCOUNTS[1], "arr": 300}]
    response = await client.post("/api/v1/accounts", json=changed, headers=auth)
    assert (await response.json())["updated"] == 2
    assert await history() == [
        ("A1", Decimal("1200.50"), None, "api"),
        ("A1", Decimal("1500"), Decimal("1200.50"), "api"),
        ("A2", Decimal("300"), None, "api"),
    ]


async def test_bad_and_revoked_tokens(db: Database, client: TestClient[Any, Any]) -> None:
    for headers in ({}, {"Authorization": "Bearer tp_nope"}, {"Authorization": "Basic abc"}):
        response = await client.post("/api/v1/people", json=PEOPLE, headers=headers)
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    auth = await _token(db, "old")
    await revoke_token(db, "old")
    response = await client.post("/api/v1/people", json=PEOPLE, headers=auth)
    assert response.status == 401
    assert await _count(db, Person) == 0


async def test_token_limited_to_a_kind(db: Database, client: TestClient[Any, Any]) -> None:
    auth = await _token(db, "people-only", ["people"])
    response = await client.post("/api/v1/accounts", json=ACCOUNTS, headers=auth)
    assert response.status == 403
    response = await client.post("/api/v1/people", json=PEOPLE, headers=auth)
    assert response.status == 200
    assert await _count(db, Account) == 0


async def test_bad_records_write_nothing(db: Database, client: TestClient[Any, Any]) -> None:
    auth = await _token(db)
    await _seed(client, auth)
    usage = [
        {"account_external_id": "A1", "date": "2026-11-01", "metric": "logins", "value": 1},
        {"account_external_id": "A1", "date": "2026-11-02", "metric": "logins", "value": "many"},
        {"account_external_id": "A9", "date": "2026-11-03", "metric": "logins", "value": 1},
        {"account_external_id": "A1", "metric": "logins", "value": 1, "colour": "red"},
        "not an object",
        {"account_external_id": "A1", "date": "2026-13-01", "metric": "logins", "value": 1},
        {"account_external_id": "A1", "date": "2026-11-01", "metric": "logins", "value": 2},
    ]
    response = await client.post("/api/v1/usage", json=usage, headers=auth)
    assert response.status == 422
    errors = (await response.json())["errors"]
    places = {(e["index"], e["field"]) for e in errors}
    assert (1, "value") in places
    assert (2, "account_external_id") in places
    assert (3, "date") in places and (3, "colour") in places
    assert (4, None) in places
    assert (5, "date") in places
    assert any(e["index"] == 6 and "duplicate of record 0" in e["problem"] for e in errors)
    assert 0 not in {e["index"] for e in errors}
    assert await _count(db, UsageMetric) == 0

    surveys = [
        {"account_external_id": "A1", "kind": "nps", "score": 11, "submitted_at": "2026-11-01T10:00:00Z"}
    ]
    response = await client.post("/api/v1/surveys", json=surveys, headers=auth)
    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == "score"
    assert await _count(db, SurveyResponse) == 0


async def test_bad_bodies(db: Database, client: TestClient[Any, Any]) -> None:
    auth = await _token(db)
    await _seed(client, auth)
    response = await client.post("/api/v1/usage", data=b"{not json", headers=auth)
    assert response.status == 400
    response = await client.post("/api/v1/usage", json={"records": []}, headers=auth)
    assert response.status == 422
    assert (await response.json())["errors"][0]["index"] is None
    record = {"account_external_id": "A1", "date": "2026-11-01", "metric": "logins", "value": 1}
    response = await client.post("/api/v1/usage", json=[record] * 5_001, headers=auth)
    assert response.status == 413
    huge = b"[" + b" " * (6 * 1024 * 1024) + b"]"
    response = await client.post("/api/v1/usage", data=io.BytesIO(huge), headers=auth)
    assert response.status == 413
    assert await _count(db, UsageMetric) == 0
    records = [
        {"account_external_id": "A1", "date": "2026-11-01", "metric": f"m{i}", "value": i}
        for i in range(5_000)
    ]
    response = await client.post("/api/v1/usage", json=records, headers=auth)
    assert response.status == 200
    assert await _count(db, UsageMetric) == 5_000


async def test_idempotent_retry(db: Database, client: TestClient[Any, Any]) -> None:
    auth = await _token(db)
    await _seed(client, auth)
    audits = await _count(db, AuditEvent)
    usage = [{"account_external_id": "A1", "date": "2026-11-01", "metric": "logins", "value": 1}]
    headers = {**auth, "Idempotency-Key": "batch-1"}
    first = await client.post("/api/v1/usage", json=usage, headers=headers)
    assert first.status == 200
    body = await first.json()
    assert body["inserted"] == 1
    again = await client.post("/api/v1/usage", json=usage, headers=headers)
    assert again.status == 200
    assert await again.json() == body  # the first answer, not "unchanged"
    assert await _count(db, AuditEvent) == audits + 1
    assert await _count(db, IdempotencyRecord) == 1
    other = await client.post(
        "/api/v1/usage", json=usage + usage[:0] + [{**usage[0], "metric": "x"}], headers=headers
    )
    assert other.status == 422
    assert await _count(db, UsageMetric) == 1


async def test_rate_limit(db: Database, settings: Settings) -> None:
    client = await _client(db, settings, IngestLimits(requests_per_minute=3))
    try:
        auth = await _token(db)
        statuses = [(await client.post("/api/v1/people", json=[], headers=auth)).status for _ in range(3)]
        assert statuses == [200, 200, 200]
        response = await client.post("/api/v1/people", json=PEOPLE, headers=auth)
        assert response.status == 429
        assert int(response.headers["Retry-After"]) >= 1
        other = await _token(db, "other")
        assert (await client.post("/api/v1/people", json=[], headers=other)).status == 200
        assert await _count(db, Person) == 0
    finally:
        await client.close()


async def test_openapi(db: Database, client: TestClient[Any, Any]) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    document = json.loads(await response.text())
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {
        f"/api/v1/{k}" for k in ("people", "accounts", "usage", "surveys", "milestones", "outcomes")
    }
    schemas = document["components"]["schemas"]
    assert "score" in schemas["SurveyRecord"]["properties"]
    assert schemas["UsageRecord"]["additionalProperties"] is False
