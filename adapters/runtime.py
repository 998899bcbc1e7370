"""Starting everything ``touchpoint serve`` runs: database, bot, adapters, web server, Socket Mode.

Teams is served at /api/messages when ``TOUCHPOINT_TEAMS_ENABLED=true``, or, with that unset, when
``MicrosoftAppId`` is set (``TOUCHPOINT_TEAMS_ENABLED=false`` turns it off either way).
"""

from __future__ import annotations

import asyncio

from adapters.web import build_web_app, serve
from bot.app import build_bot
from bot.log import get_logger
from bot.settings import Settings
from storage.db import Database
from storage.migrate import upgrade

log = get_logger("touchpoint.runtime")


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
    try:
        await serve(build_web_app(slack=slack, teams=teams), host=host, port=port, stop=stop)
    finally:
        if socket_mode is not None:
            await socket_mode.close_async()  # type: ignore[no-untyped-call]
        await db.dispose()
