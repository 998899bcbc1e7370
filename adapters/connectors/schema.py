"""``touchpoint connect``: the mapping of ``[connectors.hubspot]`` checked against HubSpot's live schema.

A mapped property that does not exist is a problem naming the file, the key and the properties that
come closest (a CRM has hundreds; listing them all helps nobody), with how many exist in all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rapidfuzz import process

from adapters.connectors.config import ACCOUNT_FIELDS
from adapters.connectors.hubspot.client import HubSpotClient, PropertyInfo

if TYPE_CHECKING:
    from adapters.connectors.setup import Configured

Row = tuple[str, str, str]  # Touchpoint field, where it comes from, its state
CLOSEST = 5


async def mapping_report(connector: Configured) -> tuple[list[Row], list[str]]:
    """What maps to what, and the problems (empty when the sync can run)."""
    config = connector.config
    async with HubSpotClient(connector.base_url, connector.token) as client:
        owners = 0
        async for page in client.owners():
            owners += len(page)
        companies = {p.name: p for p in await client.properties("companies")}
        deals = {p.name: p for p in await client.properties("deals")}
    rows: list[Row] = [("people (owners)", "owners, by email", f"{owners:,} owners readable")]
    problems: list[str] = []

    def check(
        field: str, name: str | None, known: dict[str, PropertyInfo], where: str, key: str = ""
    ) -> None:
        if name is None:
            return
        found = known.get(name)
        if found is not None:
            rows.append((field, f"{where}.{name}", f"ok ({found.type})"))
            return
        rows.append((field, f"{where}.{name}", "missing"))
        closest = [match for match, _score, _index in process.extract(name, list(known), limit=CLOSEST)]
        setting = f"{connector.source}: connectors.hubspot.{key or field}"
        problems.append(
            f"{setting}: no {where} property {name!r} in HubSpot; closest of the "
            f"{len(known):,} that exist: {', '.join(closest)}"
        )

    check("external_id", config.external_id, companies, "company")
    rows.append(("name", "company.name", "ok" if "name" in companies else "missing"))
    for field in ACCOUNT_FIELDS:
        name = config.properties.get(field)
        if name is None:
            source = "renewal deals' close date" if field == "renewal_date" else "not mapped"
            rows.append((field, source, "ok" if field == "renewal_date" else "left as imported"))
            continue
        check(field, name, companies, "company")
    if config.properties.get("renewal_date") is None:
        for name in ("dealtype", "pipeline", "closedate", "hs_is_closed"):
            check(f"renewal deals ({name})", name, deals, "deal", key="renewal_date (unset: from deals)")
    if config.write_back:
        for value, name in config.write_back_properties().items():
            check(f"write-back: {value}", name, companies, "company", key="write_back_prefix")
    else:
        rows.append(("write-back", "off", "write_back = true sends each company's health to HubSpot"))
    return rows, problems
