"""The ingest handlers.

A request goes: bearer token (401 when missing, unknown or revoked; 403 when the token may not send
this kind), rate limit (429 with Retry-After), body size (413), JSON nested at most
:data:`MAX_JSON_DEPTH` deep (400; measured before parsing, see :mod:`adapters.payloads`), array of at
most ``max_records`` records (422 / 413), then the idempotency claim (:mod:`adapters.api.idempotency`:
409 while another request with the key runs), the request shape of every record (pydantic) and the
importer's validation of every value, bounds included. Any problem gives 422 listing every problem with
its index, and nothing is written; otherwise all records are upserted in one transaction, with the
idempotency answer when an ``Idempotency-Key`` was sent. After surveys, detractor comments go to their
CSMs as feedback items, as after a CSV import.

When the database cannot be reached, at any step from the token look-up on, the answer is 503 with
``Retry-After`` and one warning line, never a 500 with a traceback.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from adapters.api.idempotency import RETRY_IN_PROGRESS_SECONDS, Idempotency, KeyReused
from adapters.api.ratelimit import RateLimiter
from adapters.api.schemas import MODELS, openapi_document
from adapters.payloads import PayloadError, loads
from bot.core.import_rules import import_options
from bot.feedback.routing import routing_from_settings
from bot.feedback.surveys import SURVEY_FRESH_DAYS, feedback_from_surveys
from bot.log import get_logger
from storage.api_tokens import find_token
from storage.db import Database
from storage.importer import (
    RecordProblem,
    RecordsValidationError,
    load_kind,
    validate_records,
    write_records,
)
from storage.models import ApiToken
from storage.types import utcnow

log = get_logger("touchpoint.api")

PREFIX = "/api/v1"
MAX_KEY = 200
# An array of flat records nests 2 deep; anything much deeper is not a request of ours.
MAX_JSON_DEPTH = 8
RETRY_AFTER_OUTAGE_SECONDS = 5
# What a database that cannot be reached raises: the driver's connection errors arrive wrapped by
# SQLAlchemy or, while connecting, as they are.
UNAVAILABLE = (SQLAlchemyError, OSError, TimeoutError)
_CHUNK = 64 * 1024
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """Limits of the ingest API. The rate limit is per token and per process (each replica has its own)."""

    max_records: int = 5_000
    max_body_bytes: int = 5 * 1024 * 1024
    requests_per_minute: int = 60
    # Segment delivers events as they happen, in many requests (calls per request: max_records). Its
    # Webhooks destination batches up to 4,000 calls of up to 32 KB each, with no limit on the body.
    segment_requests_per_minute: int = 3_000
    segment_max_body_bytes: int = 16 * 1024 * 1024


class Answer(Exception):
    """An early answer: raise it anywhere in a handler."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}


def error_answer(status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, {"error": message}, headers)


def _problems(problems: list[RecordProblem]) -> Answer:
    errors = [{"index": p.index, "field": p.field, "problem": p.problem} for p in problems]
    return Answer(422, {"errors": errors})


def _shape_problems(index: int, exc: ValidationError) -> list[RecordProblem]:
    """Pydantic's errors for one record: one problem per field (a union reports once per member)."""
    out: dict[str | None, str] = {}
    for error in exc.errors():
        loc = error["loc"]
        field = str(loc[0]) if loc else None
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        elif error["type"] == "missing":
            message = "missing value"
        elif field is None:
            message = "expected an object"
        else:
            message = str(error["msg"])
        out.setdefault(field, message)
    return [RecordProblem(index, field, message) for field, message in out.items()]


class IngestApi:
    def __init__(self, db: Database, settings: Any, limits: IngestLimits) -> None:
        self.db = db
        self.settings = settings
        self.limits = limits
        self.rate = RateLimiter(limits.requests_per_minute)
        self.idempotency = Idempotency(db)
        self.openapi = openapi_document(
            max_records=limits.max_records,
            max_body_bytes=limits.max_body_bytes,
            rate_per_minute=limits.requests_per_minute,
        )

    async def openapi_handler(self, _request: web.Request) -> web.Response:
        return web.json_response(self.openapi)

    def handler(self, kind: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            try:
                status, body = await self.ingest(kind, request)
            except Answer as answer:
                status, body = answer.status, answer.body
                return web.json_response(body, status=status, headers=answer.headers)
            except UNAVAILABLE as error:
                log.warning("ingest_database_unavailable", kind=kind, error=type(error).__name__)
                return web.json_response(
                    {"error": "the database is unavailable; nothing was written, retry later"},
                    status=503,
                    headers={"Retry-After": str(RETRY_AFTER_OUTAGE_SECONDS)},
                )
            return web.json_response(body, status=status)

        return handle

    async def authenticate(self, request: web.Request, kind: str) -> ApiToken:
        header = request.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        challenge = {"WWW-Authenticate": 'Bearer realm="touchpoint"'}
        if scheme.lower() != "bearer" or not secret.strip():
            raise error_answer(401, "missing bearer token", challenge)
        async with self.db.transaction() as session:
            token = await find_token(session, secret.strip())
            if token is None or token.revoked_at is not None:
                raise error_answer(401, "invalid or revoked token", challenge)
            now = utcnow()
            # To the minute: a sender posting many times a second would otherwise queue on this row.
            if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
                token.last_used_at = now
        if token.kinds is not None and kind not in token.kinds:
            raise error_answer(403, f"this token may not send {kind}")
        return token

    async def read_body(self, request: web.Request, limit: int | None = None) -> bytes:
        limit = limit or self.limits.max_body_bytes
        too_big = error_answer(413, f"the body is over {limit} bytes")
        if request.content_length is not None and request.content_length > limit:
            raise too_big
        chunks: list[bytes] = []
        size = 0
        while chunk := await request.content.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
        return b"".join(chunks)

    async def ingest(self, kind: str, request: web.Request) -> tuple[int, dict[str, Any]]:
        token = await self.authenticate(request, kind)
        wait = self.rate.take(token.id)
        if wait:
            limit = self.limits.requests_per_minute
            raise error_answer(429, f"over {limit} requests per minute", {"Retry-After": str(wait)})
        raw = await self.read_body(request)
        try:
            payload = loads(raw, max_depth=MAX_JSON_DEPTH)
        except PayloadError as error:
            raise error_answer(400, str(error)) from None
        if not isinstance(payload, list):
            problem = {"index": None, "field": None, "problem": "expected a JSON array of records"}
            raise Answer(422, {"errors": [problem]})
        if len(payload) > self.limits.max_records:
            raise error_answer(413, f"{len(payload)} records: at most {self.limits.max_records} per request")

        key = request.headers.get("Idempotency-Key", "").strip() or None
        if key is None:
            return await self.process(kind, token, payload, None)
        if len(key) > MAX_KEY:
            raise error_answer(400, f"Idempotency-Key has more than {MAX_KEY} characters")
        request_hash = hashlib.sha256(kind.encode() + b"\0" + raw).hexdigest()
        try:
            earlier = await self.idempotency.claim(token.id, key, request_hash)
        except KeyReused:
            raise error_answer(422, "this Idempotency-Key was already used for a different request") from None
        if earlier is not None:
            if earlier.in_progress:
                raise error_answer(
                    409,
                    "a request with this Idempotency-Key is in progress; retry later",
                    {"Retry-After": str(RETRY_IN_PROGRESS_SECONDS)},
                )
            return earlier.status, earlier.body
        try:
            return await self.process(kind, token, payload, key)
        except Answer as answer:
            if answer.status == 422:
                await self.idempotency.finish(token.id, key, answer.status, answer.body)
            else:
                await self._release(token.id, key)
            raise
        except BaseException:
            await self._release(token.id, key)
            raise

    async def _release(self, token_id: int, key: str) -> None:
        """Give the key back so a retry can run; a database that is down keeps it until it goes stale."""
        try:
            await self.idempotency.release(token_id, key)
        except UNAVAILABLE as error:
            log.warning("ingest_idempotency_key_kept", error=type(error).__name__)

    async def process(
        self, kind: str, token: ApiToken, payload: list[Any], key: str | None
    ) -> tuple[int, dict[str, Any]]:
        model = MODELS[kind]
        problems: list[RecordProblem] = []
        rows: list[dict[str, Any]] = []
        for index, item in enumerate(payload):
            try:
                rows.append(model.model_validate(item).model_dump(exclude_unset=True))
            except ValidationError as exc:
                problems.extend(_shape_problems(index, exc))
                rows.append({})
        options = import_options(self.settings.default_timezone)
        handler = await load_kind(self.db, kind, options)
        try:
            prepared = validate_records(handler, rows, problems=problems)
        except RecordsValidationError as exc:
            raise _problems(exc.problems) from None

        source = f"api:{token.name}"
        try:
            async with self.db.transaction() as session:
                result = await write_records(session, prepared, source=source, actor_label=source)
                body: dict[str, Any] = {
                    "kind": kind,
                    "records": result.rows,
                    "inserted": result.inserted,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                }
                if kind == "surveys":
                    body["feedback_items"] = 0
                if key is not None:
                    await self.idempotency.store(session, token.id, key, 200, body)
        except IntegrityError:
            raise error_answer(409, "the database refused the records (changed meanwhile); retry") from None
        except DataError as exc:  # a value the validators let through but the database cannot hold
            log.warning("ingest_value_refused", kind=kind, error=type(exc).__name__)
            problem = {"index": None, "field": None, "problem": "the database refused a value of the records"}
            raise Answer(422, {"errors": [problem]}) from None
        log.info("ingest", kind=kind, token=token.name, **result.details())
        if kind == "surveys":
            now = datetime.now(UTC)
            try:
                body["feedback_items"] = await feedback_from_surveys(
                    self.db,
                    since=now - timedelta(days=SURVEY_FRESH_DAYS),
                    now=now,
                    routing=routing_from_settings(self.settings),
                )
            except Exception as exc:  # the answers are stored; feedback is retried by the next import
                log.warning("ingest_feedback_failed", error=type(exc).__name__)
        return 200, body


def add_record_routes(app: web.Application, api: IngestApi) -> None:
    """Add one endpoint per record kind and ``GET /api/v1/openapi.json`` to ``app``.

    Bodies are read here with their own size limit (``limits.max_body_bytes``), not the app's
    ``client_max_size``.
    """
    app.router.add_get(f"{PREFIX}/openapi.json", api.openapi_handler)
    for kind in MODELS:
        app.router.add_post(f"{PREFIX}/{kind}", api.handler(kind))
