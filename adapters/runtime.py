"""Starting everything ``touchpoint serve`` runs: database, bot, adapters, web server, Socket Mode,
the delivery worker and the scheduler.

Teams is served at /api/messages when ``TOUCHPOINT_TEAMS_ENABLED=true``, or, with that unset, when
``MicrosoftAppId`` is set (``TOUCHPOINT_TEAMS_ENABLED=false`` turns it off either way).

The delivery worker posts what the outbox holds through a sender per configured platform; a message
given up on is reported to every admin reachable on one of those platforms. On shutdown the scheduler
stops, the worker finishes the message in hand, and whatever is unsent stays in the outbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from adapters.api import add_ingest_routes
from adapters.checks.config import config_problem
from adapters.connectors.jobs import schedule_syncs
from adapters.observability import Observability
from adapters.web import build_web_app, serve
from bot.delivery import DeliveryWorker, Sender
from bot.log import get_logger
from bot.recipients import TEAMS_PERSON_PREFIX
from bot.serialize import outbox_message
from bot.settings import Settings
from bot.types import Address, Context, Platform, Reply, Text
from handlers import build_bot
from storage import outbox
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Person, Role

if TYPE_CHECKING:  # only for hints: the Teams adapter loads the Bot Framework SDK, loaded when used
    from adapters.teams.app import TeamsAdapter

log = get_logger("touchpoint.runtime")

ADMIN_PURPOSE = "admin"
WORKER_STOP_SECONDS = 10.0


def build_senders(settings: Settings, *, teams: TeamsAdapter | None = None) -> dict[Platform, Sender]:
    """A sender for each platform Touchpoint can post to: Slack with a bot token, Teams when served."""
    senders: dict[Platform, Sender] = {}
    if settings.slack_bot_token is not None:
        from adapters.slack.sender import SlackSender

        senders[Platform.SLACK] = SlackSender(settings)
    if teams is not None:
        from adapters.teams.sender import TeamsSender

        senders[Platform.TEAMS] = TeamsSender(teams)
    return senders


def admin_address(person: Person, platforms: Collection[Platform]) -> Address | None:
    """Where an admin hears about problems: Slack DM first, else their Teams chat, on ``platforms``."""
    if Platform.SLACK in platforms and person.slack_user_id:
        return Address(platform=Platform.SLACK, target=person.slack_user_id)
    if Platform.TEAMS in platforms and person.teams_user_id:
        return Address(platform=Platform.TEAMS, target=f"{TEAMS_PERSON_PREFIX}{person.id}")
    return None


def dead_message_alerter(
    db: Database, platforms: Collection[Platform], *, clock: Callable[[], datetime]
) -> Callable[[outbox.Claimed, str], Awaitable[None]]:
    """The worker's ``on_dead``: queue a note to every reachable admin (never about such a note)."""

    async def on_dead(message: outbox.Claimed, reason: str) -> None:
        if message.purpose == ADMIN_PURPOSE:
            return
        async with db.sessions() as session:
            admins = (await session.scalars(select(Person).where(Person.role == Role.ADMIN.value))).all()
        reply = Reply(
            summary=f"Touchpoint gave up sending a {message.purpose} message",
            blocks=(
                Text(
                    f"**A {message.purpose} message could not be delivered** on {message.platform} "
                    f"(outbox #{message.id}): {reason}"
                ),
                Context(("Fix the cause, then run `touchpoint outbox retry` to send it again.",)),
            ),
        )
        messages = []
        for admin in admins:
            address = admin_address(admin, platforms)
            if address is None:
                continue
            messages.append(
                outbox_message(f"admin:dead:{message.id}:{admin.id}", ADMIN_PURPOSE, address, reply)
            )
        if not messages:
            log.warning("dead_message_no_admin_reachable", outbox_id=message.id)
        await outbox.enqueue(db, messages, now=clock())

    return on_dead


async def run_server(settings: Settings, *, host: str, port: int, stop: asyncio.Event | None = None) -> None:
    db = Database(settings.database_url)
    await upgrade(db)
    bot = build_bot(db, settings)
    slack = None
    socket_mode = None
    if settings.slack_enabled:
        from adapters.slack.app import SlackAdapter

        slack = SlackAdapter(bot, settings)
        if settings.slack_app_token is not None:
            from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

            socket_mode = AsyncSocketModeHandler(slack.app, settings.slack_app_token.get_secret_value())
            await socket_mode.connect_async()  # type: ignore[no-untyped-call]
            log.info("slack_socket_mode_connected")
    else:
        log.warning(
            "slack_not_configured", hint="set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN)"
        )
    teams = None
    if settings.teams_configured:  # TOUCHPOINT_TEAMS_ENABLED decides; unset, MicrosoftAppId does
        from adapters.teams.app import TeamsAdapter

        teams = TeamsAdapter(bot, settings)
        log.info("teams_enabled", path="/api/messages", authenticated=bool(settings.microsoft_app_id))
    worker_stop = asyncio.Event()
    worker_task = None
    worker: DeliveryWorker | None = None
    senders = build_senders(settings, teams=teams)
    if senders:
        worker = DeliveryWorker(
            db,
            senders,
            on_dead=dead_message_alerter(db, set(senders), clock=bot.context.clock),
            metrics=bot.metrics,
            rate_per_minute={Platform.SLACK: settings.slack_messages_per_minute},
            lease=timedelta(seconds=settings.delivery_lease_seconds),
        )
        worker_task = asyncio.create_task(worker.run_forever(worker_stop))
        log.info("delivery_worker_started", platforms=sorted(p.value for p in senders))
    else:
        log.warning("delivery_worker_not_started", reason="no platform to send to")
    scheduler = None
    if settings.scheduler_enabled:
        from scheduler.runner import Scheduler

        scheduler = Scheduler(
            bot.context, on_enqueued=worker.wake.set if worker else None, metrics=bot.metrics
        )
        await scheduler.start()
        syncs = schedule_syncs(scheduler.add_job, db, settings, clock=bot.context.now)
        if syncs:
            log.info("connector_syncs_scheduled", jobs=syncs)
    adapters = {}
    if settings.slack_enabled:
        adapters["slack"] = slack is not None
    if settings.teams_configured:
        adapters["teams"] = teams is not None
    observability = Observability(
        metrics=bot.metrics,
        db=db,
        adapters=adapters,
        clock=bot.context.clock,
        config_check=lambda: config_problem(settings),  # /readyz: a typo made in the file while running
    )
    try:
        app = build_web_app(slack=slack, teams=teams, observability=observability)
        add_ingest_routes(app, db=db, settings=settings)  # /api/v1/...: the ingest API
        await serve(app, host=host, port=port, stop=stop)
    finally:
        if scheduler is not None:
            scheduler.shutdown()
        if worker_task is not None:
            await stop_worker(worker_task, worker_stop)
        if socket_mode is not None:
            await socket_mode.close_async()  # type: ignore[no-untyped-call]
        await db.dispose()


async def stop_worker(task: asyncio.Task[None], stop: asyncio.Event) -> None:
    """Let the worker finish the round in hand; cancel it if that takes too long (a cancelled send is
    retried when its lease ends, so nothing is lost)."""
    stop.set()
    _done, pending = await asyncio.wait({task}, timeout=WORKER_STOP_SECONDS)
    for still_running in pending:
        log.warning("delivery_worker_cancelled", seconds=WORKER_STOP_SECONDS)
        still_running.cancel()
        await asyncio.gather(still_running, return_exceptions=True)
