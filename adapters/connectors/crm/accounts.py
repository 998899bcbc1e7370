"""Writing a page of CRM records as accounts, the same way for every CRM.

Each page is one transaction: its accounts (through the accounts validators and upsert, with their ARR
history, source ``crm``), their links and, for an incremental read, the cursor after the page, so a run
that dies resumes after the last page written. A record finds its account by its link, else by its
external id (the field the mapping names; the CRM's own id by default), so accounts imported from CSV
are matched, not duplicated; an account already linked to another record is reported, not taken. An
owner who is not a Touchpoint person is reported once per run and the account keeps its owner. A bad
record is skipped and reported with its id, field and problem; the rest of the page is written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.connectors.crm.records import CrmAccountsKind, account_row
from adapters.connectors.runs import SyncTally
from storage import connectors as store
from storage.arr_history import ArrSource
from storage.db import Database
from storage.importer import ImportOptions
from storage.importer.base import Record
from storage.importer.lookups import person_ids
from storage.models import Account, LinkState


@dataclass(frozen=True, slots=True)
class CrmAccount:
    """One CRM record that is an account: its id, how problems name it ("company 123"), its fields, its
    owner's CRM id, and the ids merged into it."""

    crm_id: str
    label: str
    values: Mapping[str, Any]
    owner: str | None
    merged_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The CRM's names, for mapping and for problems a person fixes in the CRM."""

    system: str  # "HubSpot"
    record: str  # what one record is called: "company"
    name_field: str  # "name"
    owner_field: str  # "hubspot_owner_id"
    external_id: str | None  # the field holding an account's external id (None: the CRM id)
    mapping: Mapping[str, str | None] = field(default_factory=dict)  # account field -> CRM field

    def field_of(self, account_field: str) -> str:
        if account_field == "external_id":
            return self.external_id or "id"
        if account_field == "owner_email":
            return self.owner_field
        if account_field == "name":
            return self.name_field
        return self.mapping.get(account_field) or account_field


class AccountWriter:
    """Writes pages of one connector's records; ``owners`` maps CRM owner ids to emails."""

    def __init__(
        self,
        db: Database,
        connector: str,
        words: Vocabulary,
        *,
        clock: Callable[[], datetime],
        default_timezone: str = "UTC",
    ) -> None:
        self.db, self.connector, self.words = db, connector, words
        self._clock = clock
        self._timezone = default_timezone
        self.owners: dict[str, str | None] = {}
        self._people: dict[str, int] = {}
        self._kind: CrmAccountsKind | None = None
        self._reported: set[str] = set()

    async def prepare(self) -> None:
        """Read, once per run, the people owners are matched to and the validators' look-ups (every
        page of the run uses them)."""
        async with self.db.sessions() as session:
            self._people = await person_ids(session)
            options = ImportOptions(default_timezone=self._timezone, now=self._clock())
            self._kind = await CrmAccountsKind.load(session, options)

    @asynccontextmanager
    async def page(self, *, dry_run: bool) -> AsyncIterator[AsyncSession]:
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

    async def write(
        self,
        records: Iterable[CrmAccount],
        tally: SyncTally,
        *,
        dry_run: bool,
        cursor: tuple[str, str] | None = None,
        deleted: Collection[str] = (),
        merged: Mapping[str, str] | None = None,
    ) -> None:
        """Write one page; ``cursor`` is (stream, position) to save with it. ``deleted`` records and
        ``merged`` ones (merged-away id -> survivor) of the same page have their links marked in the same
        transaction, so the cursor never passes a change that was not written."""
        page = list(records)
        tally.add("read", len(page))
        now = self._clock()
        if self._kind is None:
            await self.prepare()
        kind = self._kind
        assert kind is not None
        async with self.page(dry_run=dry_run) as session:
            rows, crm_ids = await self._rows(session, kind, page, tally)
            if rows:
                written = await kind.write_recording_arr(session, rows, source=ArrSource.CRM, day=now.date())
                tally.add("created", written.inserted)
                tally.add("updated", written.changed)
                tally.add("unchanged", len(rows) - written.inserted - written.changed)
                ids = await store.accounts_by_external_id(session, [r["external_id"] for r in rows])
                links = {crm_id: ids[row["external_id"]] for crm_id, row in zip(crm_ids, rows, strict=True)}
                await store.save_links(session, self.connector, links, now=now)
            merged = {
                **{old: r.crm_id for r in page for old in r.merged_ids if old and old != r.crm_id},
                **(merged or {}),
            }
            if merged:
                changed = await store.mark_links(
                    session, self.connector, merged, LinkState.MERGED, now=now, merged_into=merged
                )
                tally.add("merged", changed)
            if deleted:
                changed = await store.mark_links(
                    session, self.connector, deleted, LinkState.ARCHIVED, now=now
                )
                tally.add("archived", changed)
            if cursor is not None:
                await store.save_cursor(session, self.connector, cursor[0], cursor[1], now=now)

    async def mark(
        self,
        crm_ids: Collection[str],
        state: LinkState,
        tally: SyncTally,
        *,
        dry_run: bool,
        merged_into: Mapping[str, str] | None = None,
    ) -> None:
        """Mark linked records archived (deleted) or merged; their accounts and history stay."""
        if not crm_ids:
            return
        async with self.page(dry_run=dry_run) as session:
            changed = await store.mark_links(
                session, self.connector, crm_ids, state, now=self._clock(), merged_into=merged_into
            )
        tally.add("merged" if state is LinkState.MERGED else "archived", changed)

    def _owner_email(self, record: CrmAccount, tally: SyncTally) -> str | None:
        owner = record.owner
        if not owner:
            return None
        email = self.owners.get(owner)
        if email is not None and email.lower() in self._people:
            return email.lower()
        if owner not in self._reported:
            self._reported.add(owner)
            who = f"owner {owner} ({email})" if email else f"owner {owner} (no email in {self.words.system})"
            tally.problem(
                record.label,
                self.words.owner_field,
                f"{who} is not a Touchpoint person: import them with touchpoint import people; "
                "their accounts keep their current owner meanwhile",
            )
        return None

    async def _rows(
        self, session: AsyncSession, kind: CrmAccountsKind, records: list[CrmAccount], tally: SyncTally
    ) -> tuple[list[Record], list[str]]:
        """The valid account records of ``records`` and the CRM id of each; problems reported."""
        words = self.words
        links = await store.linked_accounts(session, self.connector, [r.crm_id for r in records])
        linked_external = await _external_ids(session, links.values())
        wanted = {
            r.crm_id: str((r.values.get(words.external_id) if words.external_id else None) or r.crm_id)
            for r in records
            if r.crm_id not in links
        }
        existing = await store.accounts_by_external_id(session, wanted.values())
        taken = await store.accounts_linked_elsewhere(session, self.connector, existing.values())
        rows: list[Record] = []
        crm_ids: list[str] = []
        seen: dict[str, str] = {}
        id_field = words.field_of("external_id")
        for record in records:
            if record.crm_id in links:
                external_id = linked_external[links[record.crm_id]]
            else:
                external_id = wanted[record.crm_id]
                account_id = existing.get(external_id)
                other = taken.get(account_id) if account_id is not None else None
                if other is not None and other != record.crm_id:
                    tally.add("skipped")
                    tally.problem(
                        record.label,
                        id_field,
                        f"account {external_id} is already linked to {words.system} {words.record} {other}",
                    )
                    continue
            if external_id in seen:
                tally.add("skipped")
                tally.problem(record.label, id_field, f"same account {external_id} as {seen[external_id]}")
                continue
            row = account_row(
                record.values,
                words.mapping,
                name_field=words.name_field,
                external_id=external_id,
                owner_email=self._owner_email(record, tally),
            )
            result = kind.validate(row)
            if isinstance(result, list):
                tally.add("skipped")
                for field_name, problem in result:
                    tally.problem(record.label, words.field_of(field_name), problem)
                continue
            seen[external_id] = record.label
            rows.append(result)
            crm_ids.append(record.crm_id)
        return rows, crm_ids


async def _external_ids(session: AsyncSession, account_ids: Iterable[int]) -> dict[int, str]:
    ids = list(account_ids)
    if not ids:
        return {}
    stmt = select(Account.id, Account.external_id).where(Account.id.in_(ids))
    return {account_id: external_id for account_id, external_id in (await session.execute(stmt)).all()}
