"""Every endpoint of the ingest API, wired into the web app in one call."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from adapters.api.ingest import IngestApi, IngestLimits, add_record_routes
from adapters.api.segment import add_segment_route
from storage.db import Database


def add_ingest_routes(
    app: web.Application,
    *,
    db: Database,
    settings: Any,
    limits: IngestLimits | None = None,
    clock: Callable[[], datetime] | None = None,
) -> None:
    """``POST /api/v1/{kind}`` for each record kind, ``POST /api/v1/segment`` and
    ``GET /api/v1/openapi.json``; ``clock`` (the wall clock by default) dates Segment's events."""
    api = IngestApi(db, settings, limits or IngestLimits())
    add_record_routes(app, api)
    add_segment_route(
        app,
        api,
        max_calls=api.limits.max_records,
        requests_per_minute=api.limits.segment_requests_per_minute,
        clock=clock,
    )
