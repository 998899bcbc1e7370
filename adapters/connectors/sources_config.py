"""``[connectors.zendesk]`` and ``[connectors.segment]``: the sources that feed usage metrics.

A typo is an error naming the file and the key, like the CRM tables of :mod:`adapters.connectors.config`
(which re-exports what is here, so every ``[connectors.*]`` table is read in one place).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

DEFAULT_EVERY = timedelta(minutes=15)
_DURATION = re.compile(r"^\s*(\d+)\s*(m|h)\s*$")
# How a Zendesk organization finds its account.
MATCH_BY = ("external_id", "domain", "crm_id")
# Every track, page and screen call counts as activity unless activity_events names some.
EVERY_EVENT = "*"


class ConnectorConfigError(ValueError):
    """An invalid ``[connectors]`` value, with the file and key in the message."""


@dataclass(frozen=True, slots=True)
class ZendeskConfig:
    """``[connectors.zendesk]``: see ``touchpoint.example.toml`` for each key."""

    every: timedelta | None = DEFAULT_EVERY
    match: str = "external_id"  # external_id | domain | crm_id
    crm_id_field: str | None = None  # the organization field holding the CRM id (match = "crm_id")
    escalation_priority: str | None = "urgent"  # tickets of this priority are escalations (None: none)
    escalation_tags: tuple[str, ...] = ("escalated",)  # so are tickets with any of these tags


@dataclass(frozen=True, slots=True)
class SegmentConfig:
    """``[connectors.segment]``: see ``touchpoint.example.toml`` for each key."""

    every: timedelta | None = timedelta(minutes=5)  # how often events are counted into daily metrics
    account_property: str | None = None  # a call property naming the account (None: the group call's)
    activity_events: tuple[str, ...] = (EVERY_EVENT,)
    features: Mapping[str, str] = field(default_factory=dict)  # event name -> feature
    features_available: int | None = None  # None: the number of distinct features mapped
    seats_trait: str | None = "seats"  # the group trait that holds the licensed seats
    late_days: int = 7  # events older than this when they arrive are not counted
    unknown_days: int = 30  # events of an account Touchpoint does not know are kept this long

    def is_activity(self, kind: str, event: str | None) -> bool:
        """Whether a call of ``kind`` (track, page, screen) named ``event`` counts as activity."""
        if kind not in ("track", "page", "screen"):
            return False
        wanted = self.activity_events
        return EVERY_EVENT in wanted or (kind != "track" and kind in wanted) or (event or "") in wanted

    def available(self) -> int | None:
        if self.features_available is not None:
            return self.features_available
        return len(set(self.features.values())) or None


def parse_zendesk(table: Any, where: str) -> ZendeskConfig:
    known = {"every", "match", "crm_id_field", "escalation_priority", "escalation_tags"}
    _known_keys(table, where, known)
    values: dict[str, Any] = {}
    if "every" in table:
        values["every"] = parse_every(table["every"], f"{where}.every")
    if "match" in table:
        match = table["match"]
        if match not in MATCH_BY:
            raise ConnectorConfigError(f"{where}.match: one of {', '.join(MATCH_BY)}")
        values["match"] = match
    if "crm_id_field" in table:
        values["crm_id_field"] = _text(table["crm_id_field"], f"{where}.crm_id_field") or None
    if values.get("match") == "crm_id" and not values.get("crm_id_field"):
        raise ConnectorConfigError(
            f'{where}.crm_id_field: match = "crm_id" needs the organization field that holds the CRM id'
        )
    if "escalation_priority" in table:
        priority = _text(table["escalation_priority"], f"{where}.escalation_priority").lower()
        if priority not in ("", "low", "normal", "high", "urgent"):
            raise ConnectorConfigError(f'{where}.escalation_priority: low, normal, high, urgent or ""')
        values["escalation_priority"] = priority or None
    if "escalation_tags" in table:
        values["escalation_tags"] = _names(table["escalation_tags"], f"{where}.escalation_tags")
    return ZendeskConfig(**values)


def parse_segment(table: Any, where: str) -> SegmentConfig:
    known = {
        "every",
        "account_property",
        "activity_events",
        "features",
        "features_available",
        "seats_trait",
        "late_days",
        "unknown_days",
    }
    _known_keys(table, where, known)
    values: dict[str, Any] = {}
    if "every" in table:
        values["every"] = parse_every(table["every"], f"{where}.every")
    for key in ("account_property", "seats_trait"):
        if key in table:
            values[key] = _text(table[key], f"{where}.{key}") or None
    if "activity_events" in table:
        events = _names(table["activity_events"], f"{where}.activity_events")
        if not events:
            raise ConnectorConfigError(f'{where}.activity_events: name at least one event, or "*" for all')
        values["activity_events"] = events
    if "features" in table:
        features = table["features"]
        if not isinstance(features, Mapping) or not all(
            isinstance(v, str) and v.strip() for v in features.values()
        ):
            raise ConnectorConfigError(
                f'{where}.features: a table of event name = feature, like {{ "Report Exported" = "reports" }}'
            )
        values["features"] = {str(k): v.strip()[:100] for k, v in features.items()}
    for key, low, high in (("features_available", 1, 10_000), ("late_days", 0, 30), ("unknown_days", 1, 90)):
        if key in table:
            number = table[key]
            if not isinstance(number, int) or isinstance(number, bool) or not low <= number <= high:
                raise ConnectorConfigError(f"{where}.{key}: a whole number from {low} to {high}")
            values[key] = number
    return SegmentConfig(**values)


def parse_every(value: object, where: str) -> timedelta | None:
    """``"15m"``, ``"2h"`` or ``"off"``; at least 5 minutes."""
    if isinstance(value, str) and value.strip().lower() == "off":
        return None
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise ConnectorConfigError(f'{where}: must be a duration such as "15m" or "1h", or "off"')
    amount, unit = int(match.group(1)), match.group(2)
    every = timedelta(minutes=amount) if unit == "m" else timedelta(hours=amount)
    if every < timedelta(minutes=5):
        raise ConnectorConfigError(f"{where}: at least 5 minutes (the outside system's limits are shared)")
    return every


def _known_keys(table: Any, where: str, known: set[str]) -> None:
    if not isinstance(table, Mapping):
        raise ConnectorConfigError(f"{where}: must be a table")
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConnectorConfigError(f"{where}.{unknown[0]}: unknown key (expected one of {sorted(known)})")


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ConnectorConfigError(f"{where}: must be text in quotes")
    return value.strip()


def _names(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConnectorConfigError(f'{where}: a list of names, like ["escalated"]')
    return tuple(v.strip() for v in value)
