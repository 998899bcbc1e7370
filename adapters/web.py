"""The one web server: Slack at /slack/events (and Teams at /api/messages) beside /healthz.

The HTTP handlers keep no state in memory, so several replicas can sit behind a load balancer.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

from adapters.checks import SetupProblem
from adapters.checks.port import listen_problem
from adapters.observability import Observability, observability_for, setup_observability
from adapters.slack.screen import screen
from bot.log import get_logger

if TYPE_CHECKING:  # only for hints: the Teams adapter loads the Bot Framework SDK, loaded when used
    from adapters.slack.app import SlackAdapter
    from adapters.teams.app import TeamsAdapter

log = get_logger("touchpoint.web")
MAX_BODY_BYTES = 1024 * 1024
SLACK_PATH = "/slack/events"
TEAMS_PATH = "/api/messages"
DRAIN_SECONDS = 25.0


def build_web_app(
    *,
    slack: SlackAdapter | None = None,
    teams: TeamsAdapter | None = None,
    observability: Observability | None = None,
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_get("/healthz", healthz)
    setup_observability(app, observability or observability_for(slack, teams))  # /readyz, /metrics
    if slack is not None:
        app.router.add_post(SLACK_PATH, slack_handler(slack))
        app.on_cleanup.append(drain_slack(slack))
    if teams is not None:
        app.router.add_post(TEAMS_PATH, teams.handle)
    return app


def drain_slack(slack: SlackAdapter) -> Callable[[web.Application], Awaitable[None]]:
    """On shutdown, let acknowledged Slack requests finish answering before the database closes, then
    close the adapter's connections."""

    async def drain(_app: web.Application) -> None:
        if not await slack.drain(DRAIN_SECONDS):
            log.warning("slack_drain_timeout", seconds=DRAIN_SECONDS)
        await slack.close()

    return drain


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def slack_handler(slack: SlackAdapter) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        try:
            # Checked before Bolt parses anything: a forged timestamp or deep JSON is a 4xx here.
            refusal = screen(request.headers, await request.text())
            if refusal is not None:
                log.info("slack_request_refused", status=refusal.status, reason=refusal.reason)
                return web.json_response({"error": refusal.reason}, status=refusal.status)
            bolt_request = await to_bolt_request(request)
        # ValueError: not JSON; AttributeError: JSON but not an object (Bolt reads it with .get).
        except (ValueError, UnicodeDecodeError, AttributeError) as error:
            log.warning("slack_malformed_request", error=type(error).__name__)
            return web.json_response({"error": "malformed request body"}, status=400)
        bolt_response = await slack.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    return handle


async def serve(app: web.Application, *, host: str, port: int, stop: asyncio.Event | None = None) -> None:
    """Serve until SIGINT/SIGTERM (or ``stop``): then stop taking requests and finish in-flight ones."""
    # aiohttp's own access log is off: the request middleware logs each request, with its request id.
    runner = web.AppRunner(app, shutdown_timeout=30.0, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host=host, port=port)
    try:
        await site.start()
    except OSError as error:  # taken since the start-up check looked: the same one line
        await runner.cleanup()
        raise SetupProblem(listen_problem(host, port, error)) from None
    log.info("server_started", host=host, port=port)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on every platform
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("server_stopping")
        await runner.cleanup()
