"""``touchpoint connect zendesk``: the API token checked, and the organizations matched as the next
sync would, without writing anything."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.connectors.sources_config import ZendeskConfig
from adapters.connectors.zendesk.client import ZendeskClient
from adapters.connectors.zendesk.organizations import Matcher
from storage.db import Database

if TYPE_CHECKING:
    from adapters.connectors.setup import Configured

Row = tuple[str, str, str]
SHOWN = 5


def _escalation_rule(config: ZendeskConfig) -> str:
    parts = []
    if config.escalation_priority:
        parts.append(f"priority {config.escalation_priority}")
    if config.escalation_tags:
        parts.append("tag " + " or ".join(config.escalation_tags))
    return " or ".join(parts) or "none"


async def zendesk_report(
    db: Database, connector: Configured, config: ZendeskConfig
) -> tuple[list[Row], list[str]]:
    """Rows of what maps to what, and problems naming what to fix (empty when the sync can run)."""
    rows: list[Row] = []
    problems: list[str] = []
    where = f"{connector.source}: connectors.zendesk"
    async with ZendeskClient(connector.base_url, connector.token, connector.secret) as client:
        me = await client.me()
        role = str(me.get("role") or "unknown")
        rows.append(("credentials", f"ZENDESK_EMAIL {me.get('email') or connector.token}", f"ok ({role})"))
        if role != "admin":
            problems.append(
                f"ZENDESK_EMAIL: {me.get('email') or connector.token} is a Zendesk {role}; the incremental "
                "ticket export needs an admin's API token"
            )
        async with db.sessions() as session:
            matcher = await Matcher.read(session, config)
        total = matched = 0
        unmatched: list[str] = []
        async for page in client.organizations():
            for organization in page:
                total += 1
                account, _field, value = matcher.account_of(organization, config)
                if account is None:
                    unmatched.append(f"{organization.name} ({value})")
                else:
                    matched += 1
    rule = f"match = {config.match}" + (f" ({config.crm_id_field})" if config.match == "crm_id" else "")
    rows.append(("accounts", f"organizations, {rule}", f"{matched:,} of {total:,} match an account"))
    rows.append(("escalations", _escalation_rule(config), "ok"))
    if total and not matched:
        problems.append(
            f"{where}.match: no organization matches an account by {config.match}; first ones: "
            + ", ".join(unmatched[:SHOWN])
        )
    elif unmatched:
        rows.append(("unmatched", ", ".join(unmatched[:SHOWN]), f"{len(unmatched):,} reported by each sync"))
    return rows, problems
