"""Zendesk organizations to Touchpoint accounts.

An organization linked before keeps its account (``crm_link`` rows of the ``zendesk`` connector), so
renaming it or editing its fields moves nothing. An unlinked one is matched by ``[connectors.zendesk]
match``: its ``external_id`` to an account's external id; any of its ``domain_names`` to an account's
domain; or the CRM id in its ``crm_id_field`` organization field to the account linked to that CRM
record (HubSpot or Salesforce), else to an account with that external id. An organization matching no
account, or one whose account another organization already has, is reported and its tickets wait: they
count from the run that links it. A linked organization Zendesk no longer lists is marked archived and
its tickets stop counting.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.connectors.runs import SyncTally
from adapters.connectors.sources_config import ZendeskConfig
from adapters.connectors.zendesk.client import Organization
from storage import connectors as links
from storage.models import Account, CrmLink, LinkState

NAME = "zendesk"


@dataclass(slots=True)
class Matcher:
    """What an organization can be matched by, read once per run."""

    by_external_id: dict[str, int] = field(default_factory=dict)
    by_domain: dict[str, int] = field(default_factory=dict)
    by_crm_id: dict[str, int] = field(default_factory=dict)

    @classmethod
    async def read(cls, session: AsyncSession, config: ZendeskConfig) -> Matcher:
        matcher = cls()
        rows = await session.execute(select(Account.external_id, Account.id, Account.domain))
        for external_id, account_id, domain in rows.all():
            matcher.by_external_id[external_id] = account_id
            if domain and config.match == "domain":
                matcher.by_domain.setdefault(domain, account_id)
        if config.match == "crm_id":
            crm = await session.execute(
                select(CrmLink.crm_id, CrmLink.account_id).where(
                    CrmLink.connector != NAME, CrmLink.state == LinkState.ACTIVE.value
                )
            )
            matcher.by_crm_id = {crm_id: account_id for crm_id, account_id in crm.all()}
        return matcher

    def account_of(self, organization: Organization, config: ZendeskConfig) -> tuple[int | None, str, str]:
        """(account id or None, the field matched on, the value tried)."""
        if config.match == "domain":
            for domain in organization.domain_names:
                if domain in self.by_domain:
                    return self.by_domain[domain], "domain_names", domain
            return None, "domain_names", ", ".join(organization.domain_names) or "(none)"
        if config.match == "crm_id":
            name = config.crm_id_field or ""
            value = _text(organization.fields.get(name))
            if value is None:
                return None, f"organization_fields.{name}", "(empty)"
            found = self.by_crm_id.get(value, self.by_external_id.get(value))
            return found, f"organization_fields.{name}", value
        value = organization.external_id or ""
        return self.by_external_id.get(value), "external_id", value or "(empty)"


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


@dataclass(slots=True)
class OrganizationLinks:
    """The outcome of one pass over the organizations."""

    accounts: dict[str, int]  # organization id -> account id, every active link after the pass
    changed: set[int]  # accounts whose organization changed: their series are worked out again


async def link_organizations(
    session: AsyncSession,
    pages: Iterable[list[Organization]],
    config: ZendeskConfig,
    tally: SyncTally,
    *,
    now: datetime,
) -> OrganizationLinks:
    """Link the organizations of ``pages`` (already read) as the module docstring says, in ``session``."""
    existing = {link.crm_id: link.account_id for link in await links.active_links(session, NAME)}
    taken = {account: org for org, account in existing.items()}
    matcher = await Matcher.read(session, config)
    seen: set[str] = set()
    new: dict[str, int] = {}
    for page in pages:
        for organization in page:
            tally.add("read")
            seen.add(organization.id)
            if organization.id in existing:
                tally.add("unchanged")
                continue
            account, where, value = matcher.account_of(organization, config)
            record = f"organization {organization.id} ({organization.name})"
            if account is None:
                tally.add("skipped")
                tally.problem(record, where, f"{value}: matches no account; its tickets count once it does")
                continue
            if account in taken:
                tally.add("skipped")
                tally.problem(
                    record, where, f"{value}: its account is linked to organization {taken[account]}"
                )
                continue
            taken[account] = organization.id
            new[organization.id] = account
            tally.add("created")
    await links.save_links(session, NAME, new, now=now)
    gone = set(existing) - seen
    if gone:
        tally.add("archived", await links.mark_links(session, NAME, gone, LinkState.ARCHIVED, now=now))
    accounts = {org: account for org, account in existing.items() if org not in gone}
    accounts.update(new)
    changed = set(new.values()) | {existing[org] for org in gone}
    return OrganizationLinks(accounts, changed)
