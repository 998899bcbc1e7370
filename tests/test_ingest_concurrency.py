"""Several identical ingest requests at the same moment, over real HTTP, on SQLite and PostgreSQL.

The ARR history is read, compared and written as one step per request, so eight identical account
requests record each real change once and all answer 200; two requests sharing an Idempotency-Key
write once, and the other one gets the replayed answer or a 409 "in progress", never a 500.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, update

from adapters.api import IngestLimits, add_ingest_routes
from adapters.api.idempotency import STALE_CLAIM, Idempotency
from bot.settings import Settings, get_settings
from storage.api_tokens import create_token
from storage.db import Database
from storage.models import Account, ApiToken, ArrChange, AuditEvent, IdempotencyRecord, UsageMetric
from storage.types import utcnow

CONCURRENT = 8
PEOPLE = [{"email": "ana@example.com", "name": "Ana", "role": "csm"}]
ACCOUNTS = [
    {"external_id": f"A{i}", "name": f"Account {i}", "owner_email": "ana@example.com", "arr": 10_000}
    for i in range(5)
]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TOUCHPOINT_CONFIG_FILE", str(tmp_path / "touchpoint.toml"))
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
async def client(db: Database, settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    app = web.Application()
    add_ingest_routes(app, db=db, settings=settings, limits=IngestLimits(requests_per_minute=1000))
    c: TestClient[Any, Any] = TestClient(TestServer(app))
    await c.start_server()
    yield c
    await c.close()


@pytest.fixture
async def auth(db: Database) -> dict[str, str]:
    made = await create_token(db, "crm")
    return {"Authorization": f"Bearer {made.secret}"}


async def _post_all(
    client: TestClient[Any, Any], kind: str, records: list[dict[str, Any]], headers: dict[str, str]
) -> list[tuple[int, str]]:
    async def one() -> tuple[int, str]:
        response = await client.post(f"/api/v1/{kind}", json=records, headers=headers)
        return response.status, await response.text()

    return list(await asyncio.gather(*(one() for _ in range(CONCURRENT))))


async def _history(db: Database) -> dict[str, list[tuple[Decimal | None, Decimal | None]]]:
    async with db.sessions() as session:
        rows = await session.execute(
            select(Account.external_id, ArrChange.previous_arr, ArrChange.arr)
            .join(Account, Account.id == ArrChange.account_id)
            .order_by(Account.external_id, ArrChange.id)
        )
        found: dict[str, list[tuple[Decimal | None, Decimal | None]]] = {}
        for external_id, previous, arr in rows:
            found.setdefault(external_id, []).append((previous, arr))
        return found


async def test_identical_account_requests_at_once_record_each_arr_change_once(
    db: Database, client: TestClient[Any, Any], auth: dict[str, str]
) -> None:
    assert (await client.post("/api/v1/people", json=PEOPLE, headers=auth)).status == 200
    first = await _post_all(client, "accounts", ACCOUNTS, auth)  # new accounts, all at once
    assert [status for status, _ in first] == [200] * CONCURRENT, first
    raised = [{**record, "arr": 14_000} for record in ACCOUNTS]
    second = await _post_all(client, "accounts", raised, auth)
    assert [status for status, _ in second] == [200] * CONCURRENT, second
    history = await _history(db)
    assert set(history) == {record["external_id"] for record in ACCOUNTS}
    for rows in history.values():
        assert rows == [(None, Decimal("10000.00")), (Decimal("10000.00"), Decimal("14000.00"))]
    changes = sum((arr or 0) - (previous or 0) for rows in history.values() for previous, arr in rows[1:])
    assert changes == Decimal(4_000) * len(ACCOUNTS)


async def test_requests_sharing_an_idempotency_key_write_once(
    db: Database, client: TestClient[Any, Any], auth: dict[str, str]
) -> None:
    assert (await client.post("/api/v1/people", json=PEOPLE, headers=auth)).status == 200
    assert (await client.post("/api/v1/accounts", json=ACCOUNTS[:1], headers=auth)).status == 200
    async with db.sessions() as session:
        audits = int(await session.scalar(select(func.count()).select_from(AuditEvent)) or 0)
    usage = [{"account_external_id": "A0", "date": "2026-11-01", "metric": "logins", "value": 3}]
    answers = await _post_all(client, "usage", usage, {**auth, "Idempotency-Key": "same-key"})
    statuses = sorted(status for status, _ in answers)
    assert set(statuses) <= {200, 409}, answers
    assert 200 in statuses
    written = [text for status, text in answers if status == 200]
    assert len(set(written)) == 1  # the first answer, replayed
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(UsageMetric)) == 1
        assert await session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1
        assert await session.scalar(select(func.count()).select_from(AuditEvent)) == audits + 1
    again = await client.post("/api/v1/usage", json=usage, headers={**auth, "Idempotency-Key": "same-key"})
    assert again.status == 200
    assert await again.text() == written[0]


async def test_a_key_still_in_progress_answers_409_and_a_stale_claim_is_taken_over(
    db: Database, client: TestClient[Any, Any], auth: dict[str, str]
) -> None:
    """The key's row is claimed before the work starts: while it is in progress a second request with
    the key gets 409 and Retry-After; a claim left by a process that died is taken over later."""
    assert (await client.post("/api/v1/people", json=PEOPLE, headers=auth)).status == 200
    body = json.dumps([{"account_external_id": "A0", "date": "2026-11-01", "metric": "m", "value": 1}])
    async with db.sessions() as session:
        token_id = await session.scalar(select(ApiToken.id))
    assert token_id is not None
    claimed = await Idempotency(db).claim(
        token_id, "k", hashlib.sha256(b"usage\0" + body.encode()).hexdigest()
    )
    assert claimed is None  # as a request that is still writing would hold it
    headers = {**auth, "Idempotency-Key": "k", "Content-Type": "application/json"}
    answer = await client.post("/api/v1/usage", data=body, headers=headers)
    assert answer.status == 409
    assert int(answer.headers["Retry-After"]) > 0
    assert "in progress" in (await answer.json())["error"]
    async with db.transaction() as session:
        await session.execute(
            update(IdempotencyRecord).values(created_at=utcnow() - STALE_CLAIM - timedelta(seconds=1))
        )
    answer = await client.post("/api/v1/usage", data=body, headers=headers)
    assert answer.status == 422  # the stale claim was taken over: the request ran (account A0 is unknown)
    again = await client.post("/api/v1/usage", data=body, headers=headers)
    assert (again.status, await again.json()) == (422, await answer.json())  # and its answer is kept
