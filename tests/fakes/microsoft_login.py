"""A fake Microsoft sign-in token endpoint on an ephemeral loopback port: the client-credentials
request botbuilder makes for a bot's Bot Framework token (``POST /{tenant}/oauth2/v2.0/token``).

It hands a token to the one app id and secret it knows and refuses others the way the OAuth 2.0 error
response does (``invalid_client``, with an ``AADSTS...`` description); every request is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

APP_ID = "6c1f3f0e-1d2b-4c5a-9e8f-0a1b2c3d4e5f"
SECRET = "right-secret"


@dataclass
class FakeMicrosoftLogin:
    app_id: str = APP_ID
    secret: str = SECRET
    status_override: int | None = None  # answer every request with this status and no JSON
    requests: list[dict[str, Any]] = field(default_factory=list)
    _server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("/"))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.requests.append({"tenant": request.match_info["tenant"], **form})
        if self.status_override is not None:
            return web.Response(status=self.status_override, text="unavailable")
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        if form.get("client_id") != self.app_id or form.get("client_secret") != self.secret:
            return web.json_response(
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the "
                    "secret being sent in the request is the client secret value.\r\nTrace ID: 0000\r\n"
                    "Correlation ID: 1111\r\nTimestamp: 2026-01-01 00:00:00Z",
                    "error_codes": [7000215],
                },
                status=401,
            )
        return web.json_response(
            {"token_type": "Bearer", "expires_in": 3599, "access_token": "eyJ.fake.token"}
        )
