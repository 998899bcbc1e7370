"""JSON over HTTP for connectors, with the retrying every outside system needs.

- Each request has a timeout (30 s by default).
- A connection error, a timeout or a 5xx answer is tried again after a growing wait (1 s, 2 s, 4 s), up to
  ``max_tries`` tries in all; then :class:`ConnectorError` says the system could not be reached. Callers
  send only requests that are safe to repeat (reads, searches, and writes that set values).
- A 429 goes to the system's own ``on_rate_limit`` hook: it returns how long to wait before trying again,
  or raises (a daily quota is not worth waiting for). Waits for 429s are counted apart from the tries and
  bounded by ``max_rate_limited``.
- ``pause_after`` may ask for a pause before the next request from a successful answer's headers (a
  system that reports its remaining budget), so the connector slows down before it is refused.
- Every other answer (2xx, 4xx) is returned: what a refusal means is the system's business.

Waiting goes through ``sleep``, so tests record the waits instead of waiting. Nothing here logs headers,
query strings or bodies: they may carry credentials or customer data.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import aiohttp
import structlog
from multidict import CIMultiDict, CIMultiDictProxy

from adapters.connectors.errors import ConnectorError, ConnectorLimitError
from bot.delivery import pacing

Sleep = Callable[[float], Awaitable[None]]

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_MAX_TRIES = 4
DEFAULT_MAX_RATE_LIMITED = 8
FIRST_BACKOFF_SECONDS = 1.0

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """One answer: its status, headers (looked up in any case), the body parsed as JSON (None when it is
    empty or not JSON) and the raw text."""

    status: int
    headers: CIMultiDictProxy[str]
    body: Any
    text: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _parse_json(text: str) -> Any:
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def retry_after_seconds(answer: HttpAnswer) -> float | None:
    """The answer's ``Retry-After`` in seconds (a number or an HTTP date), None when it has none."""
    return pacing.retry_after_seconds(answer.headers.get("Retry-After"))


def _default_rate_limit(answer: HttpAnswer) -> float:
    seconds = retry_after_seconds(answer)
    return 1.0 if seconds is None else seconds


class JsonHttp:
    """Requests to one system's API under ``base_url``, every one carrying ``headers``."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        system: str,
        headers: Mapping[str, str] | None = None,
        sleep: Sleep = asyncio.sleep,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_tries: int = DEFAULT_MAX_TRIES,
        max_rate_limited: int = DEFAULT_MAX_RATE_LIMITED,
        on_rate_limit: Callable[[HttpAnswer], float] = _default_rate_limit,
        pause_after: Callable[[HttpAnswer], float] | None = None,
    ) -> None:
        if max_tries < 1:
            raise ValueError("max_tries must be at least 1")
        self._session = session
        self._base_url = base_url.rstrip("/")
        self.system = system
        self._headers = dict(headers or {})
        self._sleep = sleep
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_tries = max_tries
        self._max_rate_limited = max_rate_limited
        self._on_rate_limit = on_rate_limit
        self._pause_after = pause_after
        self._pause = 0.0  # asked for by the last answer, waited before the next request

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> HttpAnswer:
        """Send one request (again, as the rules above say) and return the answer that ends it."""
        failures = 0
        rate_limited = 0
        while True:
            if self._pause > 0:
                pause, self._pause = self._pause, 0.0
                await self._sleep(pause)
            try:
                answer = await self._send(method, path, params, json_body)
            except (aiohttp.ClientError, TimeoutError) as error:
                failures += 1
                if failures >= self._max_tries:
                    raise ConnectorError(
                        f"{self.system} could not be reached ({method} {path}: {type(error).__name__}) "
                        f"after {failures} tries: check the network connection and {self.system}'s status "
                        "page; the next run starts again from where this one stopped",
                        system=self.system,
                    ) from error
                await self._wait_to_retry(method, path, failures, problem=type(error).__name__)
                continue
            if answer.status == 429:
                rate_limited += 1
                wait = self._on_rate_limit(answer)  # raises when waiting is pointless
                if rate_limited > self._max_rate_limited:
                    raise ConnectorLimitError(
                        f"{self.system} kept refusing {method} {path} with 429 (too many requests) after "
                        f"{self._max_rate_limited} waits: the run stops, and the next run resumes from where "
                        "this one stopped",
                        system=self.system,
                        status=429,
                    )
                log.info(
                    "connector_rate_limited", system=self.system, method=method, path=path, wait_seconds=wait
                )
                await self._sleep(wait)
                continue
            if answer.status >= 500:
                failures += 1
                if failures >= self._max_tries:
                    raise ConnectorError(
                        f"{self.system} answered {answer.status} to {method} {path} {failures} times in a "
                        f"row: it is having trouble; see {self.system}'s status page. The next run starts "
                        "again from where this one stopped",
                        system=self.system,
                        status=answer.status,
                    )
                await self._wait_to_retry(method, path, failures, problem=str(answer.status))
                continue
            if answer.ok and self._pause_after is not None:
                self._pause = self._pause_after(answer)
            return answer

    async def _send(
        self, method: str, path: str, params: Mapping[str, str] | None, json_body: Any
    ) -> HttpAnswer:
        async with self._session.request(
            method,
            self._base_url + path,
            params=dict(params) if params else None,
            json=json_body,
            headers=self._headers,
            timeout=self._timeout,
        ) as response:
            text = await response.text()
            headers = CIMultiDictProxy(CIMultiDict(response.headers))
            return HttpAnswer(status=response.status, headers=headers, body=_parse_json(text), text=text)

    async def _wait_to_retry(self, method: str, path: str, failures: int, *, problem: str) -> None:
        wait = FIRST_BACKOFF_SECONDS * 2 ** (failures - 1)
        log.warning(
            "connector_retry",
            system=self.system,
            method=method,
            path=path,
            problem=problem,
            attempt=failures,
            wait_seconds=wait,
        )
        await self._sleep(wait)


class OwnedSession:
    """The HTTP session of a connector's client: one passed in is the caller's and left open; otherwise
    the client makes its own when first needed and closes it on the way out (``async with``).
    :meth:`_forget` drops what was built on the session when it is closed."""

    def __init__(self, session: aiohttp.ClientSession | None) -> None:
        self._session = session
        self._owns_session = session is None

    def _http_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    def _open(self) -> None:
        """Called on entering ``async with``: build what the client needs up front."""

    def _forget(self) -> None:
        """Called when the client's own session is closed."""

    async def __aenter__(self) -> Self:
        self._open()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None
            self._forget()
