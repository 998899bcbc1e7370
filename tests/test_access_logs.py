"""Operations, continued: one structured access line per request with its request id, /readyz naming
configuration problems and ``touchpoint db upgrade``, and APScheduler's chatter kept out of the log."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.checks.config import config_problem
from adapters.observability import REQUEST_ID_HEADER, Observability
from adapters.web import build_web_app
from bot import log as bot_log
from bot.metrics import Metrics
from bot.settings import Settings
from storage.db import Database

Client = TestClient[web.Request, web.Application]


@pytest.fixture
def log_lines(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The real logging set-up (JSON) writing to a buffer, at INFO (or the level given indirectly)."""
    buffer = io.StringIO()
    saved = structlog.get_config()
    level = getattr(request, "param", "INFO")
    bot_log.configure(level=level, json=True, stream=buffer)

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]

    yield lines
    structlog.configure(**saved)


@pytest.fixture
async def client_of() -> AsyncIterator[Any]:
    started: list[Client] = []

    async def make(observability: Observability, **routes: Any) -> Client:
        app = build_web_app(observability=observability)
        for path, handler in routes.items():
            app.router.add_get(f"/{path}", handler)
        client: Client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        started.append(client)
        return client

    yield make
    for client in started:
        await client.close()


def access(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["event"] == "http_request"]


async def test_one_access_line_per_request_with_its_request_id(log_lines: Any, client_of: Any) -> None:
    async def hello(_request: web.Request) -> web.Response:
        return web.json_response({"hello": "world"})

    async def broken(_request: web.Request) -> web.Response:
        raise web.HTTPForbidden()

    client = await client_of(Observability(metrics=Metrics()), hello=hello, broken=broken)
    ok = await client.get("/hello?token=xoxb-1-secret", headers={REQUEST_ID_HEADER: "req-1"})
    forbidden = await client.get("/broken")
    missing = await client.post("/nowhere")
    lines = access(log_lines())
    assert [(line["method"], line["path"], line["status"], line["request_id"]) for line in lines] == [
        ("GET", "/hello", 200, "req-1"),
        ("GET", "/broken", 403, forbidden.headers[REQUEST_ID_HEADER]),
        ("POST", "/nowhere", 404, missing.headers[REQUEST_ID_HEADER]),
    ]
    assert ok.status == 200
    assert all(isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0 for line in lines)
    assert {line["level"] for line in lines} == {"info"}
    assert "xoxb" not in json.dumps(lines)  # the query string is never logged


async def test_probe_requests_are_logged_only_at_debug(log_lines: Any, client_of: Any) -> None:
    client = await client_of(Observability(metrics=Metrics()))
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/metrics")).status == 200
    assert access(log_lines()) == []


@pytest.mark.parametrize("log_lines", ["DEBUG"], indirect=True)
async def test_probe_requests_at_debug(log_lines: Any, client_of: Any) -> None:
    client = await client_of(Observability(metrics=Metrics()))
    await client.get("/healthz")
    [line] = access(log_lines())
    assert (line["path"], line["status"], line["level"]) == ("/healthz", 200, "debug")


# ------------------------------------------------------------------------------------------ /readyz


async def test_readyz_names_a_config_typo_made_while_running(
    sqlite_db: Database, tmp_path: Path, client_of: Any
) -> None:
    settings = Settings(database_url=sqlite_db.url, config_file=tmp_path / "touchpoint.toml")  # type: ignore[call-arg]
    observability = Observability(
        metrics=Metrics(), db=sqlite_db, config_check=lambda: config_problem(settings)
    )
    client = await client_of(observability)
    response = await client.get("/readyz")
    assert response.status == 200
    assert (await response.json())["checks"] == {"config": "ok", "database": "ok", "migrations": "ok"}

    (tmp_path / "touchpoint.toml").write_text('[feedback]\ncx_chanel = "slack:C1"\n', encoding="utf-8")
    response = await client.get("/readyz")
    body = await response.json()
    assert response.status == 503
    assert list(body["failed"]) == ["config"]
    assert body["failed"]["config"].startswith(
        f"{tmp_path / 'touchpoint.toml'}: feedback.cx_chanel: unknown key"
    )


async def test_readyz_names_touchpoint_db_upgrade(tmp_path: Path, client_of: Any) -> None:
    empty = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        client = await client_of(Observability(metrics=Metrics(), db=empty))
        body = await (await client.get("/readyz")).json()
    finally:
        await empty.dispose()
    assert body["failed"] == {"migrations": "not at the latest revision (run touchpoint db upgrade)"}


# ------------------------------------------------------------------------------------- APScheduler


@pytest.mark.parametrize(
    ("level", "expected"), [("INFO", logging.WARNING), ("WARNING", logging.WARNING), ("DEBUG", logging.DEBUG)]
)
def test_apscheduler_says_only_warnings_unless_debugging(level: str, expected: int) -> None:
    saved = structlog.get_config()
    try:
        bot_log.configure(level=level, json=True, stream=io.StringIO())
        assert logging.getLogger("apscheduler").getEffectiveLevel() == expected
        assert logging.getLogger("apscheduler.scheduler").isEnabledFor(logging.INFO) is (
            expected <= logging.INFO
        )
    finally:
        structlog.configure(**saved)
