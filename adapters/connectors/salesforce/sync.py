"""Reading Salesforce into Touchpoint: users to people, Accounts to accounts, renewal Opportunities to
renewal dates and outcomes; health written back.

One sync (:meth:`SalesforceSync.run`, under :func:`adapters.connectors.runs.run_sync`):

1. **Users** are read whole and matched to people by email (see :mod:`adapters.connectors.crm.accounts`).
2. **Accounts** through ``queryAll`` (so deleted and merged ones come too), ordered by
   ``SystemModstamp, Id``: all of them in a full sync, those modified since the cursor in an
   incremental one. Pages are written by :class:`~adapters.connectors.crm.accounts.AccountWriter` (one
   transaction each, with the cursor: the last ``SystemModstamp`` of the page). A deleted account
   (``IsDeleted``) keeps its Touchpoint account and history, its link marked archived; a merged one
   (deleted with a ``MasterRecordId``) is marked merged into the surviving account.
3. **Renewal Opportunities** (a full sync): those whose ``Type`` is one of ``renewal_types``
   (:mod:`adapters.connectors.crm.renewals`).
4. **Write-back** (``write_back = true``): each linked account's latest health to the custom fields
   ``{write_back_prefix}_{Score,Band,Trend,Drivers,Date}__c`` with sObject Collections (200 a call),
   only where it changed.

A dry run reads everything and works out every write in a transaction it rolls back; it sends nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from adapters.connectors.config import SalesforceConfig
from adapters.connectors.crm.accounts import CrmAccount, Vocabulary
from adapters.connectors.crm.base import CrmSync
from adapters.connectors.crm.renewals import Renewal, save_renewals
from adapters.connectors.crm.writeback import Fields, HealthValues, Written, write_back
from adapters.connectors.runs import Lease, SyncTally
from adapters.connectors.salesforce.answers import parse_time, soql_time
from adapters.connectors.salesforce.client import SalesforceClient
from storage import connectors as store

NAME = "salesforce"
ACCOUNTS = "accounts"
OPPORTUNITY_FIELDS = ("Id", "AccountId", "Type", "IsClosed", "IsWon", "CloseDate", "Amount")


class SalesforceSync(CrmSync[SalesforceClient, SalesforceConfig]):
    """One connector instance over an open client."""

    connector = NAME

    def vocabulary(self, config: SalesforceConfig) -> Vocabulary:
        return Vocabulary(
            system="Salesforce",
            record="Account",
            name_field="Name",
            owner_field="OwnerId",
            external_id=config.external_id,
            mapping=config.fields,
        )

    async def run(self, tally: SyncTally, lease: Lease, *, full: bool, dry_run: bool) -> None:
        async for users in self.client.query("SELECT Id, Email FROM User"):
            self.writer.owners.update({str(u["Id"]): u.get("Email") for u in users})
        await self.writer.prepare()
        since = None
        if not full:
            async with self.db.sessions() as session:
                position = await store.cursor(session, NAME, ACCOUNTS)
            since = datetime.fromisoformat(position) if position else None
        where = f" WHERE SystemModstamp >= {soql_time(since)}" if since is not None else ""
        fields = ", ".join(self.config.account_fields())
        soql = f"SELECT {fields} FROM Account{where} ORDER BY SystemModstamp, Id"
        async for page in self.client.query(soql, all_rows=True):
            await self._write(page, tally, dry_run=dry_run)
            await lease.renew()
        if full:
            await self._renewals(tally, dry_run=dry_run)
            await lease.renew()
        if self.config.write_back:
            await write_back(
                self.db,
                NAME,
                tally,
                label="Account",
                render=self._render,
                send=self._send,
                today=self.now().date(),
                dry_run=dry_run,
                planned=self.planned,
            )

    async def _write(self, records: Sequence[dict[str, Any]], tally: SyncTally, *, dry_run: bool) -> None:
        live = [r for r in records if not r.get("IsDeleted")]
        gone = [r for r in records if r.get("IsDeleted")]
        merged = {str(r["Id"]): str(r["MasterRecordId"]) for r in gone if r.get("MasterRecordId")}
        deleted = [str(r["Id"]) for r in gone if not r.get("MasterRecordId")]
        accounts = [
            CrmAccount(
                crm_id=str(r["Id"]),
                label=f"Account {r['Id']}",
                values=r,
                owner=r.get("OwnerId"),
            )
            for r in live
        ]
        stamps = [parse_time(r.get("SystemModstamp")) for r in records]
        last = max((stamp for stamp in stamps if stamp is not None), default=None)
        cursor = (ACCOUNTS, last.isoformat()) if last is not None and not dry_run else None
        await self.writer.write(
            accounts, tally, dry_run=dry_run, cursor=cursor, deleted=deleted, merged=merged
        )
        self.read(len(records))

    async def _renewals(self, tally: SyncTally, *, dry_run: bool) -> None:
        wanted = set(self.config.renewal_types)
        renewals: list[Renewal] = []
        soql = f"SELECT {', '.join(OPPORTUNITY_FIELDS)} FROM Opportunity ORDER BY SystemModstamp, Id"
        async for page in self.client.query(soql):
            for opportunity in page:
                if opportunity.get("Type") not in wanted or not opportunity.get("AccountId"):
                    continue
                amount = opportunity.get("Amount")
                renewals.append(
                    Renewal(
                        crm_id=str(opportunity["Id"]),
                        label=f"Opportunity {opportunity['Id']}",
                        accounts=(str(opportunity["AccountId"]),),
                        closes=opportunity.get("CloseDate"),
                        closed=bool(opportunity.get("IsClosed")),
                        won=bool(opportunity.get("IsWon")),
                        amount=None if amount is None else str(amount),
                    )
                )
        async with self.writer.page(dry_run=dry_run) as session:
            set_dates = self.config.fields.get("renewal_date") is None
            await save_renewals(session, NAME, renewals, tally, set_dates=set_dates, now=self.now())

    def _render(self, values: HealthValues) -> Fields:
        """Numbers as numbers, an empty value as null (which clears the field), the day as a date."""
        names = self.config.write_back_fields()
        return {names[key]: (None if value == "" else value) for key, value in values.items()}

    async def _send(self, updates: Sequence[tuple[str, Fields]]) -> Written:
        return await self.client.update_records("Account", updates)
