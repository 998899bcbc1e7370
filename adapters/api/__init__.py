"""The JSON ingest API: ``POST /api/v1/{people,accounts,usage,surveys,milestones}``, Segment Spec calls
at ``POST /api/v1/segment`` and the OpenAPI
document at ``GET /api/v1/openapi.json``. Wire it into a web app with :func:`add_ingest_routes`."""

from adapters.api.ingest import IngestLimits
from adapters.api.routes import add_ingest_routes

__all__ = ["IngestLimits", "add_ingest_routes"]
