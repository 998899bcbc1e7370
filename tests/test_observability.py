"""Operations: /readyz, /metrics, request ids on log lines, secrets kept out of logs, and shutdown
leaving unsent outbox rows in place."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobEvent, JobExecutionEvent
from sqlalchemy import select

from adapters import observability as obs_module
from adapters import runtime
from adapters.observability import REQUEST_ID_HEADER, Observability
from adapters.web import build_web_app
from bot import log as bot_log
from bot.delivery import DeliveryError, DeliveryWorker
from bot.metrics import Metrics
from bot.settings import Settings
from bot.types import Address, Platform, Reply
from handlers import build_bot
from scheduler.runner import CLEANUP_JOB, Scheduler
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus
from tests.slack_env import FIXED_NOW, MAYA, build_demo_file, demo_copy, slack_env
from tests.slack_requests import slash_command

# ------------------------------------------------------------------------------------------ helpers


@pytest.fixture
def log_lines() -> Any:
    """The real logging set-up (JSON) writing to a buffer; returns a function reading the lines."""
    buffer = io.StringIO()
    saved = structlog.get_config()
    bot_log.configure(level="DEBUG", json=True, stream=buffer)

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]

    lines.raw = buffer  # type: ignore[attr-defined]
    yield lines
    structlog.configure(**saved)


async def client_for(observability: Observability, **routes: Any) -> TestClient[web.Request, web.Application]:
    app = build_web_app(observability=observability)
    for path, handler in routes.items():
        app.router.add_get(f"/{path}", handler)
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


@pytest.fixture
async def clients() -> AsyncIterator[list[TestClient[web.Request, web.Application]]]:
    started: list[TestClient[web.Request, web.Application]] = []
    yield started
    for client in started:
        await client.close()


def unreachable(tmp_path: Path) -> Database:
    """A database that cannot be opened: its directory does not exist."""
    return Database(f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'gone.db'}")


def sample(metrics: Metrics, metric: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(metric, labels)


# ------------------------------------------------------------------------------------------ /readyz


async def test_readiness_follows_the_database_down_and_back(
    db: Database, tmp_path: Path, clients: Any
) -> None:
    observability = Observability(metrics=Metrics(), db=db, adapters={"slack": True})
    client = await client_for(observability)
    clients.append(client)

    response = await client.get("/readyz")
    assert response.status == 200
    assert (await response.json())["checks"] == {"database": "ok", "migrations": "ok", "adapter:slack": "ok"}

    down = unreachable(tmp_path)
    observability.db = down
    try:
        response = await client.get("/readyz")
        body = await response.json()
        assert response.status == 503
        assert set(body["failed"]) == {"database", "migrations"}
        assert body["failed"]["database"] != "ok"
    finally:
        await down.dispose()

    observability.db = db
    response = await client.get("/readyz")
    assert response.status == 200
    assert (await client.get("/healthz")).status == 200


async def test_migrations_not_current_or_an_adapter_missing_is_not_ready(
    tmp_path: Path, clients: Any
) -> None:
    empty = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")  # reachable, never migrated
    try:
        client = await client_for(Observability(metrics=Metrics(), db=empty, adapters={"teams": False}))
        clients.append(client)
        response = await client.get("/readyz")
        body = await response.json()
        assert response.status == 503
        assert body["checks"]["database"] == "ok"
        assert set(body["failed"]) == {"migrations", "adapter:teams"}
    finally:
        await empty.dispose()


async def test_the_migration_check_is_cached_once_current(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch, clients: Any
) -> None:
    client = await client_for(Observability(metrics=Metrics(), db=sqlite_db))
    clients.append(client)
    assert (await client.get("/readyz")).status == 200

    async def must_not_run(_db: Database) -> bool:
        raise AssertionError("the migration check ran again")

    monkeypatch.setattr(obs_module, "is_current", must_not_run)
    assert (await client.get("/readyz")).status == 200


async def test_an_app_without_a_database_is_not_ready(clients: Any) -> None:
    client = await client_for(Observability(metrics=Metrics()))
    clients.append(client)
    response = await client.get("/readyz")
    assert response.status == 503
    assert "database" in (await response.json())["failed"]


# ------------------------------------------------------------------------------------------ /metrics


class RecordingSender:
    def __init__(self, outcomes: list[DeliveryError | None]) -> None:
        self.outcomes = outcomes

    async def send(self, address: Address, reply: Reply) -> str | None:
        outcome = self.outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return "external-1"


def message(key: str, *, platform: str = "console", not_before: datetime | None = None) -> outbox.NewMessage:
    return outbox.NewMessage(
        idempotency_key=key,
        purpose="test",
        platform=platform,
        address={"platform": platform, "target": f"T-{key}"},
        payload={"summary": "hello", "blocks": []},
        not_before=not_before,
    )


@pytest.fixture(scope="module")
def demo_file(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_file(sqlite_template, tmp_path_factory.mktemp("obs-demo"))


async def test_metrics_after_a_command_a_delivery_and_a_scheduler_job(
    demo_file: Path, tmp_path: Path
) -> None:
    async with demo_copy(demo_file, tmp_path) as db, slack_env(db, tmp_path) as env:
        metrics = env.bot.metrics
        # A command through Slack.
        answer = await env.post(slash_command("help", user_id=MAYA, response_url=env.fake.response_url()))
        assert answer.status == 200
        await env.fake.wait_for("response_url")
        await env.settle()

        # Deliveries: one sent, one retried, one given up; one more left due in the outbox.
        await outbox.enqueue(
            db,
            [message("a"), message("b"), message("c", platform="nowhere")],
            now=FIXED_NOW - timedelta(minutes=1),
        )
        worker = DeliveryWorker(
            db,
            {Platform.CONSOLE: RecordingSender([None, DeliveryError("http_503")])},
            clock=lambda: FIXED_NOW,
            metrics=metrics,
        )
        await worker.run_once()
        await outbox.enqueue(db, [message("d")], now=FIXED_NOW - timedelta(minutes=5))

        # A scheduler job run, and a missed one.
        scheduler = Scheduler(env.bot.context, metrics=metrics)
        await scheduler.start(paused=True)
        ran: asyncio.Future[JobEvent] = asyncio.get_running_loop().create_future()

        def done(event: JobEvent) -> None:
            if event.job_id == CLEANUP_JOB and not ran.done():
                ran.set_result(event)

        scheduler.aps.add_listener(done, EVENT_JOB_EXECUTED)
        try:
            for job in scheduler.aps.get_jobs():  # only the one job runs, and it ends before the test
                if job.id != CLEANUP_JOB:
                    job.remove()
            scheduler.aps.modify_job(CLEANUP_JOB, next_run_time=datetime.now(UTC))
            scheduler.aps.resume()
            assert isinstance(await asyncio.wait_for(ran, 10), JobExecutionEvent)
        finally:
            scheduler.shutdown()
        scheduler._on_job_event(JobEvent(EVENT_JOB_MISSED, "digest:7", "default"))

        response = await env.http.get(env.server.make_url("/metrics"))
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()

    assert sample(metrics, "touchpoint_command_seconds_count", kind="command", name="help", outcome="ok") == 1
    assert sample(metrics, "touchpoint_http_requests_total", route="/slack/events", outcome="2xx") == 1
    assert sample(metrics, "touchpoint_deliveries_total", platform="console", result="sent") == 1
    assert sample(metrics, "touchpoint_deliveries_total", platform="console", result="retry") == 1
    assert sample(metrics, "touchpoint_deliveries_total", platform="nowhere", result="dead") == 1
    assert sample(metrics, "touchpoint_scheduler_job_runs_total", job=CLEANUP_JOB, outcome="ok") == 1
    assert sample(metrics, "touchpoint_scheduler_job_misses_total", job="digest") == 1
    assert sample(metrics, "touchpoint_outbox_messages", state="due") == 1  # "d"; "b" waits to retry
    assert sample(metrics, "touchpoint_outbox_messages", state="dead") == 1
    assert sample(metrics, "touchpoint_outbox_oldest_due_age_seconds") == 300
    assert sample(metrics, "touchpoint_outbox_stats_up") == 1
    for name in (
        "touchpoint_command_seconds_bucket",
        "touchpoint_http_requests_total",
        "touchpoint_deliveries_total",
        "touchpoint_scheduler_job_runs_total",
        "touchpoint_outbox_oldest_due_age_seconds",
    ):
        assert name in text


async def test_unknown_commands_share_one_label(sqlite_db: Database, tmp_path: Path) -> None:
    from bot.types import Actor, Request, RequestKind

    bot = build_bot(
        sqlite_db, Settings(database_url="sqlite+aiosqlite://", config_file=tmp_path / "none.toml")
    )
    actor = Actor(platform=Platform.CONSOLE, platform_user_id="u1", person_id=1, role="csm")
    await bot.handle(
        Request(
            kind=RequestKind.COMMAND,
            actor=actor,
            address=Address(platform=Platform.CONSOLE, target="u1"),
            command="whatever-typed-here",
        )
    )
    assert sample(
        bot.metrics, "touchpoint_command_seconds_count", kind="command", name="unknown", outcome="ok"
    )


async def test_metrics_still_answer_when_the_outbox_cannot_be_read(tmp_path: Path, clients: Any) -> None:
    down = unreachable(tmp_path)
    try:
        observability = Observability(metrics=Metrics(), db=down)
        client = await client_for(observability)
        clients.append(client)
        response = await client.get("/metrics")
        assert response.status == 200
        assert sample(observability.metrics, "touchpoint_outbox_stats_up") == 0
    finally:
        await down.dispose()


# ------------------------------------------------------------------------------------- request ids


async def test_every_log_line_of_a_request_carries_its_id(log_lines: Any, clients: Any) -> None:
    logger = bot_log.get_logger("touchpoint.test")

    async def chatty(_request: web.Request) -> web.Response:
        logger.info("first")
        await asyncio.gather(asyncio.create_task(_in_a_task()))
        logger.warning("last", detail="x")
        return web.json_response({})

    async def _in_a_task() -> None:
        logger.info("in_task")

    client = await client_for(Observability(metrics=Metrics()), chatty=chatty)
    clients.append(client)

    response = await client.get("/chatty", headers={REQUEST_ID_HEADER: "abc-123"})
    assert response.headers[REQUEST_ID_HEADER] == "abc-123"
    response = await client.get("/chatty")
    generated = response.headers[REQUEST_ID_HEADER]
    assert generated and generated != "abc-123"
    response = await client.get("/readyz", headers={REQUEST_ID_HEADER: "bad id with spaces"})
    replaced = response.headers[REQUEST_ID_HEADER]
    assert response.status == 503 and replaced != "bad id with spaces"

    lines = [line for line in log_lines() if line["event"] in {"first", "in_task", "last", "not_ready"}]
    assert [(line["event"], line.get("request_id")) for line in lines] == [
        ("first", "abc-123"),
        ("in_task", "abc-123"),
        ("last", "abc-123"),
        ("first", generated),
        ("in_task", generated),
        ("last", generated),
        ("not_ready", replaced),
    ]
    logger.info("outside")
    assert "request_id" not in log_lines()[-1]


async def test_scheduler_job_lines_carry_the_job_and_a_run_id(
    sqlite_db: Database, tmp_path: Path, log_lines: Any
) -> None:
    bot = build_bot(
        sqlite_db, Settings(database_url="sqlite+aiosqlite://", config_file=tmp_path / "none.toml")
    )
    scheduler = Scheduler(bot.context, metrics=bot.metrics)
    logger = bot_log.get_logger("touchpoint.test")

    async def work() -> bool:
        logger.info("working")
        raise RuntimeError("boom")

    assert await scheduler._run("feedback:themes", work) == "failed"
    assert await scheduler._run("feedback:themes", work) == "failed"
    lines = [line for line in log_lines() if line["event"] in {"working", "scheduler_job_failed"}]
    assert {line["job"] for line in lines} == {"feedback:themes"}
    assert lines[0]["run_id"] == lines[1]["run_id"]
    assert lines[0]["run_id"] != lines[2]["run_id"]
    scheduler._on_job_event(
        JobExecutionEvent(EVENT_JOB_EXECUTED, "feedback:themes", "default", FIXED_NOW, retval="failed")
    )
    assert (
        sample(bot.metrics, "touchpoint_scheduler_job_runs_total", job="feedback:themes", outcome="failed")
        == 1
    )


# ----------------------------------------------------------------------------------------- secrets


SLACK_TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp"
APP_TOKEN = "xapp-1-A0123456789-0123456789-abcdef0123456789"
BEARER = "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
API_TOKEN = "tp_Zk3mQ9xV2bL7nR4sT8wY1cF6hJ0dG5aP-_qEuIoK2"
COMMENT = "The onboarding was a mess and Dana ignored us"


async def test_secrets_and_comments_never_reach_a_log_line(log_lines: Any) -> None:
    logger = bot_log.get_logger("touchpoint.test")
    logger.info("slack_call", detail=f"posting with {SLACK_TOKEN}", url=f"https://x?t={APP_TOKEN}")
    logger.info("http_in", headers={"Authorization": BEARER, "X-Other": f"auth {BEARER}"})
    logger.warning("api_call", error=f"rejected {API_TOKEN}", items=[API_TOKEN, 3])
    logger.info("survey", comment=COMMENT, survey_comment=COMMENT, slack_bot_token=SLACK_TOKEN)
    try:
        raise ValueError(f"bad token {SLACK_TOKEN}")
    except ValueError:
        logger.exception("crashed")
    logger.info("fine", command="help", tp_item="tp_item_1")

    written = log_lines.raw.getvalue()
    for secret in (SLACK_TOKEN, APP_TOKEN, BEARER, BEARER.split()[1], API_TOKEN, COMMENT):
        assert secret not in written
    lines = {line["event"]: line for line in log_lines() if "logger" not in line}  # library lines aside
    assert set(lines) == {"slack_call", "http_in", "api_call", "survey", "crashed", "fine"}
    assert lines["slack_call"]["detail"] == "posting with [redacted]"
    assert lines["survey"]["comment"] == "[redacted]"
    assert lines["fine"] == {**lines["fine"], "command": "help", "tp_item": "tp_item_1"}  # untouched
    assert "ValueError" in lines["crashed"]["exception"]


# ---------------------------------------------------------------------------------------- shutdown


class BlockingSender:
    """Sends instantly, except while ``gate`` is closed: then it waits (a slow platform)."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def send(self, address: Address, reply: Reply) -> str | None:
        self.entered.set()
        await self.gate.wait()
        return "sent"


async def statuses(db: Database) -> dict[str, str]:
    async with db.sessions() as session:
        rows = (await session.execute(select(OutboxMessage.idempotency_key, OutboxMessage.status))).all()
    return dict(rows)  # type: ignore[arg-type]


async def test_shutdown_finishes_the_message_in_hand_and_leaves_the_rest(db: Database) -> None:
    now = datetime.now(UTC)
    await outbox.enqueue(db, [message("first"), message("second")], now=now - timedelta(seconds=1))
    sender = BlockingSender()
    worker = DeliveryWorker(db, {Platform.CONSOLE: sender}, batch=1)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    await sender.entered.wait()
    stop.set()
    sender.gate.set()
    await runtime.stop_worker(task, stop)
    assert await statuses(db) == {"first": OutboxStatus.SENT.value, "second": OutboxStatus.PENDING.value}


async def test_a_send_cut_short_by_shutdown_stays_in_the_outbox(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    await outbox.enqueue(db, [message("stuck")], now=now - timedelta(seconds=1))
    sender = BlockingSender()  # never released
    worker = DeliveryWorker(db, {Platform.CONSOLE: sender})
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    await sender.entered.wait()
    monkeypatch.setattr(runtime, "WORKER_STOP_SECONDS", 0)
    await runtime.stop_worker(task, stop)
    assert task.cancelled()
    assert await statuses(db) == {"stuck": OutboxStatus.PENDING.value}
    async with db.sessions() as session:
        row = (await session.scalars(select(OutboxMessage))).one()
    assert row.attempts == 0  # retried once its lease ends, as if never tried


def test_library_log_lines_are_json_and_scrubbed_too() -> None:
    """aiohttp's access log, apscheduler and botbuilder log through the standard library: their lines
    get the same JSON shape, the request reference and the same redaction as Touchpoint's own."""
    import io
    import json as json_module
    import logging

    import structlog

    from bot.log import configure

    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    buffer = io.StringIO()
    try:
        configure(level="INFO", json=True, stream=buffer)
        structlog.contextvars.bind_contextvars(request_id="req-42")
        logging.getLogger("aiohttp.access").info("POST /api Authorization: Bearer abc.def token xoxb-1-2-abc")
    finally:
        structlog.contextvars.clear_contextvars()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    [line] = [json_module.loads(x) for x in buffer.getvalue().splitlines() if x.startswith("{")]
    assert line["logger"] == "aiohttp.access"
    assert line["request_id"] == "req-42"
    assert "abc.def" not in line["event"] and "xoxb-1-2-abc" not in line["event"]
