"""A fake Slack Web API on an ephemeral loopback port that records every call with its body.

It answers the methods Touchpoint uses, plus ``response_url`` posts (under /respond/...), and can be
told to fail: ``fail_next(method, status, retry_after=..., error=...)`` queues error answers for a
method (HTTP errors, or Slack's own ``{"ok": false, "error": ...}`` refusals with status 200). Each
recorded :class:`Call` keeps the status it was answered with.

Posted messages are kept per channel (``messages``) with their ``ts`` (from ``clock``, seconds since
the epoch, so tests can use their own time) and metadata, and ``conversations.history`` /
``conversations.replies`` answer from them like Slack: newest first, within ``oldest``/``latest``,
``limit`` per page with a cursor, metadata only with ``include_all_metadata``. A slow Slack:
``post_delay`` seconds before each ``chat.postMessage`` answer. A crash in the middle of a send:
``hang_when(predicate)`` makes the posts it matches land (stored, visible in the history) but never
be answered, as when the sender dies after Slack took the message; ``hung`` lists them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.test_utils import TestServer

BOT_USER_ID = "UBOT0001"


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    status: int = 200  # the HTTP status the fake answered with


@dataclass
class FakeSlack:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    # conversations.info answers by channel id; one not listed is an ordinary internal channel (a DM
    # for an id starting with D).
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    clock: Callable[[], float] = time.time
    post_delay: float = 0.0
    hung: list[Call] = field(default_factory=list)
    _hang: Callable[[Call], bool] | None = None
    _closing: asyncio.Event | None = None
    _last_ts: float = 0.0
    _failures: dict[str, deque[tuple[int, int | None, str | None]]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    _server: TestServer | None = None
    _changed: asyncio.Condition | None = None

    # ------------------------------------------------------------------------------------ control

    @property
    def api_url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("/api/"))

    def response_url(self, name: str = "r1") -> str:
        assert self._server is not None
        return str(self._server.make_url(f"/respond/{name}"))

    def share_externally(self, channel_id: str) -> None:
        """Make ``channel_id`` a Slack Connect channel (shared with another organisation)."""
        self.channels[channel_id] = {"is_channel": True, "is_shared": True, "is_ext_shared": True}

    def add_user(self, user_id: str, email: str | None, name: str = "someone") -> None:
        profile: dict[str, Any] = {"real_name": name}
        if email:
            profile["email"] = email
        self.users[user_id] = {"id": user_id, "name": name, "profile": profile}

    def fail_next(
        self,
        method: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        error: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with ``status`` (429 carries ``retry_after``).
        ``status`` 200 with ``error`` is Slack's way of refusing a call: ``{"ok": false, "error": ...}``."""
        for _ in range(times):
            self._failures[method].append((status, retry_after, error))

    def hang_when(self, predicate: Callable[[Call], bool] | None) -> None:
        """Posts matching ``predicate`` are stored but never answered (None: answer every post)."""
        self._hang = predicate

    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Every message in ``channel`` (or in all channels), oldest first."""
        channels = [channel] if channel is not None else list(self.messages)
        return sorted((m for c in channels for m in self.messages.get(c, [])), key=lambda m: float(m["ts"]))

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, seconds: float = 5.0) -> list[Call]:
        """Wait until ``count`` calls of ``method`` arrived (no sleeping: woken by each call)."""
        assert self._changed is not None
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.of(method)) >= count), seconds)
        return self.of(method)

    async def wait_until(self, predicate: Callable[[], bool], seconds: float = 10.0) -> None:
        """Wait until ``predicate()`` holds, checked again at every call the fake receives."""
        assert self._changed is not None
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), seconds)

    # ------------------------------------------------------------------------------------- server

    async def start(self) -> None:
        self._changed = asyncio.Condition()
        self._closing = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()

    async def close(self) -> None:
        if self._closing is not None:
            self._closing.set()
        if self._server is not None:
            await self._server.close()

    async def _record(self, method: str, request: web.Request, failure: web.Response | None) -> Call:
        raw = await request.text()
        if request.content_type == "application/json":
            body = json.loads(raw or "{}")
        else:
            body = {**dict(request.query), **dict(parse_qsl(raw))}
            for key in ("blocks", "view"):
                if isinstance(body.get(key), str):
                    body[key] = json.loads(body[key])
        status = 200 if failure is None else failure.status
        call = Call(method=method, body=body, headers=dict(request.headers), status=status)
        self.calls.append(call)
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()
        return call

    def _failure(self, method: str) -> web.Response | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        status, retry_after, error = queue.popleft()
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        if status == 429:
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers=headers)
        if status == 200:
            return web.json_response({"ok": False, "error": error or "fatal_error"})
        return web.Response(status=status, text=error or "server error", headers=headers)

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        failure = self._failure(method)
        call = await self._record(method, request, failure)
        if failure is not None:
            return failure
        if method == "auth.test":
            return web.json_response(
                {
                    "ok": True,
                    "user_id": BOT_USER_ID,
                    "bot_id": "BBOT0001",
                    "team_id": "T0001ACME",
                    "team": "Acme CS",
                }
            )
        if method == "users.info":
            user = self.users.get(str(call.body.get("user")))
            if user is None:
                return web.json_response({"ok": False, "error": "user_not_found"})
            return web.json_response({"ok": True, "user": user})
        if method == "conversations.info":
            channel_id = str(call.body.get("channel"))
            usual = {"is_im": True} if channel_id.startswith("D") else {"is_channel": True}
            channel = self.channels.get(channel_id, {**usual, "is_ext_shared": False})
            if channel.get("missing"):
                return web.json_response({"ok": False, "error": "channel_not_found"})
            return web.json_response({"ok": True, "channel": {"id": channel_id, **channel}})
        if method == "conversations.open":
            return web.json_response({"ok": True, "channel": {"id": "D" + str(call.body.get("users", "X"))}})
        if method == "chat.postMessage":
            return await self._post_message(call)
        if method == "chat.update":
            return self._update_message(call)
        if method in ("conversations.history", "conversations.replies"):
            return web.json_response(self._history(call.body, thread=method == "conversations.replies"))
        if method in ("views.open", "views.publish", "views.update"):
            return web.json_response({"ok": True, "view": {"id": "V123"}})
        if method == "files.getUploadURLExternal":
            file_id = f"F{len(self.calls):06d}"
            assert self._server is not None
            upload_url = str(self._server.make_url(f"/upload/{file_id}"))
            return web.json_response({"ok": True, "upload_url": upload_url, "file_id": file_id})
        if method == "files.completeUploadExternal":
            files = json.loads(str(call.body.get("files") or "[]"))
            return web.json_response(
                {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}
            )
        return web.json_response({"ok": True})

    async def _post_message(self, call: Call) -> web.Response:
        channel = str(call.body.get("channel"))
        moment = max(self.clock(), self._last_ts + 0.000001)
        self._last_ts = moment
        message: dict[str, Any] = {
            "type": "message",
            "ts": f"{moment:.6f}",
            "user": BOT_USER_ID,  # as Slack gives the app's own posts: its bot user and its bot id
            "bot_id": "BBOT0001",
        }
        for key in ("text", "blocks", "thread_ts", "metadata"):
            if call.body.get(key) is not None:
                message[key] = call.body[key]
        self.messages[channel].append(message)
        hang = self._hang is not None and self._hang(call)
        if hang:
            self.hung.append(call)
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()
        if hang:
            assert self._closing is not None
            await self._closing.wait()  # never answered while the test runs: the sender is gone
        if self.post_delay > 0:
            await asyncio.sleep(self.post_delay)  # a slow Slack
        return web.json_response({"ok": True, "channel": channel, "ts": message["ts"]})

    def _update_message(self, call: Call) -> web.Response:
        """``chat.update``: the posted message with that ``ts`` in that channel is rewritten (its
        metadata too, when given); one that was never posted there is ``message_not_found``, as Slack
        answers."""
        channel, ts = str(call.body.get("channel")), str(call.body.get("ts"))
        for message in self.messages.get(channel, []):
            if message["ts"] == ts:
                for key in ("text", "blocks", "metadata"):
                    if call.body.get(key) is not None:
                        message[key] = call.body[key]
                message["edited"] = {"user": BOT_USER_ID, "ts": f"{self.clock():.6f}"}
                return web.json_response({"ok": True, "channel": channel, "ts": ts})
        return web.json_response({"ok": False, "error": "message_not_found"})

    def _history(self, query: dict[str, Any], *, thread: bool) -> dict[str, Any]:
        """A page of a channel's messages (or a thread's, parent first) as Slack returns them."""
        found = list(self.messages.get(str(query.get("channel")), []))
        if thread:
            parent = str(query.get("ts"))
            found = [m for m in found if m["ts"] == parent or m.get("thread_ts") == parent]
        else:
            found = [m for m in found if not m.get("thread_ts")]
        inclusive = str(query.get("inclusive", "")).lower() in ("1", "true")
        oldest, latest = float(query.get("oldest") or 0), float(query.get("latest") or 1e12)
        found = [
            m
            for m in found
            if (oldest <= float(m["ts"]) if inclusive else oldest < float(m["ts"]))
            and (float(m["ts"]) <= latest if inclusive else float(m["ts"]) < latest)
        ]
        found.sort(key=lambda m: float(m["ts"]), reverse=not thread)
        if str(query.get("include_all_metadata", "")).lower() not in ("1", "true"):
            found = [{k: v for k, v in m.items() if k != "metadata"} for m in found]
        start, limit = int(query.get("cursor") or 0), int(query.get("limit") or 100)
        page = found[start : start + limit]
        more = start + limit < len(found)
        return {
            "ok": True,
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL files.getUploadURLExternal hands out: records the bytes' size and kind."""
        data = await request.read()
        self.uploads[request.match_info["file_id"]] = data
        return web.Response(text="OK - uploaded")

    async def _respond(self, request: web.Request) -> web.Response:
        failure = self._failure("response_url")
        await self._record("response_url", request, failure)
        if failure is not None:
            return failure
        return web.Response(text="ok")
