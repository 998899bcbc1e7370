"""HubSpot's answers read into records, and its refusals into the connector errors.

The records, owners, property definitions and pages :class:`~adapters.connectors.hubspot.client.HubSpotClient`
returns; HubSpot's times; the outcome of a batch update; and the mapping of a refused request onto
:mod:`adapters.connectors.errors`: a refused token or a missing scope is a :class:`ConnectorAuthError`, the
daily quota a :class:`ConnectorLimitError`, an unknown object type or property a
:class:`ConnectorSchemaError`. Also how long to wait on a burst rate limit, or when the budget is spent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.connectors.errors import (
    ConnectorAuthError,
    ConnectorError,
    ConnectorLimitError,
    ConnectorSchemaError,
)
from adapters.connectors.http import HttpAnswer, retry_after_seconds

SYSTEM = "HubSpot"
DAILY_LIMIT_MESSAGE = (
    "HubSpot's daily API limit is reached; the sync stops and resumes from where it stopped on the next run"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MISSING_PROPERTY = re.compile(r'"name"\s*:\s*"([^"]+)"')


@dataclass(frozen=True, slots=True)
class CrmRecord:
    """A company, deal or contact. ``updated_at`` is its last modification: the modification property
    search filters on (``hs_lastmodifieddate``; ``lastmodifieddate`` for contacts) when the answer holds
    it, else ``updatedAt``. ``associations`` maps an associated object type to its ids, each once."""

    id: str
    properties: dict[str, str | None]
    updated_at: datetime
    archived: bool
    associations: dict[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class CrmOwner:
    """A HubSpot user records are assigned to; ``id`` is what ``hubspot_owner_id`` holds."""

    id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    archived: bool


@dataclass(frozen=True, slots=True)
class PropertyInfo:
    name: str
    label: str
    type: str  # string, number, datetime, enumeration, bool, ...


@dataclass(frozen=True, slots=True)
class Page:
    """Records and the cursor of the next page: None on the last one, and on every page of
    :meth:`HubSpotClient.modified_since`, whose cursor is the last record's ``updated_at``."""

    records: tuple[CrmRecord, ...]
    after: str | None


def parse_time(raw: object) -> datetime | None:
    """A HubSpot time as an aware UTC datetime: ISO-8601 (``Z``, with or without milliseconds) or, as some
    datetime properties still hold, milliseconds since the epoch. None when absent or unreadable."""
    if not isinstance(raw, str) or not raw:
        return None
    if raw.isdigit():
        return _EPOCH + timedelta(milliseconds=int(raw))
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, the form search filters take dates in."""
    if moment.tzinfo is None:
        raise ValueError("a time zone is needed (HubSpot's times are UTC)")
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def modified_property(object_type: str) -> str:
    """The property holding a record's last modification: contacts keep it apart from the others."""
    return "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"


# ------------------------------------------------------------------------------------------- reading


def read_record(raw: dict[str, Any], modified: str) -> CrmRecord:
    properties = {str(k): None if v is None else str(v) for k, v in (raw.get("properties") or {}).items()}
    updated_at = parse_time(properties.get(modified)) or parse_time(raw.get("updatedAt"))
    if updated_at is None:
        message = f"HubSpot sent record {raw.get('id')!r} without a modification time; report it to HubSpot"
        raise ConnectorError(message, system=SYSTEM)
    associations: dict[str, tuple[str, ...]] = {}
    for kind, block in (raw.get("associations") or {}).items():
        ids = (str(item["id"]) for item in (block or {}).get("results") or [] if "id" in item)
        associations[str(kind)] = tuple(dict.fromkeys(ids))  # deal_to_company and ..._unlabeled: once
    return CrmRecord(
        id=str(raw["id"]),
        properties=properties,
        updated_at=updated_at,
        archived=bool(raw.get("archived", False)),
        associations=associations,
    )


def read_owner(raw: dict[str, Any]) -> CrmOwner:
    return CrmOwner(
        id=str(raw["id"]),
        email=_or_none(raw.get("email")),
        first_name=_or_none(raw.get("firstName")),  # "" for deactivated users
        last_name=_or_none(raw.get("lastName")),
        archived=bool(raw.get("archived", False)),
    )


def read_property(raw: dict[str, Any]) -> PropertyInfo:
    return PropertyInfo(
        name=str(raw["name"]), label=str(raw.get("label") or raw["name"]), type=str(raw["type"])
    )


def next_after(body: dict[str, Any]) -> str | None:
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    return None if after in (None, "") else str(after)


def _or_none(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def batch_outcome(body: dict[str, Any], asked_ids: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """The ids of a batch update's answer that were updated (each once), and the others with HubSpot's
    reason, in the order asked. An error is placed by the ids in its context (``objectWriteTraceId`` is
    the id the input was sent with); one naming no asked id is every unconfirmed record's reason."""
    asked = set(asked_ids)
    done = [str(r.get("id")) for r in body.get("results") or [] if str(r.get("id")) in asked]
    reasons: dict[str, str] = {}
    unplaced: list[str] = []
    for error in body.get("errors") or []:
        context = error.get("context") or {}
        ids = [str(i) for i in [*(context.get("ids") or []), *(context.get("objectWriteTraceId") or [])]]
        message = str(error.get("message") or error.get("category") or "refused")
        placed = [i for i in ids if i in asked]
        for rid in placed:
            reasons.setdefault(rid, message)
        if not placed:
            unplaced.append(message)
    default = "; ".join(unplaced) or "HubSpot did not confirm the update (merged into another record?)"
    failed = [(rid, reasons.get(rid, default)) for rid in asked_ids if rid not in done]
    return list(dict.fromkeys(done)), failed


# ------------------------------------------------------------------------------------------ refusals


def refusal(answer: HttpAnswer, doing: str, object_type: str | None, token: str) -> ConnectorError:
    """The error for an answer that is not a JSON object: a refusal, or (when ``ok``) a malformed answer.
    ``token`` never appears in the message."""
    body = answer.body if isinstance(answer.body, dict) else {}
    category = str(body.get("category") or "")
    if answer.status == 401:
        return ConnectorAuthError(
            f"HubSpot refused the access token ({category or 'INVALID_AUTHENTICATION'}): create a new "
            "private app token and set HUBSPOT_ACCESS_TOKEN",
            system=SYSTEM,
            status=401,
        )
    if answer.status == 403:
        scopes = [
            scope
            for error in body.get("errors") or []
            for scope in (error.get("context") or {}).get("requiredGranularScopes") or []
        ]
        needed = f" (needs {', '.join(map(str, scopes))})" if scopes else ""
        return ConnectorAuthError(
            f"HubSpot refused {doing}{needed}: {_scrub(message(answer), token)} Give the private app "
            "the missing scope, then set HUBSPOT_ACCESS_TOKEN to its token",
            system=SYSTEM,
            status=403,
        )
    if answer.status in (400, 404):
        problem = schema_problem(answer)
        if problem is not None:
            kind, name = problem
            text = (
                f"HubSpot has no object type {name!r}: fix the object types in the connector's settings"
                if kind == "type"
                else f"HubSpot has no {object_type} property {name!r}: create it in HubSpot (Settings > "
                "Properties) or fix the connector's field mapping"
            )
            return ConnectorSchemaError(text, system=SYSTEM, status=answer.status)
    if answer.ok:
        text = f"HubSpot answered {doing} with something other than a JSON object; try again later"
        return ConnectorError(text, system=SYSTEM, status=answer.status)
    correlation = f" (correlation id {body['correlationId']})" if body.get("correlationId") else ""
    return ConnectorError(
        f"HubSpot refused {doing} with {answer.status}: {_scrub(message(answer), token)}{correlation}",
        system=SYSTEM,
        status=answer.status,
    )


def _scrub(text: str, token: str) -> str:
    return text.replace(token, "[token]") if token else text


def message(answer: HttpAnswer) -> str:
    """HubSpot's message for a refusal, else the start of the answer, else its status."""
    body = answer.body if isinstance(answer.body, dict) else {}
    return str(body.get("message") or answer.text[:200] or f"HTTP {answer.status}")


def names_unknown_type(answer: HttpAnswer) -> bool:
    problem = schema_problem(answer)
    return problem is not None and problem[0] == "type"


def schema_problem(answer: HttpAnswer) -> tuple[str, str] | None:
    """("type", name) for an unknown object type, ("property", name) for an unknown property, else None."""
    text = message(answer)
    marker = "Unable to infer object type from:"
    if marker in text:
        return "type", text.split(marker, 1)[1].strip()
    body = answer.body if isinstance(answer.body, dict) else {}
    if "PROPERTY_DOESNT_EXIST" not in answer.text and body.get("subCategory") != "PROPERTY_DOESNT_EXIST":
        return None
    for error in body.get("errors") or []:
        names = (error.get("context") or {}).get("propertyName") or []
        if names:
            return "property", str(names[0])
    found = _MISSING_PROPERTY.search(text)
    return "property", found.group(1) if found else "?"


# --------------------------------------------------------------------------------------- rate limits


def rate_limit_wait(answer: HttpAnswer) -> float:
    """How long to wait after a 429: the daily quota stops the run; a burst limit is waited out for
    Retry-After (HubSpot documents none for CRM calls, so it is honoured when present), else the
    rate-limit interval header, else a second."""
    body = answer.body if isinstance(answer.body, dict) else {}
    if "DAILY" in str(body.get("policyName") or "").upper():
        raise ConnectorLimitError(DAILY_LIMIT_MESSAGE, system=SYSTEM, status=429)
    seconds = retry_after_seconds(answer)
    if seconds is not None:
        return seconds
    return _interval_seconds(answer) or 1.0


def pause_when_spent(answer: HttpAnswer) -> float:
    """Pause before the next request when the answer says the burst budget is spent (search answers carry
    no such headers: their own per-second limit shows only as a 429)."""
    if answer.headers.get("X-HubSpot-RateLimit-Remaining") == "0":
        return _interval_seconds(answer) or 1.0
    if answer.headers.get("X-HubSpot-RateLimit-Secondly-Remaining") == "0":
        return 1.0
    return 0.0


def _interval_seconds(answer: HttpAnswer) -> float | None:
    raw = answer.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
    return int(raw) / 1000 if raw is not None and raw.isdigit() and int(raw) > 0 else None
