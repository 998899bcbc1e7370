"""Zendesk's answers read into records, and its refusals into the connector errors.

What the records rest on (Zendesk's developer documentation):

- Organizations come from ``GET /api/v2/organizations`` with cursor pagination: ``page[size]`` (at most
  100), and the answer's ``meta.has_more`` / ``meta.after_cursor`` (``page[after]`` asks for the next page).
- Tickets come from the cursor-based incremental ticket export: ``tickets``, ``after_cursor``,
  ``after_url``, ``before_cursor``, ``before_url`` and ``end_of_stream``. Deleted tickets are exported with
  status ``deleted`` unless ``exclude_deleted`` is asked. The ``metric_sets`` sideload (``include=``) adds
  each ticket's metrics; a sideload comes as a top-level array under its own key, and a ticket metric holds
  ``ticket_id`` and ``solved_at`` ("when the ticket was solved").
- A ticket merged into another is closed (the merge endpoint and help center say the source tickets are
  closed). *Assumed*: it is told apart from other closed tickets by the ``closed_by_merge`` tag Zendesk
  adds to it (seen on real accounts; not found in the developer documentation).
- Satisfaction ratings (``GET /api/v2/satisfaction_ratings``, legacy CSAT) have ``score`` ``offered``,
  ``unoffered``, ``good`` or ``bad``, and an optional ``comment``. The ``score`` filter also names
  ``good_with_comment`` and the like; a score of that form is read as its ``good``/``bad`` part.
- Refusals: 401 when the credentials are wrong (``{"error": "Couldn't authenticate you"}``), 403 when the
  user's role may not call the endpoint (the incremental export and the ratings list are for admins), 429
  with ``Retry-After`` (seconds) when a rate limit is hit. Other errors carry ``error`` and usually
  ``description``; newer endpoints nest ``{"title", "message"}`` under ``error``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapters.connectors.errors import ConnectorAuthError, ConnectorError, ConnectorSchemaError
from adapters.connectors.http import HttpAnswer, retry_after_seconds

SYSTEM = "Zendesk"
MERGE_TAG = "closed_by_merge"  # assumed, see the module docstring
CREDENTIALS = "ZENDESK_EMAIL and ZENDESK_API_TOKEN"
DEFAULT_RATE_WAIT = 60.0  # assumed: a 429 without Retry-After waits out the documented per-minute window


@dataclass(frozen=True, slots=True)
class Organization:
    id: str  # Zendesk's numeric id, as a string
    name: str
    external_id: str | None
    domain_names: tuple[str, ...]  # lower-cased
    fields: Mapping[str, Any]  # organization_fields (custom fields)


@dataclass(frozen=True, slots=True)
class Ticket:
    """One ticket of the incremental export. ``solved_at`` is its metric set's ``solved_at`` (None when the
    export carried no metric set for it, or the ticket was never solved); ``merged`` says it was closed by
    merging it into another ticket."""

    id: str
    organization_id: str | None
    status: str  # new | open | pending | hold | solved | closed | deleted
    priority: str | None  # low | normal | high | urgent | None
    tags: tuple[str, ...]
    created_at: datetime  # aware, UTC
    updated_at: datetime
    solved_at: datetime | None
    merged: bool

    @property
    def deleted(self) -> bool:
        return self.status == "deleted"


@dataclass(frozen=True, slots=True)
class TicketPage:
    """One page of the export. ``after_cursor`` continues it, also once ``end_of_stream`` is reached: a
    later call with it answers the tickets changed since. None when Zendesk sent none."""

    tickets: list[Ticket]
    after_cursor: str | None
    end_of_stream: bool


@dataclass(frozen=True, slots=True)
class Rating:
    id: str
    ticket_id: str
    score: str  # "good" | "bad"
    comment: str | None
    created_at: datetime
    updated_at: datetime


# --------------------------------------------------------------------------------------------- times


def parse_time(raw: object) -> datetime | None:
    """A Zendesk time (ISO-8601, ``2011-05-05T10:38:52Z``) as an aware UTC datetime; None when absent or
    unreadable."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def unix_seconds(moment: datetime) -> int:
    """The Unix epoch seconds Zendesk's ``start_time`` parameters take."""
    if moment.tzinfo is None:
        raise ValueError("a time zone is needed (Zendesk's start_time is UTC epoch seconds)")
    return int(moment.timestamp())


def malformed(what: str) -> ConnectorSchemaError:
    return ConnectorSchemaError(
        f"Zendesk answered with {what}; the connector cannot read it. Check that ZENDESK_URL is your "
        "Zendesk account's address (https://<subdomain>.zendesk.com) and try again later",
        system=SYSTEM,
    )


def _time(raw: Mapping[str, Any], key: str, what: str) -> datetime:
    moment = parse_time(raw.get(key))
    if moment is None:
        raise malformed(f"{what} {raw.get('id')!r} without a readable {key}")
    return moment


def _id(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


# ------------------------------------------------------------------------------------------- reading


def list_of(body: Mapping[str, Any], key: str, doing: str) -> list[Any]:
    items = body.get(key)
    if not isinstance(items, list):
        raise malformed(f"an answer to {doing} without its {key!r} list")
    return items


def next_page(body: Mapping[str, Any], doing: str) -> str | None:
    """The ``page[after]`` of the next page of a cursor-paginated list; None after the last one."""
    meta = body.get("meta")
    if not isinstance(meta, dict) or "has_more" not in meta:
        raise malformed(f"an answer to {doing} without meta.has_more (cursor pagination)")
    if not meta["has_more"]:
        return None
    after = meta.get("after_cursor")
    if not isinstance(after, str) or not after:
        raise malformed(f"an answer to {doing} with more pages but no meta.after_cursor")
    return after


def read_organization(raw: Any) -> Organization:
    if not isinstance(raw, dict) or raw.get("id") is None or not isinstance(raw.get("name"), str):
        raise malformed("an organization without an id or a name")
    fields = raw.get("organization_fields")
    return Organization(
        id=str(raw["id"]),
        name=raw["name"],
        external_id=_id(raw.get("external_id")),
        domain_names=tuple(str(d).strip().lower() for d in raw.get("domain_names") or () if d),
        fields=dict(fields) if isinstance(fields, dict) else {},
    )


def read_ticket_page(body: Mapping[str, Any]) -> TicketPage:
    raw_tickets = list_of(body, "tickets", "the incremental ticket export")
    end = body.get("end_of_stream")
    if not isinstance(end, bool):
        raise malformed("an incremental ticket export page without end_of_stream")
    solved: dict[str, datetime | None] = {}
    for metric in body.get("metric_sets") or ():
        if isinstance(metric, dict) and metric.get("ticket_id") is not None:
            solved[str(metric["ticket_id"])] = parse_time(metric.get("solved_at"))
    after = body.get("after_cursor")
    return TicketPage(
        tickets=[read_ticket(raw, solved) for raw in raw_tickets],
        after_cursor=after if isinstance(after, str) and after else None,
        end_of_stream=end,
    )


def read_ticket(raw: Any, solved: Mapping[str, datetime | None]) -> Ticket:
    try:  # the common case, quickly: an export page holds up to 1000 tickets
        ticket_id, status = str(raw["id"]), raw["status"]
        created, updated = (
            datetime.fromisoformat(raw["created_at"]),
            datetime.fromisoformat(raw["updated_at"]),
        )
    except (KeyError, TypeError, ValueError):
        return _read_ticket_slowly(raw, solved)
    if (
        created.tzinfo is not UTC
        or updated.tzinfo is not UTC
        or raw["id"] is None
        or not isinstance(status, str)
    ):
        return _read_ticket_slowly(raw, solved)
    org, tags = raw.get("organization_id"), raw.get("tags")
    tags = tuple(tags) if tags else ()  # Zendesk's tags are strings
    return Ticket(
        id=ticket_id,
        organization_id=None if org is None or org == "" else str(org),
        status=status,
        priority=raw.get("priority") or None,
        tags=tags,
        created_at=created,
        updated_at=updated,
        solved_at=solved.get(ticket_id),
        merged=status == "closed" and MERGE_TAG in tags,
    )


def _read_ticket_slowly(raw: Any, solved: Mapping[str, datetime | None]) -> Ticket:
    if not isinstance(raw, dict) or raw.get("id") is None or not isinstance(raw.get("status"), str):
        raise malformed("a ticket without an id or a status")
    ticket_id = str(raw["id"])
    status = raw["status"]
    tags = tuple(str(tag) for tag in raw.get("tags") or ())
    return Ticket(
        id=ticket_id,
        organization_id=_id(raw.get("organization_id")),
        status=status,
        priority=raw.get("priority") or None,
        tags=tags,
        created_at=_time(raw, "created_at", "ticket"),
        updated_at=_time(raw, "updated_at", "ticket"),
        solved_at=solved.get(ticket_id),
        merged=status == "closed" and MERGE_TAG in tags,
    )


def read_rating(raw: Any) -> Rating | None:
    """A received rating; None for one offered and not answered (or not offered)."""
    if not isinstance(raw, dict) or raw.get("id") is None or raw.get("ticket_id") is None:
        raise malformed("a satisfaction rating without an id or a ticket_id")
    score = str(raw.get("score") or "")
    kind = "good" if score.startswith("good") else "bad" if score.startswith("bad") else None
    if kind is None:
        return None
    comment = raw.get("comment")
    return Rating(
        id=str(raw["id"]),
        ticket_id=str(raw["ticket_id"]),
        score=kind,
        comment=comment if isinstance(comment, str) and comment.strip() else None,
        created_at=_time(raw, "created_at", "satisfaction rating"),
        updated_at=parse_time(raw.get("updated_at")) or _time(raw, "created_at", "satisfaction rating"),
    )


# ------------------------------------------------------------------------------------------ refusals


def message(answer: HttpAnswer, secret: str = "") -> str:
    """Zendesk's words for a refusal (``error`` and ``description``), else the start of the answer."""
    body = answer.body if isinstance(answer.body, dict) else {}
    error, description = body.get("error"), body.get("description")
    if isinstance(error, dict):  # newer endpoints: {"error": {"title": ..., "message": ...}}
        nested: dict[str, Any] = error
        error, description = nested.get("title"), description or nested.get("message")
    parts = [str(part) for part in (error, description) if part]
    text = ": ".join(parts) or answer.text[:200].strip() or f"HTTP {answer.status}"
    return text.replace(secret, "[token]") if secret else text


def refusal(answer: HttpAnswer, doing: str, needs: str, secret: str) -> ConnectorError:
    """The error for an answer that is not a JSON object: a refusal, or (when ``ok``) a malformed answer.
    ``needs`` names the role the call needs; ``secret`` never appears in the message."""
    said = message(answer, secret)
    if answer.status == 401:
        return ConnectorAuthError(
            f"Zendesk refused the credentials ({said}): check {CREDENTIALS} (an API token from Admin "
            "Center > Apps and integrations > APIs > Zendesk API, with that user's email)",
            system=SYSTEM,
            status=401,
        )
    if answer.status == 403:
        return ConnectorAuthError(
            f"Zendesk refused {doing} ({said}): it needs {needs}. Set {CREDENTIALS} to the email and API "
            f"token of {needs}",
            system=SYSTEM,
            status=403,
        )
    if answer.ok:
        return malformed(f"something other than a JSON object to {doing}")
    hint = " (check ZENDESK_URL)" if answer.status == 404 else ""
    return ConnectorError(
        f"Zendesk refused {doing} with {answer.status}{hint}: {said}", system=SYSTEM, status=answer.status
    )


def anonymous(user: Mapping[str, Any]) -> bool:
    """*Assumed*: Zendesk answers ``users/me`` for an unauthenticated request with an anonymous user,
    which has no id."""
    return user.get("id") is None


def anonymous_refusal() -> ConnectorAuthError:
    return ConnectorAuthError(
        f"Zendesk answered as an anonymous user, so the credentials were not accepted: check {CREDENTIALS} "
        "(and ZENDESK_URL)",
        system=SYSTEM,
        status=200,
    )


# --------------------------------------------------------------------------------------- rate limits


def rate_limit_wait(answer: HttpAnswer) -> float:
    """After a 429: Zendesk's ``Retry-After`` seconds (documented on every 429), else a minute."""
    seconds = retry_after_seconds(answer)
    return DEFAULT_RATE_WAIT if seconds is None else seconds


def pause_when_spent(answer: HttpAnswer) -> float:
    """Before the next request, when the answer says the account's requests for this minute are spent
    (``X-Rate-Limit-Remaining: 0``, documented on every answer): ``ratelimit-reset`` seconds when sent,
    else a minute. The incremental export's own limit (10 a minute) has no documented header: it shows
    only as a 429, waited out for ``Retry-After``."""
    if answer.headers.get("X-Rate-Limit-Remaining") != "0":
        return 0.0
    reset = answer.headers.get("ratelimit-reset")
    return float(reset) if reset is not None and reset.isdigit() else DEFAULT_RATE_WAIT
