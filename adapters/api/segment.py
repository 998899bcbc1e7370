"""``POST /api/v1/segment``: Segment Spec calls from Segment's Webhooks (Actions) destination or a
Segment Function, one at a time or batched.

The request goes through the ingest API's gates (:mod:`adapters.api.ingest`): a bearer token that may
send ``segment`` (401 / 403), a rate limit of its own per token (429 with ``Retry-After``; Segment
sends many small requests, so it is higher than the record kinds'), the body size (413). Then every call
is checked (:mod:`adapters.connectors.segment.spec`): any malformed call refuses the whole request with
400 listing each problem with its index and field, and nothing is stored. Otherwise the calls are
stored (:mod:`adapters.connectors.segment.intake`) and committed before the 200 goes back, which says
how many were accepted, were duplicates, came too late to count, or are waiting for their account.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from adapters.api.ingest import PREFIX, UNAVAILABLE, Answer, IngestApi, error_answer
from adapters.api.ratelimit import RateLimiter
from adapters.connectors.config import load_connectors_config
from adapters.connectors.segment.intake import take_calls
from adapters.connectors.segment.spec import parse_calls
from adapters.connectors.sources_config import SegmentConfig
from adapters.payloads import PayloadError, loads
from bot.log import get_logger

log = get_logger("touchpoint.api.segment")

KIND = "segment"
PATH = f"{PREFIX}/segment"
# Spec calls carry free-form properties and context, which nest deeper than import records.
MAX_JSON_DEPTH = 32
RETRY_AFTER_OUTAGE_SECONDS = 5


class SegmentApi:
    """The endpoint over the ingest API's gates, with the ``[connectors.segment]`` mapping."""

    def __init__(
        self,
        api: IngestApi,
        config: SegmentConfig,
        *,
        max_calls: int,
        requests_per_minute: int,
        clock: Callable[[], datetime],
    ) -> None:
        self.api, self.config, self.max_calls, self.clock = api, config, max_calls, clock
        self.rate = RateLimiter(requests_per_minute)

    async def handle(self, request: web.Request) -> web.Response:
        try:
            status, body = await self.take(request)
        except Answer as answer:
            return web.json_response(answer.body, status=answer.status, headers=answer.headers)
        except UNAVAILABLE as error:
            log.warning("segment_database_unavailable", error=type(error).__name__)
            return web.json_response(
                {"error": "the database is unavailable; nothing was stored, retry later"},
                status=503,
                headers={"Retry-After": str(RETRY_AFTER_OUTAGE_SECONDS)},
            )
        return web.json_response(body, status=status)

    async def take(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        token = await self.api.authenticate(request, KIND)
        wait = self.rate.take(token.id)
        if wait:
            raise error_answer(
                429, f"over {int(self.rate.capacity)} requests per minute", {"Retry-After": str(wait)}
            )
        raw = await self.api.read_body(request, self.api.limits.segment_max_body_bytes)
        try:
            payload = loads(raw, max_depth=MAX_JSON_DEPTH)
        except PayloadError as error:
            raise error_answer(400, str(error)) from None
        received = self.clock()
        calls, problems = parse_calls(payload, received=received)
        if problems:
            errors = [{"index": p.index, "field": p.field, "problem": p.problem} for p in problems]
            raise Answer(400, {"errors": errors})
        if len(calls) > self.max_calls:
            raise error_answer(413, f"{len(calls)} calls: at most {self.max_calls} per request")
        intake = await take_calls(
            self.api.db,
            calls,
            self.config,
            received=received,
            timezone=self.api.settings.default_timezone,
        )
        log.info("segment_calls", token=token.name, calls=len(calls), **intake.body())
        return 200, intake.body()


def add_segment_route(
    app: web.Application,
    api: IngestApi,
    *,
    max_calls: int,
    requests_per_minute: int,
    clock: Callable[[], datetime] | None = None,
) -> None:
    """Add ``POST /api/v1/segment`` with the mapping of the install's ``touchpoint.toml``."""
    config = load_connectors_config(api.settings.config_file).segment or SegmentConfig()
    segment = SegmentApi(
        api,
        config,
        max_calls=max_calls,
        requests_per_minute=requests_per_minute,
        clock=clock or (lambda: datetime.now(UTC)),
    )
    app.router.add_post(PATH, segment.handle)
