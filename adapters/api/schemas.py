"""The request shape of each ingest kind, as pydantic models, and the OpenAPI document built from them.

The models check only the JSON shape (which fields, which JSON types); the values themselves (dates,
emails, known accounts, survey scales, bounds) are checked by the importer's validators, exactly as for
CSV, so a problem reads the same either way. The bounds those validators keep (text lengths, the range
of numbers and days) are written into the schema for the reader of the OpenAPI document.
Field names are the CSV column names.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from storage.importer.fields import DAY_RANGE, MAX_COMMENT, MAX_NUMBER

Number = StrictInt | StrictFloat
Measure = Annotated[Number, Field(json_schema_extra={"minimum": 0, "maximum": MAX_NUMBER})]
Date = Annotated[StrictStr, Field(json_schema_extra={"format": "date", "description": DAY_RANGE})]
DateTime = Annotated[StrictStr, Field(json_schema_extra={"format": "date-time", "description": DAY_RANGE})]
Email = Annotated[StrictStr, Field(json_schema_extra={"format": "email", "maxLength": 320})]
Text64 = Annotated[StrictStr, Field(json_schema_extra={"maxLength": 64})]
Text128 = Annotated[StrictStr, Field(json_schema_extra={"maxLength": 128})]
Text200 = Annotated[StrictStr, Field(json_schema_extra={"maxLength": 200})]
Comment = Annotated[StrictStr, Field(json_schema_extra={"maxLength": MAX_COMMENT})]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonRecord(_Record):
    """A CSM, CS manager, CX person or admin, upserted by email."""

    email: Email
    name: Text200
    role: StrictStr = Field(description="csm, cs_manager, cx or admin")
    manager_email: Email | None = None
    timezone: StrictStr | None = Field(None, description="IANA time zone, e.g. Europe/Paris")
    slack_user_id: Text64 | None = None
    teams_user_id: Text200 | None = None


class AccountRecord(_Record):
    """A customer account, upserted by external_id; its owner must be a known person."""

    external_id: Text128
    name: Text200
    owner_email: Email
    domain: StrictStr | None = Field(None, description="web domain, such as acme.com")
    segment: Text64 | None = None
    tier: Text64 | None = None
    arr: Number | StrictStr | None = Field(None, description="annual recurring revenue, 2 decimals at most")
    lifecycle_stage: StrictStr | None = Field(
        None, description="onboarding, adopting, mature, renewing, churned"
    )
    contract_start: Date | None = None
    renewal_date: Date | None = None


class UsageRecord(_Record):
    """One metric of one account on one day, upserted by (account_external_id, date, metric)."""

    account_external_id: StrictStr
    date: Date
    metric: Text64
    value: Measure


class SurveyRecord(_Record):
    """An NPS (0-10), CSAT (1-5) or CES (1-7) answer, upserted by external_id when given, else by
    (account_external_id, kind, respondent_email, submitted_at)."""

    account_external_id: StrictStr
    kind: StrictStr = Field(description="nps, csat or ces")
    score: StrictInt
    submitted_at: DateTime
    comment: Comment | None = None
    respondent_email: Email | None = None
    external_id: Text128 | None = None


class MilestoneRecord(_Record):
    """A dated step of an account's plan, upserted by (account_external_id, name)."""

    account_external_id: StrictStr
    name: Text200
    due_date: Date
    kind: StrictStr | None = Field(
        None, description="kickoff, technical_setup, first_value, go_live, qbr, renewal or other"
    )
    completed_at: DateTime | None = None


class OutcomeRecord(_Record):
    """A desired outcome of an account's success plan, upserted by (account_external_id, title)."""

    account_external_id: StrictStr
    title: Text200
    due_date: Date
    metric: StrictStr | None = Field(
        None,
        description="active_users, features_adopted, licensed_seats, open_tickets, escalations, "
        "features_available, nps, csat or ces; leave out for a manual outcome a person marks achieved",
    )
    target: StrictStr | Number | None = Field(None, description='a number, or ">= 200" / "<= 5"')
    comparison: StrictStr | None = Field(None, description="at_least or at_most (default: by metric)")
    status: StrictStr | None = Field(None, description="open, achieved or missed")
    customer_owner: Text200 | None = None


MODELS: dict[str, type[_Record]] = {
    "people": PersonRecord,
    "accounts": AccountRecord,
    "usage": UsageRecord,
    "surveys": SurveyRecord,
    "milestones": MilestoneRecord,
    "outcomes": OutcomeRecord,
}


class ProblemOut(BaseModel):
    index: int | None = Field(description="0-based position of the record in the array; null for the request")
    field: str | None
    problem: str


class ErrorsOut(BaseModel):
    errors: list[ProblemOut]


class ErrorOut(BaseModel):
    error: str


class ResultOut(BaseModel):
    kind: str
    records: int
    inserted: int
    updated: int
    unchanged: int
    feedback_items: int | None = Field(
        None, description="surveys only: detractor comments sent to their CSMs as feedback"
    )


def openapi_document(*, max_records: int, max_body_bytes: int, rate_per_minute: int) -> dict[str, Any]:
    """OpenAPI 3.1 for the ingest endpoints, with the schemas taken from the pydantic models."""
    schemas: dict[str, Any] = {}
    ref = "#/components/schemas/{model}"
    models: tuple[type[BaseModel], ...] = (*MODELS.values(), ProblemOut, ErrorsOut, ErrorOut, ResultOut)
    for model in models:
        schema = model.model_json_schema(ref_template=ref)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema

    def answer(description: str, model: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": ref.format(model=model)}}},
        }
        if headers:
            out["headers"] = headers
        return out

    paths: dict[str, Any] = {}
    for kind, model in MODELS.items():
        paths[f"/api/v1/{kind}"] = {
            "post": {
                "operationId": f"ingest_{kind}",
                "summary": f"Upsert {kind} records (all or none)",
                "security": [{"bearer": []}],
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 200},
                        "description": "a retry with the same key (within 24 h) gets the first answer",
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "array",
                                "maxItems": max_records,
                                "items": {"$ref": ref.format(model=model.__name__)},
                            }
                        }
                    },
                },
                "responses": {
                    "200": answer("every record was written (inserted, updated or unchanged)", "ResultOut"),
                    "400": answer("the body is not JSON, or nests deeper than records do", "ErrorOut"),
                    "401": answer("missing, unknown or revoked token", "ErrorOut"),
                    "403": answer("the token may not send this kind", "ErrorOut"),
                    "413": answer(f"more than {max_records} records or {max_body_bytes} bytes", "ErrorOut"),
                    "409": answer(
                        "a request with the same Idempotency-Key is still in progress, or the records "
                        "changed meanwhile; nothing was written, retry",
                        "ErrorOut",
                        {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
                    ),
                    "422": answer("records are wrong; nothing was written", "ErrorsOut"),
                    "429": answer(
                        f"over {rate_per_minute} requests per minute for this token",
                        "ErrorOut",
                        {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
                    ),
                    "503": answer(
                        "the database is unavailable; nothing was written",
                        "ErrorOut",
                        {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
                    ),
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Touchpoint ingest API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
