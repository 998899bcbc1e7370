"""The ``[connectors.*]`` tables of ``touchpoint.toml``: how often each CRM connector syncs, which CRM
field holds each account field, which deals or opportunities are renewals, and what is written back;
how Zendesk organizations find their accounts and what makes a ticket an escalation; how Segment
events are tied to accounts and which of them count (:mod:`adapters.connectors.sources_config`).

A typo is an error naming the file and the key (``touchpoint.toml: connectors.hubspot.ar: unknown key
...``); whether a named field exists in the CRM is checked against its live schema by ``touchpoint
connect``, which names the fields that come closest.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from adapters.connectors.sources_config import (
    DEFAULT_EVERY,
    ConnectorConfigError,
    SegmentConfig,
    ZendeskConfig,
    parse_every,
    parse_segment,
    parse_zendesk,
)

# The account fields a CRM field can fill.
ACCOUNT_FIELDS = ("arr", "renewal_date", "contract_start", "segment", "tier", "lifecycle_stage")
HUBSPOT_DEFAULTS: Mapping[str, str | None] = {
    "arr": "annualrevenue",
    "renewal_date": None,  # from the renewal deals' close dates unless a company property is named
    "contract_start": None,
    "segment": None,
    "tier": None,
    "lifecycle_stage": None,
}
SALESFORCE_DEFAULTS: Mapping[str, str | None] = {**HUBSPOT_DEFAULTS, "arr": "AnnualRevenue"}
# Opportunity types that are renewals: Salesforce's standard "Existing Customer" values, and "Renewal",
# which many orgs add.
SALESFORCE_RENEWAL_TYPES = (
    "Renewal",
    "Existing Customer - Upgrade",
    "Existing Customer - Replacement",
    "Existing Customer - Downgrade",
)
# What is written back to a company or account, each to a field named after it.
WRITE_BACK = ("score", "band", "trend", "drivers", "date")
_HUBSPOT_NAME = re.compile(r"[a-z][a-z0-9_]*")
_SALESFORCE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_API_VERSION = re.compile(r"v\d{2,3}\.0")


@dataclass(frozen=True, slots=True)
class HubSpotConfig:
    """``[connectors.hubspot]``: see ``touchpoint.example.toml`` for each key."""

    every: timedelta | None = DEFAULT_EVERY  # None: no scheduled sync ("off")
    external_id: str = "hs_object_id"  # the company property that holds an account's external id
    properties: Mapping[str, str | None] = field(default_factory=lambda: dict(HUBSPOT_DEFAULTS))
    renewal_dealtype: str | None = "existingbusiness"  # deals of this type are renewals (None: any)
    renewal_pipeline: str | None = None  # only deals of this pipeline (None: any)
    write_back: bool = False  # write each company's health to the write-back properties
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
class SalesforceConfig:
    """``[connectors.salesforce]``: see ``touchpoint.example.toml`` for each key."""

    every: timedelta | None = DEFAULT_EVERY
    external_id: str | None = None  # the Account field that holds an account's external id (None: Id)
    fields: Mapping[str, str | None] = field(default_factory=lambda: dict(SALESFORCE_DEFAULTS))
    renewal_types: tuple[str, ...] = SALESFORCE_RENEWAL_TYPES  # Opportunity.Type values that are renewals
    write_back: bool = False
    write_back_prefix: str = "Touchpoint_Health"
    api_version: str = "v62.0"

    def write_back_fields(self) -> dict[str, str]:
        """What is written back, by value: the custom Account fields to create (``..._Score__c``)."""
        return {value: f"{self.write_back_prefix}_{value.capitalize()}__c" for value in WRITE_BACK}

    def account_fields(self) -> list[str]:
        """Every Account field a sync reads."""
        wanted = {"Id", "Name", "OwnerId", "SystemModstamp", "IsDeleted", "MasterRecordId"}
        if self.external_id:
            wanted.add(self.external_id)
        wanted.update(name for name in self.fields.values() if name)
        return sorted(wanted)


@dataclass(frozen=True, slots=True)
class ConnectorsConfig:
    hubspot: HubSpotConfig | None = None  # None: no [connectors.hubspot] table
    salesforce: SalesforceConfig | None = None
    zendesk: ZendeskConfig | None = None
    segment: SegmentConfig | None = None


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
    unknown = sorted(set(table) - {"hubspot", "salesforce", "zendesk", "segment"})
    if unknown:
        raise ConnectorConfigError(
            f"{source}: connectors.{unknown[0]}: unknown connector "
            "(expected hubspot, salesforce, zendesk or segment)"
        )
    hubspot, salesforce = table.get("hubspot"), table.get("salesforce")
    zendesk, segment = table.get("zendesk"), table.get("segment")
    return ConnectorsConfig(
        hubspot=None if hubspot is None else _hubspot(hubspot, f"{source}: connectors.hubspot"),
        salesforce=None
        if salesforce is None
        else _salesforce(salesforce, f"{source}: connectors.salesforce"),
        zendesk=None if zendesk is None else parse_zendesk(zendesk, f"{source}: connectors.zendesk"),
        segment=None if segment is None else parse_segment(segment, f"{source}: connectors.segment"),
    )


def _common(table: Any, where: str, known: set[str], name_rule: re.Pattern[str]) -> dict[str, Any]:
    """The keys every CRM has: every, external_id, write_back, write_back_prefix, and the field mapping
    (under ``mapping``)."""
    if not isinstance(table, Mapping):
        raise ConnectorConfigError(f"{where}: must be a table")
    known = known | {"every", "external_id", "write_back", "write_back_prefix", *ACCOUNT_FIELDS}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConnectorConfigError(f"{where}.{unknown[0]}: unknown key (expected one of {sorted(known)})")
    values: dict[str, Any] = {}
    if "every" in table:
        values["every"] = parse_every(table["every"], f"{where}.every")
    if "external_id" in table:
        values["external_id"] = _name(table["external_id"], f"{where}.external_id", optional=True)
    if "write_back" in table:
        if not isinstance(table["write_back"], bool):
            raise ConnectorConfigError(f"{where}.write_back: must be true or false")
        values["write_back"] = table["write_back"]
    if "write_back_prefix" in table:
        prefix = _name(table["write_back_prefix"], f"{where}.write_back_prefix", optional=False)
        if prefix is None or not name_rule.fullmatch(prefix):
            raise ConnectorConfigError(
                f"{where}.write_back_prefix: letters, digits and _ as the CRM's field names allow"
            )
        values["write_back_prefix"] = prefix
    values["mapping"] = {
        key: _name(table[key], f"{where}.{key}", optional=True) for key in ACCOUNT_FIELDS if key in table
    }
    return values


def _hubspot(table: Any, where: str) -> HubSpotConfig:
    values = _common(table, where, {"renewal_dealtype", "renewal_pipeline"}, _HUBSPOT_NAME)
    for key in ("renewal_dealtype", "renewal_pipeline"):
        if key in table:
            values[key] = _name(table[key], f"{where}.{key}", optional=True)
    if "external_id" in values and values["external_id"] is None:
        raise ConnectorConfigError(f"{where}.external_id: must name a property (hs_object_id: HubSpot's id)")
    properties = {**HUBSPOT_DEFAULTS, **values.pop("mapping")}
    return HubSpotConfig(properties=properties, **values)


def _salesforce(table: Any, where: str) -> SalesforceConfig:
    values = _common(table, where, {"renewal_types", "api_version"}, _SALESFORCE_NAME)
    for key, name in [("external_id", values.get("external_id")), *values["mapping"].items()]:
        if name is not None and not _SALESFORCE_NAME.fullmatch(name):
            raise ConnectorConfigError(f"{where}.{key}: {name!r} is not a Salesforce field name")
    if "renewal_types" in table:
        types = table["renewal_types"]
        if not isinstance(types, list) or not all(isinstance(t, str) and t.strip() for t in types):
            raise ConnectorConfigError(f"{where}.renewal_types: a list of Opportunity Type values")
        values["renewal_types"] = tuple(t.strip() for t in types)
    if "api_version" in table:
        version = table["api_version"]
        if not isinstance(version, str) or not _API_VERSION.fullmatch(version):
            raise ConnectorConfigError(f'{where}.api_version: like "v62.0"')
        values["api_version"] = version
    fields = {**SALESFORCE_DEFAULTS, **values.pop("mapping")}
    return SalesforceConfig(fields=fields, **values)


def _name(value: object, where: str, *, optional: bool) -> str | None:
    """A field name; an empty string means "none" where that is allowed."""
    if not isinstance(value, str):
        raise ConnectorConfigError(f"{where}: must be a field name in quotes")
    name = value.strip()
    if not name:
        if optional:
            return None
        raise ConnectorConfigError(f"{where}: must name a field")
    return name
