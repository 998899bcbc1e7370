"""Segment Spec calls read out of a request body, checked, and nothing else (no database, no HTTP).

The body is already-parsed JSON in one of the shapes Segment's senders use:

- one call object: the Webhooks (Actions) destination without batching (its default ``data`` mapping
  is the whole event), or a Destination Function posting one event;
- a JSON array of calls: the Webhooks (Actions) destination with batching on (it posts the list of the
  mapped ``data`` objects, in the action-destinations ``webhook`` source) or a Function's ``onBatch``
  forwarding its ``events`` array;
- ``{"batch": [...]}`` as the HTTP Tracking API's ``/v1/batch`` takes it, whose top-level ``context``
  is merged into each call's.

Every call is checked and every problem reported with the call's position in the batch (None for a
single call or the envelope): the caller refuses the whole request when there is any. Duplicates
(same ``messageId``) are returned as they come; telling them apart is the caller's job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

# The Spec's call types (common field ``type``). Anything else, such as the ``delete`` a Function's
# ``onDelete`` receives, is a problem.
CALL_TYPES = ("identify", "group", "track", "page", "screen", "alias")
# HTTP Tracking API: 32 KB per call, also per call inside a batch.
MAX_CALL_BYTES = 32 * 1024
# Webhooks (Actions): batch size defaults to 1000 events, at most 4000. (Tracking API /v1/batch: 2500
# events and 500 KB; Functions' onBatch: 20 by default, up to 400.) Enforcing it is the caller's choice.
MAX_BATCH_CALLS = 4000
# Spec: messageId "is limited to 100 characters".
MAX_MESSAGE_ID_CHARS = 100
# Assumed (the Spec gives no limit): userId, anonymousId, groupId, previousId, event and page names.
MAX_ID_CHARS = 255
MAX_NAME_CHARS = 255

_NO_USER = "missing: every call needs a userId or an anonymousId (the Spec requires one of them)"
_TIMESTAMPS = ("timestamp", "originalTimestamp", "receivedAt")  # in the order happened_at prefers them
# ISO-8601 extended date-time with a zone: Z, ±HH:MM, ±HHMM or ±HH. Seconds and any number of fraction
# digits are optional (Segment's libraries send milliseconds; more digits are cut to microseconds).
_ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?"
    r"(?:(Z)|([+-])([0-9]{2})(?::?([0-9]{2}))?)",
    re.ASCII | re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class SpecCall:
    """One valid call."""

    message_id: str
    type: str
    user: str  # userId, else anonymousId (Spec: one of them is required); alias: its userId
    user_id: str | None
    group_id: str | None  # group: its groupId; other calls: context.groupId when given
    event: str | None  # track: event; page, screen: name (may be None); others: None
    happened_at: datetime  # aware UTC: timestamp, else originalTimestamp, else receivedAt, else received
    properties: Mapping[str, Any]  # track, page, screen; empty for the others
    traits: Mapping[str, Any]  # identify: the user's traits; group: the group's; empty for the others
    previous_id: str | None = None  # alias: the identity being merged into userId


@dataclass(frozen=True, slots=True)
class SpecProblem:
    """Why a body, or one call of it, is refused."""

    index: int | None  # position in the batch; None for a single call or the envelope
    field: str | None  # e.g. "messageId", "timestamp", "batch"
    problem: str


def timestamp_of(value: Any) -> datetime | None:
    """``value`` as an aware UTC datetime when it is an ISO-8601 date-time string with ``Z`` or an
    offset, else None. Without a zone it is None too: the Spec's timestamps are UTC, but taking a bare
    local time for UTC would move events silently (chosen)."""
    if not isinstance(value, str):
        return None
    match = _ISO.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        offset = timedelta(hours=int(off_h or 0), minutes=int(off_m or 0))
        zone = UTC if zulu else timezone(-offset if sign == "-" else offset)
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, tzinfo=zone
        )
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):  # month 13, hour 24, offset of a day or more, year 0...
        return None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Check:
    """The problems of one call (or of the envelope)."""

    def __init__(self, index: int | None) -> None:
        self.index = index
        self.problems: list[SpecProblem] = []

    def add(self, field: str | None, problem: str) -> None:
        self.problems.append(SpecProblem(self.index, field, problem))

    def fields(self) -> set[str | None]:
        return {problem.field for problem in self.problems}

    def ident(
        self, value: Any, field: str, *, limit: int = MAX_ID_CHARS, missing: str | None = None
    ) -> str | None:
        """An id as a string. Absent, null, or blank: None (and ``missing`` reported when given).
        Whole numbers are accepted and written in decimal, as Segment's Python and Ruby libraries do
        for ids; analytics.js and analytics-node refuse them (chosen: accept)."""
        if value is None or (isinstance(value, str) and not value.strip()):
            if missing:
                self.add(field, missing)
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.add(field, f"wrong type: {field} must be a string (or a whole number), not {_kind(value)}")
            return None
        text = value if isinstance(value, str) else str(value)
        if len(text) > limit:
            self.add(field, f"too long: {field} has {len(text)} characters, at most {limit}")
            return None
        return text

    def name(self, value: Any, field: str, *, missing: str | None = None) -> str | None:
        """An event or page name: a string (numbers are not names)."""
        if value is None or (isinstance(value, str) and not value.strip()):
            if missing:
                self.add(field, missing)
            return None
        if not isinstance(value, str):
            self.add(field, f"wrong type: {field} must be a string, not {_kind(value)}")
            return None
        if len(value) > MAX_NAME_CHARS:
            self.add(field, f"too long: {field} has {len(value)} characters, at most {MAX_NAME_CHARS}")
            return None
        return value

    def obj(self, value: Any, field: str) -> Mapping[str, Any]:
        """A free-form dictionary (properties, traits, context); null or absent is empty."""
        if value is None:
            return MappingProxyType({})
        if not isinstance(value, dict):
            self.add(field, f"wrong type: {field} must be an object, not {_kind(value)}")
            return MappingProxyType({})
        return MappingProxyType(dict(value))


def _size(raw: dict[str, Any]) -> int:
    """The call's size as compact UTF-8 JSON: close to (usually below) what the sender counted."""
    return len(json.dumps(raw, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _call(
    raw: Any, index: int | None, received: datetime, shared_context: Mapping[str, Any]
) -> tuple[SpecCall | None, list[SpecProblem]]:
    check = _Check(index)
    if not isinstance(raw, dict):
        check.add(None, f"not a call: a Spec call is a JSON object, not {_kind(raw)}")
        return None, check.problems
    if (size := _size(raw)) > MAX_CALL_BYTES:
        check.add(None, f"too large: the call takes {size} bytes, at most {MAX_CALL_BYTES} (Segment's limit)")

    kind = raw.get("type")
    if kind is None:
        check.add("type", f"missing: every call needs a type, one of {', '.join(CALL_TYPES)}")
    elif kind not in CALL_TYPES:
        check.add("type", f"unknown: type {_shown(kind)} is not a Spec call, one of {', '.join(CALL_TYPES)}")
    message_id = check.ident(
        raw.get("messageId"),
        "messageId",
        limit=MAX_MESSAGE_ID_CHARS,
        missing="missing: every call needs a messageId (Segment sets one; a Function must too)",
    )

    user_id = check.ident(raw.get("userId"), "userId")
    anonymous_id = check.ident(raw.get("anonymousId"), "anonymousId")
    previous_id = None
    if kind == "alias":
        # Spec: alias's userId is the identity kept; previousId (required in the Tracking API) the other.
        if user_id is None and "userId" not in check.fields():
            check.add("userId", "missing: an alias call needs the userId it merges into")
        previous_id = check.ident(
            raw.get("previousId"), "previousId", missing="missing: an alias call needs a previousId"
        )
    elif user_id is None and anonymous_id is None and not {"userId", "anonymousId"} & check.fields():
        check.add("userId", _NO_USER)

    own_context = check.obj(raw.get("context"), "context")
    # Tracking API: a batch's top-level context "will be merged with any context inside each of the
    # items". Assumed: key by key, the call's own value winning.
    context = {**shared_context, **own_context}
    if kind == "group":
        group_id = check.ident(
            raw.get("groupId"), "groupId", missing="missing: a group call needs the groupId of its group"
        )
    else:
        group_id = check.ident(context.get("groupId"), "context.groupId")

    event = None
    if kind == "track":
        event = check.name(raw.get("event"), "event", missing="missing: a track call needs an event name")
    elif kind in ("page", "screen"):
        event = check.name(raw.get("name"), "name")
    empty: Mapping[str, Any] = MappingProxyType({})
    properties = (
        check.obj(raw.get("properties"), "properties") if kind in ("track", "page", "screen") else empty
    )
    traits = check.obj(raw.get("traits"), "traits") if kind in ("identify", "group") else empty

    happened_at = None
    for field in _TIMESTAMPS:
        value = raw.get(field)
        if value is None:
            continue
        moment = timestamp_of(value)
        if moment is None:
            check.add(
                field,
                f"not a timestamp: {field} {_shown(value)} is not an ISO-8601 date-time with Z or an offset "
                "(like 2015-12-10T04:08:31.905Z)",
            )
        elif happened_at is None:
            happened_at = moment

    user = user_id if kind == "alias" else (user_id or anonymous_id)
    if check.problems or message_id is None or not isinstance(kind, str) or user is None:
        return None, check.problems
    return (
        SpecCall(
            message_id=message_id,
            type=kind,
            user=user,
            user_id=user_id,
            group_id=group_id,
            event=event,
            happened_at=happened_at or received,
            properties=properties,
            traits=traits,
            previous_id=previous_id,
        ),
        check.problems,
    )


def parse_calls(payload: Any, *, received: datetime) -> tuple[list[SpecCall], list[SpecProblem]]:
    """The valid calls of ``payload`` in order, and every problem found (see the module docstring).
    ``received`` (aware) is when the request arrived: the time of a call that gives none."""
    if received.tzinfo is None or received.utcoffset() is None:
        raise ValueError("received must be an aware datetime")
    received = received.astimezone(UTC)
    envelope = _Check(None)
    shared_context: Mapping[str, Any] = MappingProxyType({})
    items: list[Any]
    if isinstance(payload, list):
        items, indexed = payload, True
        if not items:
            envelope.add(None, "empty: the array has no calls")
    elif isinstance(payload, dict) and "batch" in payload:
        batch = payload["batch"]
        if not isinstance(batch, list):
            envelope.add("batch", f"wrong type: batch must be an array of calls, not {_kind(batch)}")
            return [], envelope.problems
        items, indexed = batch, True
        if not items:
            envelope.add("batch", "empty: the batch has no calls")
        shared_context = envelope.obj(payload.get("context"), "context")
    elif isinstance(payload, dict):
        items, indexed = [payload], False
    else:
        shapes = 'a call, an array of calls or {"batch": [...]}'
        envelope.add(None, f"not Spec calls: the body must be {shapes}, not {_kind(payload)}")
        return [], envelope.problems

    calls: list[SpecCall] = []
    problems = envelope.problems
    for position, item in enumerate(items):
        call, found = _call(item, position if indexed else None, received, shared_context)
        problems.extend(found)
        if call is not None:
            calls.append(call)
    return calls, problems
