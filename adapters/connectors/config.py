"""The ``[connectors.*]`` tables of ``touchpoint.toml``: how often each connector syncs and which outside
property holds each account field.

A typo is an error naming the file and the key (``touchpoint.toml: connectors.hubspot.ar: unknown key
...``); whether a named property exists in the outside system is checked against its live schema by
``touchpoint connect``, which lists the properties that do.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

# The account fields a CRM property can fill, and HubSpot's defaults (its standard company properties).
ACCOUNT_FIELDS = ("arr", "renewal_date", "contract_start", "segment", "tier", "lifecycle_stage")
HUBSPOT_DEFAULTS: Mapping[str, str | None] = {
    "arr": "annualrevenue",
    "renewal_date": None,  # from the renewal deals' close dates unless a company property is named
    "contract_start": None,
    "segment": None,
    "tier": None,
    "lifecycle_stage": None,
}
DEFAULT_EVERY = timedelta(minutes=15)
# What is written back to a company, each to the property ``{write_back_prefix}_{value}``.
WRITE_BACK = ("score", "band", "trend", "drivers", "date")
_DURATION = re.compile(r"^\s*(\d+)\s*(m|h)\s*$")


class ConnectorConfigError(ValueError):
    """An invalid ``[connectors]`` value, with the file and key in the message."""


@dataclass(frozen=True, slots=True)
class HubSpotConfig:
    """``[connectors.hubspot]``: see ``touchpoint.example.toml`` for each key."""

    every: timedelta | None = DEFAULT_EVERY  # None: no scheduled sync ("off")
    external_id: str = "hs_object_id"  # the company property that holds an account's external id
    properties: Mapping[str, str | None] = field(default_factory=lambda: dict(HUBSPOT_DEFAULTS))
    renewal_dealtype: str | None = "existingbusiness"  # deals of this type are renewals (None: any)
    renewal_pipeline: str | None = None  # only deals of this pipeline (None: any)
    write_back: bool = False  # write each company's health to the WRITE_BACK properties
    write_back_prefix: str = "touchpoint_health"

    def write_back_properties(self) -> dict[str, str]:
        """What is written back, by value: the property names (custom company properties to create)."""
        return {value: f"{self.write_back_prefix}_{value}" for value in WRITE_BACK}

    def company_properties(self) -> list[str]:
        """Every company property a sync reads."""
        wanted = {"name", "hubspot_owner_id", "hs_lastmodifieddate", "hs_merged_object_ids", self.external_id}
        wanted.update(name for name in self.properties.values() if name)
        return sorted(wanted)


@dataclass(frozen=True, slots=True)
class ConnectorsConfig:
    hubspot: HubSpotConfig | None = None  # None: no [connectors.hubspot] table


def load_connectors_config(path: Path) -> ConnectorsConfig:
    """The connectors of the file at ``path``; none when it or its ``[connectors]`` table is absent."""
    if not path.exists():
        return ConnectorsConfig()
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle).get("connectors", {})
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise ConnectorConfigError(f"{path}: cannot be read: {exc}") from exc
    return parse_connectors(table, str(path))


def parse_connectors(table: Any, source: str) -> ConnectorsConfig:
    if not isinstance(table, Mapping):
        raise ConnectorConfigError(f"{source}: connectors: must be a table ([connectors.hubspot])")
    unknown = sorted(set(table) - {"hubspot"})
    if unknown:
        raise ConnectorConfigError(f"{source}: connectors.{unknown[0]}: unknown connector (expected hubspot)")
    hubspot = table.get("hubspot")
    return ConnectorsConfig(hubspot=None if hubspot is None else _hubspot(hubspot, source))


def _hubspot(table: Any, source: str) -> HubSpotConfig:
    where = f"{source}: connectors.hubspot"
    if not isinstance(table, Mapping):
        raise ConnectorConfigError(f"{where}: must be a table ([connectors.hubspot])")
    known = {
        "every",
        "external_id",
        "renewal_dealtype",
        "renewal_pipeline",
        "write_back",
        "write_back_prefix",
        *ACCOUNT_FIELDS,
    }
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConnectorConfigError(f"{where}.{unknown[0]}: unknown key (expected one of {sorted(known)})")
    values: dict[str, Any] = {}
    if "every" in table:
        values["every"] = parse_every(table["every"], f"{where}.every")
    if "external_id" in table:
        values["external_id"] = _name(table["external_id"], f"{where}.external_id", optional=False)
    if "write_back" in table:
        if not isinstance(table["write_back"], bool):
            raise ConnectorConfigError(f"{where}.write_back: must be true or false")
        values["write_back"] = table["write_back"]
    if "write_back_prefix" in table:
        prefix = _name(table["write_back_prefix"], f"{where}.write_back_prefix", optional=False)
        if prefix is None or not re.fullmatch(r"[a-z][a-z0-9_]*", prefix):
            raise ConnectorConfigError(
                f"{where}.write_back_prefix: lower-case letters, digits and _ (HubSpot's property names)"
            )
        values["write_back_prefix"] = prefix
    for key in ("renewal_dealtype", "renewal_pipeline"):
        if key in table:
            values[key] = _name(table[key], f"{where}.{key}", optional=True)
    properties = dict(HUBSPOT_DEFAULTS)
    for key in ACCOUNT_FIELDS:
        if key in table:
            properties[key] = _name(table[key], f"{where}.{key}", optional=True)
    return HubSpotConfig(properties=properties, **values)


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
        raise ConnectorConfigError(f"{where}: at least 5 minutes (the CRM's rate limits are shared)")
    return every


def _name(value: object, where: str, *, optional: bool) -> str | None:
    """A property name; an empty string means "none" where that is allowed."""
    if not isinstance(value, str):
        raise ConnectorConfigError(f"{where}: must be a property name in quotes")
    name = value.strip()
    if not name:
        if optional:
            return None
        raise ConnectorConfigError(f"{where}: must name a property")
    return name
