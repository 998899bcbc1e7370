"""Hostile requests to the ingest API over real HTTP: each gets a 4xx naming the problem, nothing is
written, and no traceback is logged; a database that cannot be reached is a 503 with Retry-After.

One table: kind, the raw body, the status, and the (field, words of the problem) of a 422 or the words
of the error otherwise. On SQLite and PostgreSQL alike (a NUL that PostgreSQL refuses is refused first).
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from structlog.testing import capture_logs

from adapters.api import IngestLimits, add_ingest_routes
from bot.settings import Settings, get_settings
from storage.api_tokens import create_token
from storage.db import Database
from storage.models import Base

PEOPLE = [{"email": "ana@example.com", "name": "Ana", "role": "csm"}]
ACCOUNTS = [{"external_id": "A1", "name": "Acme", "owner_email": "ana@example.com", "arr": 1000}]


def usage(value: str) -> str:
    return f'[{{"account_external_id":"A1","date":"2026-11-01","metric":"logins","value":{value}}}]'


def survey(**fields: Any) -> str:
    record = {"account_external_id": "A1", "kind": "nps", "score": 3, "submitted_at": "2026-11-01T10:00:00Z"}
    return json.dumps({**record, **fields}).join("[]")


def account(**fields: Any) -> str:
    return json.dumps({**ACCOUNTS[0], **fields}).join("[]")


NAME_WITH_SURROGATE = '[{"external_id":"A2","name":"Ac\\ud800me","owner_email":"ana@example.com"}]'
DAYS = "out of range (1900-01-01 to 2200-12-31)"
SUBMITTED = ("submitted_at", DAYS)
NOT_A_DATE = ("submitted_at", "not a date")
NINES = int("9" * 400)
# (id, kind, body, status, (field, problem words) for a 422, or the words of the error)
HOSTILE: list[tuple[str, str, str | bytes, int, tuple[str | None, str] | str]] = [
    ("value-400-digits", "usage", usage("9" * 400), 422, ("value", "out of range (-10^15 to 10^15)")),
    ("value-5000-digits", "usage", usage("9" * 5000), 400, "not valid JSON"),
    ("value-1e308", "usage", usage("1e308"), 422, ("value", "out of range (-10^15 to 10^15)")),
    ("value-1e999", "usage", usage("1e999"), 422, ("value", "not a finite number")),
    ("value-NaN", "usage", usage("NaN"), 400, "NaN is not a JSON number"),
    ("value-Infinity", "usage", usage("-Infinity"), 400, "-Infinity is not a JSON number"),
    ("arr-1e308", "accounts", account(arr=1e308), 422, ("arr", "not an amount with at most 12 digits")),
    ("arr-400-digits", "accounts", account(arr=int("9" * 400)), 422, ("arr", "not an amount")),
    ("score-400-digits", "surveys", survey(score=NINES), 422, ("score", "out of range")),
    ("date-plus-14h-on-day-1", "surveys", survey(submitted_at="0001-01-01T00:00:00+14:00"), 422, SUBMITTED),
    ("date-0001-01-01+14:00", "surveys", survey(submitted_at="0001-01-01+14:00"), 422, NOT_A_DATE),
    ("date-infinity", "accounts", account(renewal_date="9999-12-31"), 422, ("renewal_date", DAYS)),
    ("date-minus-infinity", "accounts", account(contract_start="0001-01-01"), 422, ("contract_start", DAYS)),
    ("date-2201", "surveys", survey(submitted_at="2200-12-31T23:30:00-01:00"), 422, SUBMITTED),
    ("name-nul", "accounts", account(name="Ac\x00me"), 422, ("name", "contains a NUL character")),
    ("name-lone-surrogate", "accounts", NAME_WITH_SURROGATE, 422, ("name", "lone surrogate")),
    ("comment-nul", "surveys", survey(comment="bad\x00"), 422, ("comment", "contains a NUL character")),
    ("comment-1mb", "surveys", survey(comment="x" * 1_000_000), 422, ("comment", "longer than 10,000")),
    ("nested-arrays", "usage", "[" * 100_000 + "]" * 100_000, 400, "nests deeper than 8 levels"),
    ("nested-objects", "usage", '{"a":' * 50_000 + "1" + "}" * 50_000, 400, "nests deeper than 8 levels"),
    ("nested-in-a-record", "usage", usage("[" * 20 + "]" * 20), 400, "nests deeper than 8 levels"),
    ("not-utf8", "usage", b'[{"metric":"\xff"}]', 400, "not UTF-8"),
]  # fmt: skip


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TOUCHPOINT_CONFIG_FILE", str(tmp_path / "touchpoint.toml"))
    get_settings.cache_clear()
    return get_settings()


async def _start(db: Database, settings: Settings) -> TestClient[Any, Any]:
    app = web.Application()
    add_ingest_routes(app, db=db, settings=settings, limits=IngestLimits(requests_per_minute=1000))
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def client(db: Database, settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    c = await _start(db, settings)
    yield c
    await c.close()


async def _counts(db: Database) -> dict[str, int]:
    async with db.sessions() as s:
        return {
            t.name: (await s.execute(select(func.count()).select_from(t))).scalar_one()
            for t in Base.metadata.sorted_tables
            # A token's last use moves; a 422 is kept as the answer to its Idempotency-Key.
            if t.name not in ("api_token", "idempotency_record")
        }


@pytest.mark.parametrize(
    ("kind", "body", "status", "expected"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE]
)
async def test_a_hostile_request_gets_a_4xx_and_writes_nothing(
    db: Database,
    client: TestClient[Any, Any],
    kind: str,
    body: str | bytes,
    status: int,
    expected: tuple[str | None, str] | str,
) -> None:
    auth = {"Authorization": f"Bearer {(await create_token(db, 'crm')).secret}"}
    for seed_kind, records in (("people", PEOPLE), ("accounts", ACCOUNTS)):
        assert (await client.post(f"/api/v1/{seed_kind}", json=records, headers=auth)).status == 200
    before = await _counts(db)
    data = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    headers = {**auth, "Content-Type": "application/json", "Idempotency-Key": f"k-{kind}"}
    with capture_logs() as logs:
        response = await client.post(f"/api/v1/{kind}", data=data, headers=headers)
        answer = await response.json()
    assert response.status == status, answer
    if isinstance(expected, tuple):
        field, words = expected
        assert [(e["index"], e["field"]) for e in answer["errors"]] == [(0, field)], answer
        assert words in answer["errors"][0]["problem"]
    else:
        assert expected in answer["error"]
    assert not [e for e in logs if e.get("exc_info") or e["log_level"] in ("error", "critical")]
    assert await _counts(db) == before


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A local port that refuses connections: bound, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
async def unreachable(db: Database, tmp_path: Path, refused_port: int) -> AsyncIterator[Database]:
    """The same kind of database as ``db``, but one that cannot be reached."""
    if db.is_sqlite:  # a file that is not a database: every statement fails, as on a broken disk
        broken = tmp_path / "broken.db"
        broken.write_bytes(b"not a database file " * 100)
        url = f"sqlite+aiosqlite:///{broken}"
    else:
        url = make_url(db.url).set(host="127.0.0.1", port=refused_port).render_as_string(hide_password=False)
    down = Database(url)
    yield down
    await down.dispose()


@pytest.mark.parametrize("path", ["/api/v1/people", "/api/v1/usage"])
async def test_a_database_outage_is_a_503_with_retry_after_from_the_token_look_up_on(
    unreachable: Database, settings: Settings, path: str
) -> None:
    client = await _start(unreachable, settings)
    try:
        with capture_logs() as logs:
            response = await client.post(path, json=PEOPLE, headers={"Authorization": "Bearer tp_anything"})
        assert response.status == 503
        assert int(response.headers["Retry-After"]) > 0
        assert "retry later" in (await response.json())["error"]
    finally:
        await client.close()
    assert [(e["event"], e["log_level"]) for e in logs] == [("ingest_database_unavailable", "warning")]
    assert not [e for e in logs if e.get("exc_info")]


async def test_an_outage_after_the_token_look_up_is_a_503_and_gives_the_key_back(
    db: Database, client: TestClient[Any, Any], unreachable: Database
) -> None:
    auth = {"Authorization": f"Bearer {(await create_token(db, 'crm')).secret}", "Idempotency-Key": "k"}
    healthy_engine, healthy_sessions = db.engine, db.sessions
    calls = 0
    original = db.transaction

    def failing_after_the_token_and_claim(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:  # the token, the key's claim, then the records: the database goes away
            return unreachable.transaction()
        return original(*args, **kwargs)

    db.transaction = failing_after_the_token_and_claim  # type: ignore[method-assign]
    try:
        response = await client.post("/api/v1/people", json=PEOPLE, headers=auth)
    finally:
        db.transaction = original  # type: ignore[method-assign]
    assert (db.engine, db.sessions) == (healthy_engine, healthy_sessions)
    assert response.status == 503 and response.headers["Retry-After"]
    retry = await client.post("/api/v1/people", json=PEOPLE, headers=auth)
    assert retry.status == 200, await retry.text()  # the key was given back, so the retry runs
    assert (await retry.json())["inserted"] == 1
