"""A fake OpenAI-compatible chat-completions endpoint on an ephemeral loopback port.

``POST {url}/chat/completions`` (``url`` ends in ``/v1``, like an API root) records every request (body and
headers) in ``requests`` and answers with the next queued behaviour:

- :meth:`answer` a chat completion whose ``choices[0].message.content`` is the given text (a dict or list
  is written as JSON);
- :meth:`decline` a completion with ``message.refusal`` set and no content;
- :meth:`hang` no answer until the fake is closed (for timeouts);
- :meth:`fail` an error status with the OpenAI error body ``{"error": {"message", "type", "param",
  "code"}}``, and a ``Retry-After`` header when given (429).

With nothing queued it answers 500. ``require_key`` makes it answer 401 as OpenAI does for a missing or
wrong ``Authorization: Bearer`` key (its message repeats part of the key, as OpenAI's does).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

# The error bodies OpenAI sends for these statuses (type and code as its API reference lists them).
ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid parameter: 'response_format' is not supported."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided: {key}."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


@dataclass
class Recorded:
    body: dict[str, Any]
    headers: dict[str, str]
    path: str


@dataclass
class _Behaviour:
    kind: str  # "answer", "decline", "hang", "fail"
    content: str | None = None
    status: int = 200
    retry_after: str | None = None


@dataclass
class FakeChatCompletions:
    require_key: str | None = None
    requests: list[Recorded] = field(default_factory=list)
    _queue: deque[_Behaviour] = field(default_factory=deque)
    _server: TestServer | None = None
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    # ------------------------------------------------------------------------------------ control

    @property
    def url(self) -> str:
        """The API root to configure (``http://127.0.0.1:PORT/v1``)."""
        assert self._server is not None
        return str(self._server.make_url("/v1"))

    def answer(self, content: str | dict[str, Any] | list[Any]) -> None:
        text = content if isinstance(content, str) else json.dumps(content)
        self._queue.append(_Behaviour("answer", content=text))

    def decline(self, refusal: str = "I'm sorry, I can't help with that.") -> None:
        self._queue.append(_Behaviour("decline", content=refusal))

    def hang(self) -> None:
        self._queue.append(_Behaviour("hang"))

    def fail(self, status: int, *, retry_after: str | None = None) -> None:
        self._queue.append(_Behaviour("fail", status=status, retry_after=retry_after))

    # ------------------------------------------------------------------------------------- server

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()

    async def close(self) -> None:
        self._released.set()  # a hanging answer ends, so the server closes at once
        if self._server is not None:
            await self._server.close()

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        raw = await request.text()
        body = json.loads(raw) if raw else {}
        headers = dict(request.headers)
        self.requests.append(Recorded(body=body, headers=headers, path=request.path))
        if self.require_key is not None and headers.get("Authorization") != f"Bearer {self.require_key}":
            given = headers.get("Authorization", "").removeprefix("Bearer ")
            return self._error(401, key=f"{given[:3]}****{given[-4:]}" if given else "none")
        behaviour = self._queue.popleft() if self._queue else _Behaviour("fail", status=500)
        if behaviour.kind == "hang":
            await self._released.wait()
            return web.Response(status=504)
        if behaviour.kind == "fail":
            extra = {"Retry-After": behaviour.retry_after} if behaviour.retry_after is not None else {}
            return self._error(behaviour.status, headers=extra)
        message: dict[str, Any] = {"role": "assistant", "content": behaviour.content, "refusal": None}
        if behaviour.kind == "decline":
            message = {"role": "assistant", "content": None, "refusal": behaviour.content}
        return web.json_response(
            {
                "id": f"chatcmpl-fake{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", ""),
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 900, "completion_tokens": 40, "total_tokens": 940},
            }
        )

    def _error(self, status: int, *, key: str = "", headers: dict[str, str] | None = None) -> web.Response:
        kind, code, message = ERRORS.get(status, ("api_error", None, "Something went wrong."))
        error = {"message": message.format(key=key), "type": kind, "param": None, "code": code}
        return web.json_response({"error": error}, status=status, headers=headers)


@pytest.fixture
async def fake() -> AsyncIterator[FakeChatCompletions]:
    """A started fake for one test (import it into a test module to use it as the fixture ``fake``)."""
    server = FakeChatCompletions()
    await server.start()
    yield server
    await server.close()
