"""Reading HubSpot into Touchpoint: owners to people, companies to accounts, renewal deals to renewal dates.

One sync (:meth:`HubSpotSync.run`, under :func:`adapters.connectors.runs.run_sync`):

1. **Owners** are read whole (a few hundred at most) and matched to people by email. An owner with no
   Touchpoint person is reported once per run when a company names them, and that account keeps its
   owner (a new one has none): nobody is given a role silently.
2. **Companies**: a full sync lists every company, then the archived ones; an incremental sync asks the
   search API for those modified since the cursor. Each page is one transaction: its accounts (through
   the accounts validators and upsert, with their ARR history), their links and the cursor, so a run
   that dies resumes after the last page written, with no gap and no duplicate. A company finds its
   account by its link, else by ``external_id`` (the property naming an account's external id:
   ``hs_object_id``, HubSpot's id, unless configured), so accounts imported from CSV are matched, not
   duplicated. A bad record is skipped and reported with its id, property and problem; the rest of
   the page is written. A merged company's survivor lists the merged-away ids
   (``hs_merged_object_ids``): their links are marked merged into it; archived companies' links are
   marked archived. Their accounts and history stay.
3. **Renewal deals** (a full sync): every open deal of the renewal type and pipeline sets its
   companies' renewal date to its close date, the earliest when there are several (unless
   ``renewal_date`` is mapped to a company property); every closed one is stored as a renewal outcome
   (won: renewed, or downgraded when its amount is below the ARR before; lost: churned), which
   retention reads. The search API does not return a deal's companies, so deals are left to the
   nightly full sync rather than an incremental one.

4. **Write-back** (``write_back = true``): each linked company's latest health, to the properties of
   :mod:`adapters.connectors.hubspot.writeback`, only where it changed.

A dry run reads everything and works out every write in a transaction it rolls back; it sends nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.connectors.config import HubSpotConfig
from adapters.connectors.hubspot.client import CrmRecord, HubSpotClient
from adapters.connectors.hubspot.records import CrmAccountsKind, company_row, crm_date, property_of
from adapters.connectors.hubspot.writeback import write_back
from adapters.connectors.runs import Lease, SyncTally
from storage import connectors as store
from storage.arr_history import ArrSource, arr_on
from storage.db import Database
from storage.importer import ImportOptions
from storage.importer.base import Record
from storage.importer.fields import FieldError, money
from storage.importer.lookups import person_ids
from storage.models import Account, LinkState, RenewalResult
from storage.renewals import save_outcomes

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


class HubSpotSync:
    """One connector instance: ``clock`` is the moment source, ``progress`` is told of each page read."""

    def __init__(
        self,
        db: Database,
        client: HubSpotClient,
        config: HubSpotConfig,
        *,
        clock: Callable[[], datetime],
        default_timezone: str = "UTC",
        progress: Callable[[int], object] | None = None,
    ) -> None:
        self.db, self.client, self.config = db, client, config
        self._clock = clock
        self._timezone = default_timezone
        self._progress = progress
        self._owners: dict[str, str | None] = {}
        self._people: dict[str, int] = {}
        self._reported_owners: set[str] = set()
        self.planned: list[tuple[str, dict[str, str]]] = []  # what a dry run would write back

    def now(self) -> datetime:
        return self._clock()

    async def run(self, tally: SyncTally, lease: Lease, *, full: bool, dry_run: bool) -> None:
        started = self.now()
        await self._load_owners()
        properties = self.config.company_properties()
        if full:
            after: str | None = None
            while True:
                page = await self.client.list_page(COMPANIES, properties, after)
                await self._write_companies(page.records, tally, dry_run=dry_run)
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
                await self._write_companies(page.records, tally, dry_run=dry_run, cursor=cursor)
                await lease.renew()
        if self.config.write_back:
            await write_back(
                self.db,
                self.client,
                self.config,
                tally,
                connector=NAME,
                today=self.now().date(),
                dry_run=dry_run,
                planned=self.planned,
            )

    # ------------------------------------------------------------------------------------- owners

    async def _load_owners(self) -> None:
        async for owners in self.client.owners():
            for owner in owners:
                self._owners[owner.id] = owner.email.lower() if owner.email else None
        async with self.db.sessions() as session:
            self._people = await person_ids(session)

    def _owner_email(self, record: CrmRecord, tally: SyncTally) -> str | None:
        owner = record.properties.get("hubspot_owner_id")
        if not owner:
            return None
        email = self._owners.get(owner)
        if email is not None and email in self._people:
            return email
        if owner not in self._reported_owners:
            self._reported_owners.add(owner)
            who = f"owner {owner} ({email})" if email else f"owner {owner} (no email in HubSpot)"
            tally.problem(
                f"company {record.id}",
                "hubspot_owner_id",
                f"{who} is not a Touchpoint person: import them with touchpoint import people; "
                "their accounts keep their current owner meanwhile",
            )
        return None

    # ---------------------------------------------------------------------------------- companies

    @asynccontextmanager
    async def _page(self, *, dry_run: bool) -> AsyncIterator[AsyncSession]:
        """One page's transaction: committed, or rolled back whatever happens in a dry run."""
        async with self.db.sessions() as session:
            transaction = await session.begin()
            try:
                yield session
            except BaseException:
                await transaction.rollback()
                raise
            if dry_run:
                await transaction.rollback()
            else:
                await transaction.commit()

    async def _write_companies(
        self,
        records: Iterable[CrmRecord],
        tally: SyncTally,
        *,
        dry_run: bool,
        cursor: datetime | None = None,
    ) -> None:
        records = [r for r in records if not r.archived]
        tally.add("read", len(records))
        now = self.now()
        async with self._page(dry_run=dry_run) as session:
            kind = await CrmAccountsKind.load(
                session, ImportOptions(default_timezone=self._timezone, now=now)
            )
            rows, crm_ids = await self._rows(session, kind, records, tally)
            if rows:
                written = await kind.write_recording_arr(session, rows, source=ArrSource.CRM, day=now.date())
                tally.add("created", written.inserted)
                tally.add("updated", written.changed)
                tally.add("unchanged", len(rows) - written.inserted - written.changed)
                ids = await store.accounts_by_external_id(session, [r["external_id"] for r in rows])
                links = {crm_id: ids[row["external_id"]] for crm_id, row in zip(crm_ids, rows, strict=True)}
                await store.save_links(session, NAME, links, now=now)
            merged = {
                old.strip(): record.id
                for record in records
                for old in (record.properties.get("hs_merged_object_ids") or "").split(";")
                if old.strip() and old.strip() != record.id
            }
            if merged:
                tally.add(
                    "merged",
                    await store.mark_links(
                        session, NAME, merged, LinkState.MERGED, now=now, merged_into=merged
                    ),
                )
            if cursor is not None:
                await store.save_cursor(session, NAME, COMPANIES, cursor.isoformat(), now=now)
        if self._progress is not None:
            self._progress(len(records))

    async def _rows(
        self, session: AsyncSession, kind: CrmAccountsKind, records: list[CrmRecord], tally: SyncTally
    ) -> tuple[list[Record], list[str]]:
        """The valid account records of ``records`` and the company id of each; problems reported."""
        links = await store.linked_accounts(session, NAME, [r.id for r in records])
        linked_external = await _external_ids(session, links.values())
        wanted = {
            r.id: (r.properties.get(self.config.external_id) or r.id) for r in records if r.id not in links
        }
        existing = await store.accounts_by_external_id(session, wanted.values())
        taken = await store.accounts_linked_elsewhere(session, NAME, existing.values())
        rows: list[Record] = []
        crm_ids: list[str] = []
        seen: dict[str, str] = {}
        for record in records:
            label = f"company {record.id}"
            if record.id in links:
                external_id = linked_external[links[record.id]]
            else:
                external_id = wanted[record.id]
                account_id = existing.get(external_id)
                other = taken.get(account_id) if account_id is not None else None
                if other is not None and other != record.id:
                    tally.add("skipped")
                    tally.problem(
                        label,
                        self.config.external_id,
                        f"account {external_id} is already linked to HubSpot company {other}",
                    )
                    continue
            if external_id in seen:
                tally.add("skipped")
                tally.problem(
                    label,
                    self.config.external_id,
                    f"same account {external_id} as company {seen[external_id]}",
                )
                continue
            row = company_row(
                record.properties,
                self.config,
                external_id=external_id,
                owner_email=self._owner_email(record, tally),
            )
            result = kind.validate(row)
            if isinstance(result, list):
                tally.add("skipped")
                for field_name, problem in result:
                    tally.problem(label, property_of(field_name, self.config), problem)
                continue
            seen[external_id] = record.id
            rows.append(result)
            crm_ids.append(record.id)
        return rows, crm_ids

    async def _archived(self, tally: SyncTally, *, dry_run: bool) -> None:
        after: str | None = None
        while True:
            page = await self.client.list_page(COMPANIES, ["name"], after, archived=True)
            ids = [r.id for r in page.records]
            async with self._page(dry_run=dry_run) as session:
                tally.add(
                    "archived", await store.mark_links(session, NAME, ids, LinkState.ARCHIVED, now=self.now())
                )
            after = page.after
            if after is None:
                return

    # ------------------------------------------------------------------------------- renewal deals

    def _is_renewal(self, deal: CrmRecord) -> bool:
        props = deal.properties
        dealtype, pipeline = self.config.renewal_dealtype, self.config.renewal_pipeline
        if dealtype is not None and props.get("dealtype") != dealtype:
            return False
        return pipeline is None or props.get("pipeline") == pipeline

    async def _renewal_deals(self, tally: SyncTally, *, dry_run: bool) -> None:
        """Renewal deals: each linked company's earliest open one sets its renewal date (unless a company
        property is mapped to it), and each closed one is stored as a renewal outcome."""
        earliest: dict[str, date] = {}
        closed: list[tuple[CrmRecord, date, str]] = []
        after: str | None = None
        while True:
            page = await self.client.list_page("deals", DEAL_PROPERTIES, after, associations=[COMPANIES])
            for deal in page.records:
                closes = deal.properties.get("closedate")
                if not closes or not self._is_renewal(deal):
                    continue
                try:
                    day = date.fromisoformat(crm_date(closes))
                except ValueError:
                    tally.problem(f"deal {deal.id}", "closedate", f"not a date: {closes[:40]!r}")
                    continue
                companies = deal.associations.get(COMPANIES, ())
                if (deal.properties.get("hs_is_closed") or "").lower() == "true":
                    closed += [(deal, day, company) for company in companies[:1]]
                    continue
                for company in companies:
                    if company not in earliest or day < earliest[company]:
                        earliest[company] = day
            after = page.after
            if after is None:
                break
        async with self._page(dry_run=dry_run) as session:
            if self.config.properties.get("renewal_date") is None:
                await self._save_renewal_dates(session, earliest, tally)
            await self._save_outcomes(session, closed, tally)

    async def _save_renewal_dates(
        self, session: AsyncSession, earliest: dict[str, date], tally: SyncTally
    ) -> None:
        links = await store.linked_accounts(session, NAME, earliest)
        changed = 0
        for company, account_id in sorted(links.items()):
            result = await session.execute(
                update(Account)
                .where(Account.id == account_id, Account.renewal_date.is_distinct_from(earliest[company]))
                .values(renewal_date=earliest[company])
            )
            changed += int(getattr(result, "rowcount", 0) or 0)
        tally.add("renewal_dates", changed)

    async def _save_outcomes(
        self, session: AsyncSession, closed: list[tuple[CrmRecord, date, str]], tally: SyncTally
    ) -> None:
        """A won renewal renewed (its amount at or above the ARR before) or downgraded; a lost one churned.
        The ARR before is the account's ARR the day before the deal closed (its current ARR when the
        history does not reach back)."""
        links = await store.linked_accounts(session, NAME, {company for _deal, _day, company in closed})
        rows = []
        for deal, day, company in closed:
            account_id = links.get(company)
            if account_id is None:
                continue
            before = (await arr_on(session, [account_id], day - timedelta(days=1))).get(account_id)
            if before is None:
                before = (await session.execute(select(Account.arr).where(Account.id == account_id))).scalar()
            won = (deal.properties.get("hs_is_closed_won") or "").lower() == "true"
            after = self._deal_amount(deal, tally) if won else Decimal(0)
            if after is None:
                after = before or Decimal(0)
            result = (
                RenewalResult.CHURNED
                if not won
                else RenewalResult.DOWNGRADED
                if before is not None and after < before
                else RenewalResult.RENEWED
            )
            rows.append(
                {
                    "source": NAME,
                    "source_id": deal.id,
                    "account_id": account_id,
                    "closed_on": day,
                    "result": result.value,
                    "arr_before": before,
                    "arr_after": after,
                    "recorded_at": self.now(),
                }
            )
        await save_outcomes(session, rows)
        tally.add("renewals_closed", len(rows))

    def _deal_amount(self, deal: CrmRecord, tally: SyncTally) -> Decimal | None:
        raw = deal.properties.get("amount")
        if not raw:
            return None
        try:
            amount = money(raw)
        except FieldError as exc:
            tally.problem(f"deal {deal.id}", "amount", str(exc))
            return None
        return amount


async def _external_ids(session: AsyncSession, account_ids: Iterable[int]) -> dict[int, str]:
    ids = list(account_ids)
    if not ids:
        return {}
    stmt = select(Account.id, Account.external_id).where(Account.id.in_(ids))
    return {account_id: external_id for account_id, external_id in (await session.execute(stmt)).all()}
