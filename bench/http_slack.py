"""Slack as the HTTP benchmarks play it: slash commands signed as Slack signs them, and a fake Web API
whose ``/respond/...`` URLs stand in for Slack's response_url and note when each answer arrived."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-bench-token"
TEAM_ID = "T0BENCH01"
CHANNEL_ID = "C0BENCH01"
SLACK_PATH = "/slack/events"


def signed_slash_command(text: str, *, user_id: str, response_url: str) -> tuple[bytes, dict[str, str]]:
    """A ``/cs`` slash command as Slack sends it: form-encoded, signed v0=HMAC-SHA256 of the body."""
    body = urlencode(
        {
            "token": "unused",
            "team_id": TEAM_ID,
            "team_domain": "bench",
            "channel_id": CHANNEL_ID,
            "channel_name": "cs",
            "user_id": user_id,
            "user_name": "bench",
            "command": "/cs",
            "text": text,
            "api_app_id": "A0BENCH01",
            "response_url": response_url,
            "trigger_id": "trigger.bench",
        }
    )
    timestamp = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }
    return body.encode(), headers


@dataclass
class FakeSlack:
    """The Web API methods the server may call, and response_url endpoints that note when an answer
    arrived (``perf_counter``) and what it said."""

    runner: web.AppRunner | None = None
    port: int = 0
    waiting: dict[str, asyncio.Future[tuple[float, dict[str, Any]]]] = field(default_factory=dict)
    api_calls: dict[str, int] = field(default_factory=dict)
    stray_answers: int = 0

    async def start(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{token}", self._respond)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def expect(self, token: str) -> tuple[str, asyncio.Future[tuple[float, dict[str, Any]]]]:
        future: asyncio.Future[tuple[float, dict[str, Any]]] = asyncio.get_running_loop().create_future()
        self.waiting[token] = future
        return f"http://127.0.0.1:{self.port}/respond/{token}", future

    async def _respond(self, request: web.Request) -> web.Response:
        arrived = time.perf_counter()
        body = await request.read()
        future = self.waiting.pop(request.match_info["token"], None)
        if future is None or future.done():
            self.stray_answers += 1
        else:
            future.set_result((arrived, json.loads(body or b"{}")))
        return web.Response(text="ok")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.api_calls[method] = self.api_calls.get(method, 0) + 1
        await request.read()
        if method == "auth.test":
            return web.json_response(
                {"ok": True, "user_id": "UBOTBENCH", "bot_id": "BBENCH", "team_id": TEAM_ID, "team": "Bench"}
            )
        if method == "users.info":
            return web.json_response({"ok": False, "error": "user_not_found"})
        if method == "conversations.open":
            return web.json_response({"ok": True, "channel": {"id": "DBENCH"}})
        return web.json_response({"ok": True, "channel": CHANNEL_ID, "ts": f"{time.time():.6f}"})
