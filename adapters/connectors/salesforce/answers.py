"""Salesforce's answers read into values, and its refusals into the connector errors.

Field descriptions; Salesforce's datetimes and SOQL's datetime literals; the records of a query page; the
per-record results of an sObject Collections update; the ``Sforce-Limit-Info`` usage; and the mapping of a
refusal onto :mod:`adapters.connectors.errors`: a refused client or session is a
:class:`ConnectorAuthError`, ``REQUEST_LIMIT_EXCEEDED`` (or a daily usage nearly spent) a
:class:`ConnectorLimitError`, an unknown field or object or a query Salesforce cannot read a
:class:`ConnectorSchemaError`.

A top-level REST error is a JSON array of ``{"errorCode", "message"}`` (sometimes with ``fields``); the
token endpoint answers ``{"error", "error_description"}``; a record's save result holds
``{"statusCode", "message", "fields"}`` errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# The outcome of a batch update is the same for every CRM: the ids written, and (id, reason) for the rest.
from adapters.connectors.crm.batch import BatchResult
from adapters.connectors.errors import (
    ConnectorAuthError,
    ConnectorError,
    ConnectorLimitError,
    ConnectorSchemaError,
)
from adapters.connectors.http import HttpAnswer

__all__ = [
    "SYSTEM",
    "BatchResult",
    "FieldInfo",
    "daily_limit_message",
    "first_error",
    "parse_time",
    "read_field",
    "read_usage",
    "refusal",
    "save_outcome",
    "session_refused",
    "soql_time",
    "strip_attributes",
    "token_refusal",
]

SYSTEM = "Salesforce"
SCHEMA_CODES = ("INVALID_FIELD", "INVALID_TYPE", "MALFORMED_QUERY")
_CREDENTIALS = (
    "set SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET to the connected app's consumer key and secret"
)


@dataclass(frozen=True, slots=True)
class FieldInfo:
    name: str
    label: str
    type: str  # id, string, reference, picklist, currency, boolean, date, datetime, url, email, ...
    updateable: bool


def read_field(raw: dict[str, Any]) -> FieldInfo:
    name = str(raw["name"])
    return FieldInfo(
        name=name,
        label=str(raw.get("label") or name),
        type=str(raw.get("type") or ""),
        updateable=bool(raw.get("updateable", False)),
    )


# ------------------------------------------------------------------------------------------- times


def parse_time(raw: object) -> datetime | None:
    """A Salesforce datetime (``2024-01-01T00:00:00.000+0000``, UTC with milliseconds) as an aware UTC
    datetime; a date (``2024-03-31``) as its midnight in UTC. None when absent or unreadable."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def soql_time(moment: datetime) -> str:
    """A SOQL datetime literal (``2024-01-01T00:00:00Z``), to put in a query unquoted. SOQL's literals
    carry whole seconds, so the milliseconds are dropped: ``>=`` it takes in the rest of that second."""
    if moment.tzinfo is None:
        raise ValueError("a time zone is needed (Salesforce's datetimes are UTC)")
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z"


# ------------------------------------------------------------------------------------------ reading


def strip_attributes(record: dict[str, Any]) -> dict[str, Any]:
    """A record without its ``attributes`` (its type and URL), in related records too."""
    return {
        key: strip_attributes(value) if isinstance(value, dict) else value
        for key, value in record.items()
        if key != "attributes"
    }


def read_usage(answer: HttpAnswer) -> tuple[int, int] | None:
    """(used, limit) of the org's daily API requests, from ``Sforce-Limit-Info: api-usage=25/15000``
    (which may go on with ``; api-bursts=1/750``); None when the answer does not say."""
    raw = answer.headers.get("Sforce-Limit-Info")
    for part in (raw or "").split(";"):
        key, _, value = part.partition("=")
        used, _, limit = value.strip().partition("/")
        if key.strip().lower() == "api-usage" and used.isdigit() and limit.isdigit():
            return int(used), int(limit)
    return None


def daily_limit_message(used: int, limit: int) -> str:
    return (
        f"Salesforce's daily API requests are nearly used up ({used:,} of {limit:,}); the sync stops and "
        "resumes on the next run"
    )


def save_outcome(body: Sequence[Any], asked_ids: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """The ids a collection update saved, and the others with Salesforce's reason, in the order asked.
    The save results come in request order; a failed one carries no id."""
    done: list[str] = []
    failed: list[tuple[str, str]] = []
    for at, record_id in enumerate(asked_ids):
        result = body[at] if at < len(body) and isinstance(body[at], dict) else None
        if result is None:
            failed.append((record_id, "Salesforce did not confirm the update"))
        elif result.get("success") is True:
            done.append(record_id)
        else:
            failed.append((record_id, _reasons(result.get("errors") or []) or "refused"))
    return done, failed


def _reasons(errors: Iterable[Any]) -> str:
    found = []
    for error in errors:
        if isinstance(error, dict):
            code, text = error.get("statusCode"), error.get("message")
            found.append(": ".join(str(part) for part in (code, text) if part))
    return "; ".join(part for part in found if part)


# ------------------------------------------------------------------------------------------ refusals


def first_error(answer: HttpAnswer) -> tuple[str, str]:
    """(errorCode, message) of a REST refusal (``[{"errorCode": ..., "message": ...}]``); empty strings
    when the answer is not one."""
    body = answer.body
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("errorCode") or ""), str(body.get("message") or "")


def refusal(answer: HttpAnswer, doing: str, secrets: Sequence[str]) -> ConnectorError:
    """The error for a REST answer the client cannot use: a refusal or (when ``ok``) a malformed answer.
    None of ``secrets`` appears in the message."""
    code, text = first_error(answer)
    text = _scrub(text or answer.text[:200], secrets)
    said = f"{code}: {text}" if code else text or f"HTTP {answer.status}"
    if answer.status == 401:
        return session_refused(answer, secrets)
    if answer.status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
        return ConnectorLimitError(
            f"Salesforce refused {doing}: an API limit of the org is reached ({text}); the sync stops and "
            "resumes on the next run",
            system=SYSTEM,
            status=403,
        )
    if answer.status == 403:
        return ConnectorAuthError(
            f"Salesforce refused {doing} ({said}): give the connected app's Run As user access to it (its "
            "profile or a permission set)",
            system=SYSTEM,
            status=403,
        )
    if answer.status == 400 and code in SCHEMA_CODES:
        advice = {
            "INVALID_FIELD": "create the field in Salesforce or fix the connector's field mapping",
            "INVALID_TYPE": "the object does not exist, or the connected app's Run As user cannot see it",
            "MALFORMED_QUERY": "check the field names in the connector's field mapping",
        }[code]
        return ConnectorSchemaError(
            f"Salesforce refused {doing}: {schema_message(text)} ({code}): {advice}",
            system=SYSTEM,
            status=400,
        )
    if answer.ok:
        return ConnectorError(
            f"Salesforce answered {doing} with something unexpected; try again later",
            system=SYSTEM,
            status=answer.status,
        )
    return ConnectorError(
        f"Salesforce refused {doing} with {answer.status} ({said})", system=SYSTEM, status=answer.status
    )


def session_refused(answer: HttpAnswer, secrets: Sequence[str]) -> ConnectorAuthError:
    """A 401 that a new access token did not cure."""
    code, text = first_error(answer)
    said = _scrub(f"{code or 'INVALID_SESSION_ID'}: {text or 'Session expired or invalid'}", secrets)
    return ConnectorAuthError(
        f"Salesforce refused a new access token too ({said}): make sure the connected app's Run As user is "
        "active and has the API Enabled permission; if the app was replaced, " + _CREDENTIALS,
        system=SYSTEM,
        status=401,
    )


def token_refusal(status: int, body: Any, text: str, secrets: Sequence[str]) -> ConnectorError:
    """The error for the token endpoint's refusal (``{"error": ..., "error_description": ...}``), naming
    the setting to fix; a 4xx that is not such an answer means the login URL is not an org's."""
    error = str(body.get("error") or "") if isinstance(body, dict) else ""
    description = str(body.get("error_description") or "") if isinstance(body, dict) else ""
    said = _scrub(f"{error}: {description}" if description else error, secrets)
    if status >= 500:
        return ConnectorError(
            f"Salesforce answered {status} to the token request: it is having trouble; see "
            "status.salesforce.com. The next run starts again from where this one stopped",
            system=SYSTEM,
            status=status,
        )
    if error == "rate_limit_exceeded":
        return ConnectorLimitError(
            f"Salesforce refused an access token ({said}); the sync stops and resumes on the next run",
            system=SYSTEM,
            status=status,
        )
    if not error:
        return ConnectorAuthError(
            f"No Salesforce token endpoint answered at SALESFORCE_LOGIN_URL (HTTP {status}): set it to your "
            "org's My Domain URL, e.g. https://yourcompany.my.salesforce.com",
            system=SYSTEM,
            status=status,
        )
    if error in ("invalid_client", "invalid_client_id", "invalid_client_credentials"):
        fix = _CREDENTIALS
    elif "domain" in description:
        fix = "set SALESFORCE_LOGIN_URL to your org's My Domain URL (https://yourcompany.my.salesforce.com)"
    elif error in ("inactive_user", "inactive_org"):
        fix = "activate the connected app's Run As user (or the org), or choose another Run As user"
    elif error in ("unsupported_grant_type", "invalid_grant"):
        fix = (
            "enable the client credentials flow on the connected app and choose its Run As user; check "
            "that SALESFORCE_LOGIN_URL is your org's My Domain URL"
        )
    else:
        fix = f"check the connected app, then {_CREDENTIALS} and SALESFORCE_LOGIN_URL to the My Domain URL"
    return ConnectorAuthError(
        f"Salesforce refused an access token ({said}): {fix}", system=SYSTEM, status=status
    )


def schema_message(text: str) -> str:
    """The gist of a query error: Salesforce repeats the query with a caret under the fault, then says
    ``ERROR at Row:1:Column:N`` and what is wrong (``No such column 'Foo__c' on entity 'Account'. If you
    are attempting ...``). This is that last line, up to its advice."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    gist = lines[-1] if lines else text
    for advice in (". If you", ". Please reference"):
        gist = gist.split(advice, 1)[0]
    return gist


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[hidden]")
    return text
