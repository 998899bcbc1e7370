"""``touchpoint connect``: the mapping of ``[connectors.*]`` checked against the CRM's live schema (HubSpot's
properties API, Salesforce's describe).

A mapped field that does not exist is a problem naming the file, the key and the fields that come
closest (a CRM has hundreds; listing them all helps nobody), with how many exist in all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from rapidfuzz import process

from adapters.connectors.config import ACCOUNT_FIELDS, HubSpotConfig, SalesforceConfig
from adapters.connectors.errors import ConnectorError
from adapters.connectors.hubspot.client import HubSpotClient
from adapters.connectors.salesforce.client import SalesforceClient
from adapters.connectors.salesforce.sync import OPPORTUNITY_FIELDS

if TYPE_CHECKING:
    from adapters.connectors.setup import Configured

Row = tuple[str, str, str]  # Touchpoint field, where it comes from, its state
CLOSEST = 5


class Described(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...


@dataclass(slots=True)
class Report:
    """Rows of what maps to what, and problems naming the setting to fix."""

    system: str
    table: str  # "connectors.hubspot"
    source: str  # the configuration file
    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def check(
        self, label: str, name: str | None, known: Mapping[str, Described], where: str, key: str = ""
    ) -> None:
        if name is None:
            return
        found = known.get(name)
        if found is not None:
            self.rows.append((label, f"{where}.{name}", f"ok ({found.type})"))
            return
        self.rows.append((label, f"{where}.{name}", "missing"))
        closest = [match for match, _score, _index in process.extract(name, list(known), limit=CLOSEST)]
        self.problems.append(
            f"{self.source}: {self.table}.{key or label}: no {where} field {name!r} in {self.system}; "
            f"closest of the {len(known):,} that exist: {', '.join(closest)}"
        )


async def mapping_report(connector: Configured) -> tuple[list[Row], list[str]]:
    """What maps to what, and the problems (empty when the sync can run)."""
    config = connector.config
    if isinstance(config, SalesforceConfig):
        report = await _salesforce(connector, config)
    elif isinstance(config, HubSpotConfig):
        report = await _hubspot(connector, config)
    else:
        raise ConnectorError(f"{connector.name} has no CRM schema to check", system=connector.name)
    return report.rows, report.problems


async def _hubspot(connector: Configured, config: HubSpotConfig) -> Report:
    async with HubSpotClient(connector.base_url, connector.token) as client:
        owners = 0
        async for page in client.owners():
            owners += len(page)
        companies = {p.name: p for p in await client.properties("companies")}
        deals = {p.name: p for p in await client.properties("deals")}
    report = Report("HubSpot", "connectors.hubspot", connector.source)
    report.rows.append(("people (owners)", "owners, by email", f"{owners:,} owners readable"))
    report.check("external_id", config.external_id, companies, "company")
    report.check("name", "name", companies, "company")
    _mapped(report, config.properties, companies, "company", "renewal deals' close date")
    if config.properties.get("renewal_date") is None:
        for name in ("dealtype", "pipeline", "closedate", "hs_is_closed", "hs_is_closed_won", "amount"):
            report.check(f"renewal deals ({name})", name, deals, "deal", key="renewal_date")
    _write_back(report, config.write_back, config.write_back_properties(), companies, "company")
    return report


async def _salesforce(connector: Configured, config: SalesforceConfig) -> Report:
    async with SalesforceClient(
        connector.base_url, connector.token, connector.secret, api_version=config.api_version
    ) as client:
        users = {f.name: f for f in await client.describe("User")}
        accounts = {f.name: f for f in await client.describe("Account")}
        opportunities = {f.name: f for f in await client.describe("Opportunity")}
    report = Report("Salesforce", "connectors.salesforce", connector.source)
    report.check("people (owners)", "Email", users, "User")
    report.check("external_id", config.external_id or "Id", accounts, "Account")
    report.check("name", "Name", accounts, "Account")
    _mapped(report, config.fields, accounts, "Account", "renewal Opportunities' close date")
    for name in OPPORTUNITY_FIELDS:
        report.check(
            f"renewal Opportunities ({name})", name, opportunities, "Opportunity", key="renewal_types"
        )
    _write_back(report, config.write_back, config.write_back_fields(), accounts, "Account")
    return report


def _mapped(
    report: Report,
    mapping: Mapping[str, str | None],
    known: Mapping[str, Described],
    where: str,
    renewals: str,
) -> None:
    for account_field in ACCOUNT_FIELDS:
        name = mapping.get(account_field)
        if name is None:
            source = renewals if account_field == "renewal_date" else "not mapped"
            report.rows.append(
                (account_field, source, "ok" if account_field == "renewal_date" else "left as imported")
            )
            continue
        report.check(account_field, name, known, where)


def _write_back(
    report: Report, on: bool, names: Mapping[str, str], known: Mapping[str, Described], where: str
) -> None:
    if not on:
        report.rows.append(
            ("write-back", "off", f"write_back = true sends each {where}'s health to {report.system}")
        )
        return
    for value, name in names.items():
        report.check(f"write-back: {value}", name, known, where, key="write_back_prefix")
