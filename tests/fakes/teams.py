"""A fake Bot Connector (the Teams side of the Bot Framework) on an ephemeral loopback port.

It answers the ``/v3/conversations`` routes Touchpoint uses and records every call with its full body:

- ``send``: POST /v3/conversations/{conversationId}/activities
- ``reply``: POST /v3/conversations/{conversationId}/activities/{activityId}
- ``update``: PUT /v3/conversations/{conversationId}/activities/{activityId}
- ``create``: POST /v3/conversations
- ``member``: GET /v3/conversations/{conversationId}/members/{userId}
- ``members``: GET /v3/conversations/{conversationId}/members

``fail_next(kind, status, retry_after=...)`` queues error answers (429, 500, 503, ...) for a kind.
Activities the bot posts are kept in ``calls``; :meth:`cards` returns every Adaptive Card among them.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
POSTING_KINDS = ("send", "reply", "update")


def tenant_of(body: dict[str, Any]) -> str | None:
    """The tenant of a create-conversation body: ``tenantId`` (any case, as the service reads it) or
    ``channelData.tenant.id``."""
    for key, value in body.items():
        if key.lower() == "tenantid" and value:
            return str(value)
    tenant = ((body.get("channelData") or {}).get("tenant") or {}).get("id")
    return str(tenant) if tenant else None


@dataclass
class Call:
    kind: str
    conversation_id: str
    activity_id: str | None
    body: dict[str, Any]
    headers: dict[str, str]
    failed: bool = False
    sent_id: str | None = None  # the id the fake gave the posted activity

    @property
    def cards(self) -> list[dict[str, Any]]:
        return [
            a["content"]
            for a in self.body.get("attachments") or []
            if a.get("contentType") == CARD_CONTENT_TYPE
        ]

    @property
    def card(self) -> dict[str, Any]:
        cards = self.cards
        assert len(cards) == 1, f"expected one card, got {len(cards)}"
        return cards[0]


@dataclass
class FakeConnector:
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    _failures: dict[str, deque[tuple[int, str | None]]] = field(default_factory=lambda: defaultdict(deque))
    _server: TestServer | None = None
    _changed: asyncio.Condition | None = None
    _next_id: int = 0

    # ------------------------------------------------------------------------------------ control

    @property
    def service_url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("/"))

    def add_member(
        self,
        user_id: str,
        *,
        aad_object_id: str | None = None,
        email: str | None = None,
        user_principal_name: str | None = None,
        name: str = "Someone",
    ) -> None:
        member: dict[str, Any] = {"id": user_id, "name": name}
        if aad_object_id:
            member["aadObjectId"] = aad_object_id
        if email:
            member["email"] = email
        if user_principal_name:
            member["userPrincipalName"] = user_principal_name
        self.members[user_id] = member

    def fail_next(self, kind: str, status: int, *, times: int = 1, retry_after: str | None = None) -> None:
        for _ in range(times):
            self._failures[kind].append((status, retry_after))

    def of(self, *kinds: str, ok_only: bool = True) -> list[Call]:
        return [c for c in self.calls if c.kind in kinds and not (ok_only and c.failed)]

    def posted(self) -> list[Call]:
        """Every activity the bot delivered (sends, replies, updates), in order."""
        return self.of(*POSTING_KINDS)

    def cards(self) -> list[dict[str, Any]]:
        return [card for call in self.calls for card in call.cards]

    async def wait_for(self, *kinds: str, count: int = 1, within: float = 10.0) -> list[Call]:
        """Wait until ``count`` successful calls of ``kinds`` arrived (woken by each call, no sleeping)."""
        assert self._changed is not None
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.of(*kinds)) >= count), within)
        return self.of(*kinds)

    # ------------------------------------------------------------------------------------- server

    async def start(self) -> None:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{conversation}/activities", self._send)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._reply)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._update)
        app.router.add_get("/v3/conversations/{conversation}/members", self._members)
        app.router.add_get("/v3/conversations/{conversation}/members/{member}", self._member)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    def _new_id(self, prefix: str = "") -> str:
        self._next_id += 1
        return f"{prefix}{1715000500000 + self._next_id}"

    async def _record(self, kind: str, request: web.Request) -> tuple[Call, web.Response | None]:
        raw = await request.text()
        body = json.loads(raw) if raw else {}
        queue = self._failures.get(kind)
        failure = queue.popleft() if queue else None
        call = Call(
            kind=kind,
            conversation_id=request.match_info.get("conversation", ""),
            activity_id=request.match_info.get("activity") or request.match_info.get("member"),
            body=body if isinstance(body, dict) else {"_": body},
            headers=dict(request.headers),
            failed=failure is not None,
        )
        self.calls.append(call)
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()
        if failure is None:
            return call, None
        status, retry_after = failure
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        error = {
            "error": {"code": "Throttled" if status == 429 else "ServiceError", "message": "fake failure"}
        }
        return call, web.json_response(error, status=status, headers=headers)

    async def _create(self, request: web.Request) -> web.Response:
        call, failure = await self._record("create", request)
        if failure is not None:
            return failure
        members = call.body.get("members") or []
        if call.body.get("isGroup") or len(members) != 1 or not tenant_of(call.body):
            return web.json_response({"error": {"code": "BadSyntax", "message": "bad request"}}, status=400)
        return web.json_response({"id": f"a:created-{members[0]['id']}"}, status=201)

    async def _send(self, request: web.Request) -> web.Response:
        call, failure = await self._record("send", request)
        return failure or self._posted(call)

    async def _reply(self, request: web.Request) -> web.Response:
        call, failure = await self._record("reply", request)
        return failure or self._posted(call)

    def _posted(self, call: Call) -> web.Response:
        call.sent_id = self._new_id()
        return web.json_response({"id": call.sent_id}, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        call, failure = await self._record("update", request)
        return failure or web.json_response({"id": call.activity_id}, status=200)

    async def _members(self, request: web.Request) -> web.Response:
        _, failure = await self._record("members", request)
        return failure or web.json_response(list(self.members.values()))

    async def _member(self, request: web.Request) -> web.Response:
        call, failure = await self._record("member", request)
        if failure is not None:
            return failure
        member = self.members.get(call.activity_id or "")
        if member is None:
            return web.json_response({"error": {"code": "NotFound", "message": "no such member"}}, status=404)
        return web.json_response(member)
