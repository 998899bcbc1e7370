"""Reading Zendesk into Touchpoint: organizations to accounts, tickets to the daily support series,
satisfaction ratings to CSAT answers (and a bad rating's comment to the CSM).

One sync (:meth:`ZendeskSync.run`, under :func:`adapters.connectors.runs.run_sync`):

1. **Organizations** are read whole and linked to accounts
   (:mod:`adapters.connectors.zendesk.organizations`).
2. **Tickets** through the incremental export (:mod:`adapters.connectors.zendesk.tickets`): a full
   sync, or the first one, reads every ticket from the start, so the 90-day series are right from day
   one; later ones continue from the saved cursor and read only what changed.
3. **Series** of the accounts whose tickets or organization changed, or of every linked account on
   the first run of a day (a ticket left open is one more day open) and on a full sync.
4. **Ratings** received since the last one seen (the health window on a full or first sync), written
   as CSAT answers (:mod:`adapters.connectors.zendesk.ratings`); then detractor comments become feedback
   to the accounts' CSMs.

A dry run reads everything and works every write out in transactions it rolls back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from adapters.connectors.runs import Lease, SyncTally
from adapters.connectors.sources_config import ZendeskConfig
from adapters.connectors.zendesk.client import TicketPage, ZendeskClient
from adapters.connectors.zendesk.organizations import OrganizationLinks, link_organizations
from adapters.connectors.zendesk.ratings import survey_records
from adapters.connectors.zendesk.tickets import METRICS, NAME, Window, series_rows, solved_at, ticket_row
from bot.core.import_rules import import_options
from bot.feedback.routing import Routing
from bot.feedback.surveys import SURVEY_FRESH_DAYS, feedback_from_surveys
from storage import connectors as cursors
from storage import support_tickets as store
from storage.db import Database
from storage.importer import RecordsValidationError, load_kind, validate_records, write_records

TICKETS, SERIES, RATINGS = "tickets", "series", "ratings"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ACCOUNTS_PER_WRITE = 200
# While a long export fills the ticket table, the database's planner is told how big it has become.
STATISTICS_AFTER = (1, 5)
STATISTICS_EVERY = 50


class ZendeskSync:
    """One connector instance over an open client."""

    connector = NAME

    def __init__(
        self,
        db: Database,
        client: ZendeskClient,
        config: ZendeskConfig,
        *,
        clock: Callable[[], datetime],
        default_timezone: str = "UTC",
        progress: Callable[[int], object] | None = None,
        routing: Routing | None = None,
    ) -> None:
        self.db, self.client, self.config, self.clock = db, client, config, clock
        self.timezone, self.progress, self.routing = default_timezone, progress, routing
        self.planned: list[tuple[str, dict[str, Any]]] = []

    async def _finish(self, session: AsyncSession, dry_run: bool) -> None:
        if dry_run:
            await session.rollback()
        else:
            await session.commit()

    async def run(self, tally: SyncTally, lease: Lease, *, full: bool, dry_run: bool) -> None:
        now = self.clock()
        window = Window(now, self.timezone)
        pages = [page async for page in self.client.organizations()]
        async with self.db.sessions() as session:
            links = await link_organizations(session, pages, self.config, tally, now=now)
            await self._finish(session, dry_run)
        changed = await self._tickets(tally, lease, links, window, full=full, dry_run=dry_run)
        await self._series(tally, lease, links, changed, window, full=full, dry_run=dry_run)
        await self._ratings(tally, lease, window, full=full, dry_run=dry_run)

    async def _tickets(
        self,
        tally: SyncTally,
        lease: Lease,
        links: OrganizationLinks,
        window: Window,
        *,
        full: bool,
        dry_run: bool,
    ) -> set[int]:
        """Read the export to its end; answer the accounts whose tickets changed."""
        async with self.db.sessions() as session:
            cursor = None if full else await cursors.cursor(session, NAME, TICKETS)
            # Reading everything: what is stored is read once, not looked up page by page.
            known = await store.all_organizations(session, NAME) if cursor is None else None
        changed_orgs: set[str] = set()
        pages = 0
        while True:
            if cursor is None:
                page = await self.client.ticket_page(start_time=EPOCH)
            else:
                page = await self.client.ticket_page(cursor=cursor)
            async with self.db.sessions() as session:
                changed_orgs |= await self._write_page(session, page, window, tally, known)
                if page.after_cursor:
                    await cursors.save_cursor(session, NAME, TICKETS, page.after_cursor, now=self.clock())
                await self._finish(session, dry_run)
            pages += 1
            if pages in STATISTICS_AFTER or pages % STATISTICS_EVERY == 0:
                async with self.db.sessions() as session:
                    await store.refresh_statistics(session)
            if self.progress is not None:
                self.progress(len(page.tickets))
            await lease.renew()
            cursor = page.after_cursor or cursor
            if page.end_of_stream or not page.after_cursor:
                break
        return {links.accounts[org] for org in changed_orgs if org in links.accounts}

    async def _write_page(
        self,
        session: AsyncSession,
        page: TicketPage,
        window: Window,
        tally: SyncTally,
        known: dict[str, str | None] | None,
    ) -> set[str]:
        """Store one page's tickets; answer the organizations they were or are in. ``known`` is every
        stored ticket's organization when the whole export is read (kept up to date here)."""
        ids = [t.id for t in page.tickets]
        if known is None:
            before = await store.organizations_of(session, NAME, ids)
        else:
            before = {ticket: known[ticket] for ticket in ids if ticket in known}
        keep: dict[str, dict[str, Any]] = {}
        drop: set[str] = set()
        orgs: set[str] = set()
        for ticket in page.tickets:
            tally.add("tickets")
            for org in (ticket.organization_id, before.get(ticket.id)):
                if org:
                    orgs.add(org)
            if ticket.deleted or ticket.merged:
                tally.add("merged" if ticket.merged else "archived")
                drop.add(ticket.id)
                keep.pop(ticket.id, None)
                continue
            solved = solved_at(ticket)
            if solved is not None and solved < window.start:
                drop.add(ticket.id)  # never shows in the window
                keep.pop(ticket.id, None)
                continue
            keep[ticket.id] = ticket_row(ticket, self.config)
            drop.discard(ticket.id)
            tally.add("updated" if ticket.id in before else "created")
        await store.drop_tickets(session, NAME, [t for t in drop if t in before])
        await store.save_tickets(session, list(keep.values()))
        if known is not None:
            for gone in drop:
                known.pop(gone, None)
            known.update({kept: row["organization_id"] for kept, row in keep.items()})
        return orgs

    async def _series(
        self,
        tally: SyncTally,
        lease: Lease,
        links: OrganizationLinks,
        changed: set[int],
        window: Window,
        *,
        full: bool,
        dry_run: bool,
    ) -> None:
        async with self.db.sessions() as session:
            last = await cursors.cursor(session, NAME, SERIES)
        accounts = set(changed) | links.changed
        if full or last != window.last.isoformat():
            accounts |= set(links.accounts.values())
        ordered = sorted(accounts)
        for start in range(0, len(ordered), ACCOUNTS_PER_WRITE):
            chunk = ordered[start : start + ACCOUNTS_PER_WRITE]
            async with self.db.sessions() as session:
                rows = await series_rows(session, links.accounts, chunk, window)
                await store.replace_daily_metrics(session, chunk, METRICS, window.first, window.last, rows)
                if dry_run:
                    self.planned.extend(("usage_metric", row) for row in rows[:100])
                await self._finish(session, dry_run)
            tally.add("series_written", len(chunk))
            await lease.renew()
        async with self.db.sessions() as session:
            await cursors.save_cursor(session, NAME, SERIES, window.last.isoformat(), now=self.clock())
            await self._finish(session, dry_run)

    async def _ratings(
        self, tally: SyncTally, lease: Lease, window: Window, *, full: bool, dry_run: bool
    ) -> None:
        async with self.db.sessions() as session:
            saved = None if full else await cursors.cursor(session, NAME, RATINGS)
        since = datetime.fromisoformat(saved) if saved else window.start
        handler = await load_kind(self.db, "surveys", import_options(self.timezone))
        latest = since
        async for ratings in self.client.satisfaction_ratings(start_time=since):
            tally.add("ratings", len(ratings))
            async with self.db.sessions() as session:
                accounts = await store.accounts_of_tickets(session, NAME, {r.ticket_id for r in ratings})
                records = survey_records(ratings, accounts, tally)
                prepared = self._prepare(handler, records, tally)
                if prepared is not None:
                    await write_records(session, prepared, source="zendesk", actor_label="zendesk sync")
                latest = max([latest, *(r.created_at for r in ratings)])
                await cursors.save_cursor(session, NAME, RATINGS, latest.isoformat(), now=self.clock())
                await self._finish(session, dry_run)
            await lease.renew()
        if not dry_run and self.routing is not None:
            now = self.clock()
            made = await feedback_from_surveys(
                self.db, since=now - timedelta(days=SURVEY_FRESH_DAYS), now=now, routing=self.routing
            )
            tally.add("feedback_items", made)

    @staticmethod
    def _prepare(handler: Any, records: list[dict[str, Any]], tally: SyncTally) -> Any:
        """The records validated; those the surveys rules refuse are reported and left out."""
        try:
            return validate_records(handler, records) if records else None
        except RecordsValidationError as refused:
            bad = {problem.index for problem in refused.problems}
            for problem in refused.problems:
                record = records[problem.index] if problem.index is not None else {}
                tally.problem(str(record.get("external_id", "rating")), problem.field or "", problem.problem)
            kept = [record for index, record in enumerate(records) if index not in bad]
            return validate_records(handler, kept) if kept else None
