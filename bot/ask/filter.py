"""The filter a question becomes: what accounts to find, in what order, how many, or which total.

Every field is optional; an empty filter matches every account not churned. Each field means:

- ``owner``: whose accounts. ``Owner("me")`` the asker's; ``Owner("team")`` the asker's and those of the
  people who report to them; ``Owner("person", person_id, name)`` one person's.
- ``bands``: health bands, any of "green", "yellow", "red" ("at risk" reads as red).
- ``score_min`` / ``score_max``: the health score range, inclusive, 0-100.
- ``trend``: the score moved ``points`` or more ``direction`` ("down" or "up") within ``days`` days.
- ``renewal_from`` / ``renewal_to``: the renewal date range, inclusive. "next month" is the whole next
  calendar month; "this quarter" the whole calendar quarter; "in 60 days" / "in the next 60 days" today to
  today + 60; "before 1 March" today to the day before.
- ``arr_min`` / ``arr_max``: ARR range, inclusive ("over 100k" is ``arr_min`` 100000).
- ``segments``, ``tiers``, ``stages``: any of these values (stages: onboarding, adopting, mature,
  renewing, churned). Segment and tier values are those in the data, as stored.
- ``detractor``: a detractor NPS answer (0-6) in the last 90 days.
- ``open_feedback``: a feedback item about the account that is not resolved.
- ``overdue_milestones`` / ``overdue_followups``: an open milestone or follow-up past its due date (and
  not snoozed to a later day).
- ``outcomes_at_risk``: an open success-plan outcome behind the line to its target.
- ``untouched_days``: no follow-up or note logged in the last N days (or never).
- ``sort``: one of :data:`SORTS`; ``limit``: at most this many accounts (``top 5``).
- ``aggregate``: ``"count"`` (how many) or ``"arr"`` (how much ARR) instead of a list.

A filter is plain data: :func:`filter_to_dict` / :func:`filter_from_dict` give the JSON form a language
model is asked for (and that the evaluation set stores); :func:`filter_from_dict` checks every value and
raises :class:`FilterError` on anything out of place.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any, Literal

BANDS = ("green", "yellow", "red")
STAGES = ("onboarding", "adopting", "mature", "renewing", "churned")
SORTS = ("arr_desc", "arr_asc", "score_asc", "score_desc", "renewal_asc", "fall_desc")
AGGREGATES = ("count", "arr")
OWNER_KINDS = ("me", "team", "person")
DIRECTIONS = ("down", "up")
MAX_LIMIT = 100


class FilterError(ValueError):
    """A filter's JSON form that is not a valid filter (what is wrong, in words)."""


@dataclass(frozen=True, slots=True)
class Owner:
    kind: Literal["me", "team", "person"]
    person_id: int | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Trend:
    direction: Literal["down", "up"]
    points: float
    days: int


@dataclass(frozen=True, slots=True)
class Filter:
    owner: Owner | None = None
    bands: frozenset[str] = frozenset()
    score_min: float | None = None
    score_max: float | None = None
    trend: Trend | None = None
    renewal_from: date | None = None
    renewal_to: date | None = None
    arr_min: float | None = None
    arr_max: float | None = None
    segments: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()
    stages: frozenset[str] = frozenset()
    detractor: bool = False
    open_feedback: bool = False
    overdue_milestones: bool = False
    overdue_followups: bool = False
    outcomes_at_risk: bool = False
    untouched_days: int | None = None
    sort: str | None = None
    limit: int | None = None
    aggregate: str | None = None

    @property
    def empty(self) -> bool:
        """Nothing to filter on, sort by or total: the question was not read."""
        return self == Filter()


SET_FIELDS = ("bands", "segments", "tiers", "stages")
FLAG_FIELDS = ("detractor", "open_feedback", "overdue_milestones", "overdue_followups", "outcomes_at_risk")


def filter_to_dict(value: Filter) -> dict[str, Any]:
    """The JSON form: only the fields that are set; sets as sorted lists, dates as ISO days."""
    out: dict[str, Any] = {}
    for spec in fields(Filter):
        item = getattr(value, spec.name)
        if item is None or item is False or item == frozenset():
            continue
        if isinstance(item, frozenset):
            out[spec.name] = sorted(item)
        elif isinstance(item, date):
            out[spec.name] = item.isoformat()
        elif isinstance(item, Owner):
            out[spec.name] = {
                k: v
                for k, v in (("kind", item.kind), ("person_id", item.person_id), ("name", item.name))
                if v is not None
            }
        elif isinstance(item, Trend):
            out[spec.name] = {"direction": item.direction, "points": item.points, "days": item.days}
        else:
            out[spec.name] = item
    return out


def _number(name: str, raw: Any, *, low: float, high: float) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise FilterError(f"{name} must be a number, not {raw!r}")
    if not low <= raw <= high:
        raise FilterError(f"{name} must be between {low:g} and {high:g}, not {raw!r}")
    return float(raw)


def _integer(name: str, raw: Any, *, low: int, high: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        raise FilterError(f"{name} must be a whole number from {low} to {high}, not {raw!r}")
    return raw


def _day(name: str, raw: Any) -> date:
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise FilterError(f"{name} must be a day like 2027-01-31, not {raw!r}") from None


def _choices(name: str, raw: Any, allowed: tuple[str, ...] | None) -> frozenset[str]:
    if not isinstance(raw, list) or not all(isinstance(v, str) and v.strip() for v in raw):
        raise FilterError(f"{name} must be a list of words, not {raw!r}")
    values = frozenset(v.strip().lower() if allowed else v.strip() for v in raw)
    if allowed is not None and not values <= set(allowed):
        raise FilterError(f"{name} may hold only {', '.join(allowed)}, not {sorted(values - set(allowed))}")
    return values


def filter_from_dict(data: Any) -> Filter:
    """The filter the JSON form ``data`` describes; :class:`FilterError` says what is wrong with it.
    Unknown keys are refused too: a misspelt field must not be dropped silently."""
    if not isinstance(data, dict):
        raise FilterError("the filter must be a JSON object")
    known = {spec.name for spec in fields(Filter)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise FilterError(f"unknown fields: {', '.join(unknown)}")
    result = Filter()
    values: dict[str, Any] = {}
    for name, raw in data.items():
        if raw is None:
            continue
        if name == "owner":
            if not isinstance(raw, dict) or raw.get("kind") not in OWNER_KINDS:
                raise FilterError(f"owner must be an object whose kind is one of {', '.join(OWNER_KINDS)}")
            person = raw.get("person_id")
            if raw["kind"] == "person" and (isinstance(person, bool) or not isinstance(person, int)):
                raise FilterError("an owner of kind person needs the person's id")
            name_value = raw.get("name")
            values[name] = Owner(
                raw["kind"],
                person if raw["kind"] == "person" else None,
                str(name_value) if name_value and raw["kind"] == "person" else None,
            )
        elif name in ("bands", "stages"):
            values[name] = _choices(name, raw, BANDS if name == "bands" else STAGES)
        elif name in ("segments", "tiers"):
            values[name] = _choices(name, raw, None)
        elif name in ("score_min", "score_max"):
            values[name] = _number(name, raw, low=0, high=100)
        elif name in ("arr_min", "arr_max"):
            values[name] = _number(name, raw, low=0, high=1e12)
        elif name == "trend":
            if not isinstance(raw, dict) or raw.get("direction") not in DIRECTIONS:
                raise FilterError("trend must be an object whose direction is down or up")
            values[name] = Trend(
                raw["direction"],
                _number("trend points", raw.get("points"), low=1, high=100),
                _integer("trend days", raw.get("days"), low=1, high=365),
            )
        elif name in ("renewal_from", "renewal_to"):
            values[name] = _day(name, raw)
        elif name in FLAG_FIELDS:
            if not isinstance(raw, bool):
                raise FilterError(f"{name} must be true or false")
            values[name] = raw
        elif name == "untouched_days":
            values[name] = _integer(name, raw, low=1, high=3650)
        elif name == "sort":
            if raw not in SORTS:
                raise FilterError(f"sort must be one of {', '.join(SORTS)}")
            values[name] = raw
        elif name == "limit":
            values[name] = _integer(name, raw, low=1, high=MAX_LIMIT)
        elif name == "aggregate":
            if raw not in AGGREGATES:
                raise FilterError(f"aggregate must be one of {', '.join(AGGREGATES)}")
            values[name] = raw
    result = replace(result, **values)
    for low, high in (("score_min", "score_max"), ("arr_min", "arr_max"), ("renewal_from", "renewal_to")):
        a, b = getattr(result, low), getattr(result, high)
        if a is not None and b is not None and a > b:
            raise FilterError(f"{low} is above {high}")
    return result


__all__ = [
    "AGGREGATES",
    "BANDS",
    "SORTS",
    "STAGES",
    "Filter",
    "FilterError",
    "Owner",
    "Trend",
    "filter_from_dict",
    "filter_to_dict",
]
