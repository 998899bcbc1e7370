"""Reading HubSpot into Touchpoint: owners to people, companies to accounts, renewal deals to renewal dates
and outcomes; health written back.

One sync (:meth:`HubSpotSync.run`, under :func:`adapters.connectors.runs.run_sync`):

1. **Owners** are read whole (a few hundred at most) and matched to people by email (an owner who is not
   a Touchpoint person is reported; see :mod:`adapters.connectors.crm.accounts`).
2. **Companies**: a full sync lists every company, then the archived ones; an incremental sync asks the
   search API for those modified since the cursor. Pages are written by
   :class:`~adapters.connectors.crm.accounts.AccountWriter` (one transaction each, with the cursor). A
   company finds its account by its link, else by ``external_id`` (``hs_object_id``, HubSpot's id,
   unless configured). A merged company's survivor lists the merged-away ids
   (``hs_merged_object_ids``): their links are marked merged into it; archived companies' links are
   marked archived. Their accounts and history stay.
3. **Renewal deals** (a full sync): deals of the renewal type and pipeline
   (:mod:`adapters.connectors.crm.renewals`). The search API does not return a deal's companies, so
   deals are left to the nightly full sync rather than an incremental one.
4. **Write-back** (``write_back = true``): each linked company's latest health, to the properties
   ``{write_back_prefix}_{score,band,trend,drivers,date}``, only where it changed.

A dry run reads everything and works out every write in a transaction it rolls back; it sends nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from adapters.connectors.config import HubSpotConfig
from adapters.connectors.crm.accounts import CrmAccount, Vocabulary
from adapters.connectors.crm.base import CrmSync
from adapters.connectors.crm.renewals import Renewal, save_renewals
from adapters.connectors.crm.writeback import Fields, HealthValues, Written, write_back
from adapters.connectors.hubspot.client import CrmRecord, HubSpotClient
from adapters.connectors.runs import Lease, SyncTally
from storage import connectors as store
from storage.models import LinkState

NAME = "hubspot"
COMPANIES = "companies"
DEAL_PROPERTIES = (
    "dealname",
    "dealtype",
    "pipeline",
    "closedate",
    "hs_is_closed",
    "hs_is_closed_won",
    "amount",
)
# A full sync's cursor is its start less this margin: clocks of two systems never agree exactly, and
# reading a company twice changes nothing.
CURSOR_MARGIN = timedelta(minutes=5)


class HubSpotSync(CrmSync[HubSpotClient, HubSpotConfig]):
    """One connector instance over an open client."""

    connector = NAME

    def vocabulary(self, config: HubSpotConfig) -> Vocabulary:
        return Vocabulary(
            system="HubSpot",
            record="company",
            name_field="name",
            owner_field="hubspot_owner_id",
            external_id=config.external_id,
            mapping=config.properties,
        )

    async def run(self, tally: SyncTally, lease: Lease, *, full: bool, dry_run: bool) -> None:
        started = self.now()
        async for owners in self.client.owners():
            self.writer.owners.update({owner.id: owner.email for owner in owners})
        await self.writer.prepare()
        properties = self.config.company_properties()
        if full:
            after: str | None = None
            while True:
                page = await self.client.list_page(COMPANIES, properties, after)
                await self._write(page.records, tally, dry_run=dry_run)
                await lease.renew()
                after = page.after
                if after is None:
                    break
            await self._archived(tally, dry_run=dry_run)
            await self._renewal_deals(tally, dry_run=dry_run)
            await lease.renew()
            if not dry_run:
                async with self.db.transaction() as session:
                    start = (started - CURSOR_MARGIN).isoformat()
                    await store.save_cursor(session, NAME, COMPANIES, start, now=self.now())
        else:
            async with self.db.sessions() as session:
                position = await store.cursor(session, NAME, COMPANIES)
            since = datetime.fromisoformat(position) if position else None
            async for page in self.client.modified_since(COMPANIES, properties, since):
                cursor = max((r.updated_at for r in page.records), default=None)
                await self._write(page.records, tally, dry_run=dry_run, cursor=cursor)
                await lease.renew()
        if self.config.write_back:
            await write_back(
                self.db,
                NAME,
                tally,
                label="company",
                render=self._render,
                send=self._send,
                today=self.now().date(),
                dry_run=dry_run,
                planned=self.planned,
            )

    async def _write(
        self, records: Sequence[CrmRecord], tally: SyncTally, *, dry_run: bool, cursor: datetime | None = None
    ) -> None:
        accounts = [
            CrmAccount(
                crm_id=r.id,
                label=f"company {r.id}",
                values=r.properties,
                owner=r.properties.get("hubspot_owner_id"),
                merged_ids=tuple(
                    old.strip() for old in (r.properties.get("hs_merged_object_ids") or "").split(";")
                ),
            )
            for r in records
            if not r.archived
        ]
        position = (COMPANIES, cursor.isoformat()) if cursor is not None else None
        await self.writer.write(accounts, tally, dry_run=dry_run, cursor=position)
        self.read(len(accounts))

    async def _archived(self, tally: SyncTally, *, dry_run: bool) -> None:
        after: str | None = None
        while True:
            page = await self.client.list_page(COMPANIES, ["name"], after, archived=True)
            await self.writer.mark([r.id for r in page.records], LinkState.ARCHIVED, tally, dry_run=dry_run)
            after = page.after
            if after is None:
                return

    def _is_renewal(self, deal: CrmRecord) -> bool:
        props = deal.properties
        dealtype, pipeline = self.config.renewal_dealtype, self.config.renewal_pipeline
        if dealtype is not None and props.get("dealtype") != dealtype:
            return False
        return pipeline is None or props.get("pipeline") == pipeline

    async def _renewal_deals(self, tally: SyncTally, *, dry_run: bool) -> None:
        renewals: list[Renewal] = []
        after: str | None = None
        while True:
            page = await self.client.list_page("deals", DEAL_PROPERTIES, after, associations=[COMPANIES])
            for deal in page.records:
                if not self._is_renewal(deal):
                    continue
                props = deal.properties
                renewals.append(
                    Renewal(
                        crm_id=deal.id,
                        label=f"deal {deal.id}",
                        accounts=deal.associations.get(COMPANIES, ()),
                        closes=props.get("closedate"),
                        closed=(props.get("hs_is_closed") or "").lower() == "true",
                        won=(props.get("hs_is_closed_won") or "").lower() == "true",
                        amount=props.get("amount"),
                    )
                )
            after = page.after
            if after is None:
                break
        async with self.writer.page(dry_run=dry_run) as session:
            set_dates = self.config.properties.get("renewal_date") is None
            await save_renewals(session, NAME, renewals, tally, set_dates=set_dates, now=self.now())

    def _render(self, values: HealthValues) -> Fields:
        """HubSpot takes every property value as a string; an empty one clears the property."""
        names = self.config.write_back_properties()
        return {names[key]: "" if value is None else str(value) for key, value in values.items()}

    async def _send(self, updates: Sequence[tuple[str, Fields]]) -> Written:
        strings = [(crm_id, {name: str(value) for name, value in f.items()}) for crm_id, f in updates]
        return await self.client.batch_update(COMPANIES, strings)
