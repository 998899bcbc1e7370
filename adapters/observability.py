"""Operations endpoints and request context for the web server.

- ``/readyz``: 200 only when the configuration file is valid, the database answers, its migrations
  are current and every configured adapter is set up; otherwise 503 naming the check that failed. The
  migration check is cached once it passes (a running server's schema does not go back); the file is
  read and the database pinged on every call.
- ``/metrics``: Prometheus text from the app's own :class:`~bot.metrics.Metrics`; the outbox gauges
  are read from the database just before rendering.
- A middleware that gives every request a ``request_id`` (the caller's ``X-Request-Id`` or a new
  one), binds it to every log line logged while handling it, echoes it in the response, counts the
  request by route and status class, and logs it once when done (``http_request``: method, path,
  status, duration_ms, request_id); the probes' own successful requests only at DEBUG.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware
from sqlalchemy import text

from adapters.checks.config import config_problem
from bot.log import get_logger
from bot.metrics import CONTENT_TYPE, Metrics, status_class
from storage import outbox
from storage.db import Database
from storage.migrate import is_current

if TYPE_CHECKING:  # only for hints: the Teams adapter loads the Bot Framework SDK, loaded when used
    from adapters.slack.app import SlackAdapter
    from adapters.teams.app import TeamsAdapter

log = get_logger("touchpoint.web")
access_log = get_logger("touchpoint.access")

REQUEST_ID_HEADER = "X-Request-Id"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
PING_TIMEOUT_SECONDS = 2.0
# A caller's id is used only when it looks like an id (bounded, no spaces or control characters).
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
UNMATCHED_ROUTE = "unmatched"
# Polled every few seconds by load balancers and Prometheus: their successes are logged only at DEBUG.
PROBE_PATHS = frozenset({"/healthz", READY_PATH, METRICS_PATH})
CLIENT_CLOSED = 499  # the client went away before the answer (nginx's convention)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


@dataclass
class Observability:
    """What the operations endpoints look at. ``adapters`` maps each configured adapter to whether it
    is set up; the runtime may flip an entry (Socket Mode connects after the app is built)."""

    metrics: Metrics
    db: Database | None = None
    adapters: dict[str, bool] = field(default_factory=dict)
    clock: Callable[[], datetime] = _utcnow
    ping_timeout: float = PING_TIMEOUT_SECONDS
    # Re-reads the configuration file: None when valid, else the problem (a typo made while running).
    config_check: Callable[[], str | None] | None = None
    _migrations_current: bool = False

    async def check_database(self) -> str | None:
        """None when the database answers; else why not."""
        if self.db is None:
            return "no database configured"
        try:
            async with asyncio.timeout(self.ping_timeout):
                async with self.db.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except TimeoutError:
            return f"no answer within {self.ping_timeout:g}s"
        except Exception as error:
            return type(error).__name__
        return None

    async def check_migrations(self) -> str | None:
        if self._migrations_current:
            return None
        assert self.db is not None
        try:
            async with asyncio.timeout(self.ping_timeout):
                current = await is_current(self.db)
        except TimeoutError:
            return f"no answer within {self.ping_timeout:g}s"
        except Exception as error:
            return type(error).__name__
        if not current:
            return "not at the latest revision (run touchpoint db upgrade)"
        self._migrations_current = True
        return None

    async def readiness(self) -> dict[str, str]:
        """Each check's result: ``ok`` or why it failed (later checks are skipped after a failure)."""
        checks: dict[str, str] = {}
        if self.config_check is not None:
            checks["config"] = self.config_check() or "ok"
        database = await self.check_database()
        checks["database"] = database or "ok"
        if database is None:
            checks["migrations"] = await self.check_migrations() or "ok"
        else:
            checks["migrations"] = "skipped: database unreachable"
        for name, ready in sorted(self.adapters.items()):
            checks[f"adapter:{name}"] = "ok" if ready else "configured but not set up"
        return checks

    async def refresh_outbox(self) -> None:
        if self.db is None:
            return
        now = self.clock()
        try:
            async with asyncio.timeout(self.ping_timeout):
                stats = await outbox.stats(self.db, now=now, count_sent=False)
        except Exception as error:
            log.warning("metrics_outbox_unavailable", error=type(error).__name__)
            self.metrics.set_outbox(None, now=now)
            return
        self.metrics.set_outbox(stats, now=now)


OBSERVABILITY_KEY = web.AppKey("observability", Observability)


def setup_observability(app: web.Application, observability: Observability) -> None:
    """Mount /readyz and /metrics on ``app`` and add the request middleware (before the app starts)."""
    app[OBSERVABILITY_KEY] = observability
    app.middlewares.append(request_context(observability.metrics))
    app.router.add_get(READY_PATH, readyz)
    app.router.add_get(METRICS_PATH, metrics_handler)


def request_context(metrics: Metrics) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if _VALID_REQUEST_ID.match(given) else new_request_id()
        route = _route(request)
        started = time.perf_counter()
        status = 500
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                response = await handler(request)
                status = response.status
            except web.HTTPException as error:
                status = error.status
                error.headers[REQUEST_ID_HEADER] = request_id
                raise
            except asyncio.CancelledError:
                status = CLIENT_CLOSED
                raise
            finally:
                if status != CLIENT_CLOSED:
                    metrics.http_requests.labels(route=route, outcome=status_class(status)).inc()
                _log_request(request, status, started)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response

    return middleware


def _log_request(request: web.Request, status: int, started: float) -> None:
    """The access log line (the request id comes from the bound context)."""
    fields = {
        "method": request.method,
        "path": request.path,
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if request.path in PROBE_PATHS and status < 400:
        access_log.debug("http_request", **fields)
    else:
        access_log.info("http_request", **fields)


def _route(request: web.Request) -> str:
    """The route's pattern (never the raw path, so labels stay few)."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED_ROUTE


async def readyz(request: web.Request) -> web.Response:
    checks = await request.app[OBSERVABILITY_KEY].readiness()
    failed = {name: result for name, result in checks.items() if result != "ok"}
    if failed:
        log.warning("not_ready", failed=failed)
        return web.json_response({"status": "unavailable", "failed": failed, "checks": checks}, status=503)
    return web.json_response({"status": "ok", "checks": checks})


async def metrics_handler(request: web.Request) -> web.Response:
    observability = request.app[OBSERVABILITY_KEY]
    await observability.refresh_outbox()
    body = observability.metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def observability_for(slack: SlackAdapter | None, teams: TeamsAdapter | None) -> Observability:
    """Observability for an app serving these adapters: their bot's metrics and database, and each
    adapter the settings configure marked set up when it is served."""
    adapter = slack or teams
    if adapter is None:
        return Observability(metrics=Metrics())
    bot = adapter.bot
    settings = bot.context.settings
    adapters: dict[str, bool] = {}
    if settings.slack_enabled or slack is not None:
        adapters["slack"] = slack is not None
    if settings.teams_configured or teams is not None:
        adapters["teams"] = teams is not None
    return Observability(
        metrics=bot.metrics,
        db=bot.context.db,
        adapters=adapters,
        clock=bot.context.clock,
        config_check=lambda: config_problem(settings),
    )
