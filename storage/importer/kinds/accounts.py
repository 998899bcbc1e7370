"""``accounts``: customer companies, keyed by external id (the CRM's id), each owned by a known person.

Writing accounts also keeps their ARR history (:mod:`storage.arr_history`): an ``ArrChange`` row for
every account whose ARR is set or changes, in the same transaction as the accounts themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession

from storage.arr_history import (
    ArrSource,
    arr_change_row,
    insert_arr_changes,
    known_arr,
    lock_arr_writes,
    utc_today,
)
from storage.importer import fields as f
from storage.importer.base import ImportOptions, Kind, Record
from storage.importer.errors import FieldProblem
from storage.importer.lookups import person_ids
from storage.importer.write import Tally, table_of, upsert_rows
from storage.models import Account, LifecycleStage
from storage.names import name_key
from storage.types import utcnow

TABLE = table_of(Account)
KEY = ("external_id",)
UPDATABLE = (
    "name",
    "name_key",
    "owner_id",
    "segment",
    "tier",
    "arr",
    "lifecycle_stage",
    "contract_start",
    "renewal_date",
)


class AccountsKind(Kind):
    name = "accounts"
    required = ("external_id", "name", "owner_email")
    optional = ("segment", "tier", "arr", "lifecycle_stage", "contract_start", "renewal_date")

    @classmethod
    async def load(cls, session: AsyncSession, options: ImportOptions) -> Self:
        people = await person_ids(session)
        stages = [s.value for s in LifecycleStage]
        return cls(
            (
                f.Field("external_id", f.text(128)),
                f.Field("name", f.text(200)),
                f.Field(
                    "owner_email",
                    f.lookup(people, "no person with email {value} (import people first)", normalize=f.email),
                    column="owner_id",
                ),
                f.Field("segment", f.text(64), required=False),
                f.Field("tier", f.text(64), required=False),
                f.Field("arr", f.money, required=False),
                f.Field("lifecycle_stage", f.choice(stages, "lifecycle stage"), required=False),
                f.Field("contract_start", f.iso_date(), required=False),
                f.Field("renewal_date", f.iso_date(), required=False),
            )
        )

    def complete(self, values: Record) -> Record | list[FieldProblem]:
        start, renewal = values.get("contract_start"), values.get("renewal_date")
        if start is not None and renewal is not None and renewal < start:
            return [("renewal_date", f"{renewal} is before contract_start {start}")]
        values["name_key"] = name_key(values["name"])
        return values

    def keys(self, record: Record) -> list[tuple[str, str]]:
        return [("external_id", record["external_id"])]

    async def write(self, session: AsyncSession, records: Sequence[Record], present: frozenset[str]) -> Tally:
        return await self.write_recording_arr(session, records, source=ArrSource.IMPORT)

    async def write_recording_arr(
        self, session: AsyncSession, records: Sequence[Record], *, source: str, day: date | None = None
    ) -> Tally:
        """Upsert ``records`` and keep the ARR history of those that give an ARR.

        The ARR of the batch's accounts is read in one query before the upsert, under
        :func:`~storage.arr_history.lock_arr_writes` so a concurrent writer cannot change it in between;
        the change rows go in with one executemany after it, in the caller's transaction. ``day`` is
        the day the changes are recorded on (default: today in UTC); ``source`` says where they came
        from (an :class:`~storage.arr_history.ArrSource`). An account that has an ARR but no history yet
        gets its first row even when the ARR did not change: that starts the history of installs that
        predate it.
        """
        with_arr = [r for r in records if "arr" in r]
        if with_arr:
            await lock_arr_writes(session)
        before = await known_arr(session, [r["external_id"] for r in with_arr])
        tally, touched = await upsert_rows(
            session, TABLE, records, key=KEY, update=UPDATABLE, returning=("external_id", "id")
        )
        ids = {external_id: known.account_id for external_id, known in before.items()}
        ids.update({external_id: account_id for external_id, account_id in touched})
        unseen = [r["external_id"] for r in with_arr if r["external_id"] not in ids]
        if unseen:  # written meanwhile by a writer that does not take the lock: read their ids
            found = await known_arr(session, unseen)
            ids.update({external_id: known.account_id for external_id, known in found.items()})
        on, now = day or utc_today(), utcnow()
        changes = [
            row
            for record in with_arr
            if (
                row := arr_change_row(
                    before.get(record["external_id"]),
                    ids[record["external_id"]],
                    record["arr"],
                    day=on,
                    source=source,
                    recorded_at=now,
                )
            )
            is not None
        ]
        await insert_arr_changes(session, changes)
        return tally
