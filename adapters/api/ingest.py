"""The ingest handlers.

A request goes: bearer token (401 when missing, unknown or revoked; 403 when the token may not send
this kind), rate limit (429 with Retry-After), body size (413), JSON (400), array of at most
``max_records`` records (422 / 413), then the idempotency check, the request shape of every record
(pydantic) and the importer's validation of every value. Any problem gives 422 listing every problem
with its index, and nothing is written; otherwise all records are upserted in one transaction, with
the idempotency record when an ``Idempotency-Key`` was sent. After surveys, detractor comments go to
their CSMs as feedback items, as after a CSV import.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from adapters.api.ratelimit import RateLimiter
from adapters.api.schemas import MODELS, openapi_document
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
from storage.models import ApiToken, IdempotencyRecord
from storage.types import utcnow

log = get_logger("touchpoint.api")

PREFIX = "/api/v1"
IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_KEY = 200
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """Limits of the ingest API. The rate limit is per token and per process (each replica has its own)."""

    max_records: int = 5_000
    max_body_bytes: int = 5 * 1024 * 1024
    requests_per_minute: int = 60


class _Answer(Exception):
    """An early answer: raise it anywhere in a handler."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> _Answer:
    return _Answer(status, {"error": message}, headers)


def _problems(problems: list[RecordProblem]) -> _Answer:
    errors = [{"index": p.index, "field": p.field, "problem": p.problem} for p in problems]
    return _Answer(422, {"errors": errors})


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
            except _Answer as answer:
                status, body = answer.status, answer.body
                return web.json_response(body, status=status, headers=answer.headers)
            return web.json_response(body, status=status)

        return handle

    async def authenticate(self, request: web.Request, kind: str) -> ApiToken:
        header = request.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        challenge = {"WWW-Authenticate": 'Bearer realm="touchpoint"'}
        if scheme.lower() != "bearer" or not secret.strip():
            raise _error(401, "missing bearer token", challenge)
        async with self.db.transaction() as session:
            token = await find_token(session, secret.strip())
            if token is None or token.revoked_at is not None:
                raise _error(401, "invalid or revoked token", challenge)
            token.last_used_at = utcnow()
        if token.kinds is not None and kind not in token.kinds:
            raise _error(403, f"this token may not send {kind}")
        return token

    async def read_body(self, request: web.Request) -> bytes:
        limit = self.limits.max_body_bytes
        too_big = _error(413, f"the body is over {limit} bytes")
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
            raise _error(429, f"over {limit} requests per minute", {"Retry-After": str(wait)})
        raw = await self.read_body(request)
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise _error(400, "the body is not valid JSON") from None
        if not isinstance(payload, list):
            problem = {"index": None, "field": None, "problem": "expected a JSON array of records"}
            raise _Answer(422, {"errors": [problem]})
        if len(payload) > self.limits.max_records:
            raise _error(413, f"{len(payload)} records: at most {self.limits.max_records} per request")

        key = request.headers.get("Idempotency-Key", "").strip() or None
        request_hash = hashlib.sha256(kind.encode() + b"\0" + raw).hexdigest()
        if key is not None:
            if len(key) > MAX_KEY:
                raise _error(400, f"Idempotency-Key has more than {MAX_KEY} characters")
            earlier = await self.remembered(token.id, key, request_hash)
            if earlier is not None:
                return earlier

        try:
            status, body = await self.process(kind, token, payload, key, request_hash)
        except _Answer as answer:
            if key is not None and answer.status == 422:
                await self.remember(token.id, key, request_hash, answer.status, answer.body)
            raise
        return status, body

    async def remembered(
        self, token_id: int, key: str, request_hash: str
    ) -> tuple[int, dict[str, Any]] | None:
        async with self.db.sessions() as session:
            record = await session.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.token_id == token_id,
                    IdempotencyRecord.key == key,
                    IdempotencyRecord.created_at > utcnow() - IDEMPOTENCY_TTL,
                )
            )
        if record is None:
            return None
        if record.request_hash != request_hash:
            raise _error(422, "this Idempotency-Key was already used for a different request")
        body: dict[str, Any] = json.loads(record.body)
        return record.status, body

    async def remember(
        self, token_id: int, key: str, request_hash: str, status: int, body: dict[str, Any]
    ) -> None:
        try:
            async with self.db.transaction() as session:
                await self._store(session, token_id, key, request_hash, status, body)
        except IntegrityError:
            pass  # a concurrent request with the same key answered first

    @staticmethod
    async def _store(
        session: Any, token_id: int, key: str, request_hash: str, status: int, body: dict[str, Any]
    ) -> None:
        # Expired records of this token and key go first, so the key can be used again after 24 h.
        await session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.created_at <= utcnow() - IDEMPOTENCY_TTL,
            )
        )
        session.add(
            IdempotencyRecord(
                token_id=token_id, key=key, request_hash=request_hash, status=status, body=json.dumps(body)
            )
        )

    async def process(
        self, kind: str, token: ApiToken, payload: list[Any], key: str | None, request_hash: str
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
                    await self._store(session, token.id, key, request_hash, 200, body)
        except IntegrityError:
            if key is not None:
                earlier = await self.remembered(token.id, key, request_hash)
                if earlier is not None:
                    return earlier
            raise _error(409, "the database refused the records (changed meanwhile); retry") from None
        except SQLAlchemyError as exc:
            log.warning("ingest_database_error", kind=kind, error=type(exc).__name__)
            raise _error(503, "the database refused the records; nothing was written") from None
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


def add_ingest_routes(
    app: web.Application, *, db: Database, settings: Any, limits: IngestLimits | None = None
) -> None:
    """Add the ingest endpoints and ``GET /api/v1/openapi.json`` to ``app``.

    Bodies are read here with their own size limit (``limits.max_body_bytes``), not the app's
    ``client_max_size``.
    """
    api = IngestApi(db, settings, limits or IngestLimits())
    app.router.add_get(f"{PREFIX}/openapi.json", api.openapi_handler)
    for kind in MODELS:
        app.router.add_post(f"{PREFIX}/{kind}", api.handler(kind))
