"""``accounts``: customer companies, keyed by external id (the CRM's id), each owned by a known person.

Writing accounts also keeps their ARR history (:mod:`storage.arr_history`): an ``ArrChange`` row for
every account whose ARR is set or changes, in the same transaction as the accounts themselves. And it
stamps ``churned_on`` with the day of the write when a record moves an account into the churned stage
(or creates one there); a record that keeps it churned leaves the day as it was, one that moves it out
clears it, and a record without ``lifecycle_stage`` touches neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date
from typing import ClassVar, Self

from sqlalchemy import select
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
    "domain",
    "owner_id",
    "segment",
    "tier",
    "arr",
    "lifecycle_stage",
    "contract_start",
    "renewal_date",
    "churned_on",
)


class AccountsKind(Kind):
    name = "accounts"
    required: ClassVar[tuple[str, ...]] = ("external_id", "name", "owner_email")
    optional: ClassVar[tuple[str, ...]] = (
        "domain",
        "segment",
        "tier",
        "arr",
        "lifecycle_stage",
        "contract_start",
        "renewal_date",
    )

    # The day a file's ARR changes and churns are recorded on: the import's moment when the options give
    # one, else today in UTC. The API passes its own day to write_recording_arr.
    today: date | None = None

    @classmethod
    async def load(cls, session: AsyncSession, options: ImportOptions) -> Self:
        people = await person_ids(session)
        stages = [s.value for s in LifecycleStage]
        kind = cls(
            (
                f.Field("external_id", f.text(128)),
                f.Field("name", f.text(200)),
                f.Field(
                    "owner_email",
                    f.lookup(people, "no person with email {value} (import people first)", normalize=f.email),
                    column="owner_id",
                ),
                f.Field("domain", f.domain, required=False),
                f.Field("segment", f.text(64), required=False),
                f.Field("tier", f.text(64), required=False),
                f.Field("arr", f.money, required=False),
                f.Field("lifecycle_stage", f.choice(stages, "lifecycle stage"), required=False),
                f.Field("contract_start", f.iso_date(), required=False),
                f.Field("renewal_date", f.iso_date(), required=False),
            )
        )
        now = options.now
        kind.today = None if now is None else (now.astimezone(UTC) if now.tzinfo else now).date()
        return kind

    def complete(self, values: Record) -> Record | list[FieldProblem]:
        start, renewal = values.get("contract_start"), values.get("renewal_date")
        if start is not None and renewal is not None and renewal < start:
            return [("renewal_date", f"{renewal} is before contract_start {start}")]
        values["name_key"] = name_key(values["name"])
        return values

    def keys(self, record: Record) -> list[tuple[str, str]]:
        return [("external_id", record["external_id"])]

    async def write(self, session: AsyncSession, records: Sequence[Record], present: frozenset[str]) -> Tally:
        return await self.write_recording_arr(session, records, source=ArrSource.IMPORT, day=self.today)

    async def write_recording_arr(
        self, session: AsyncSession, records: Sequence[Record], *, source: str, day: date | None = None
    ) -> Tally:
        """Upsert ``records`` and keep the ARR history of those that give an ARR.

        The ARR of the batch's accounts is read in one query before the upsert, under
        :func:`~storage.arr_history.lock_arr_writes` so a concurrent writer cannot change it in between;
        the change rows go in with one executemany after it, in the caller's transaction. ``day`` is
        the day the changes (and churns, see the module docstring) are recorded on (default: today in
        UTC); ``source`` says where they came from (an :class:`~storage.arr_history.ArrSource`). An
        account that has an ARR but no history yet gets its first row even when the ARR did not change:
        that starts the history of installs that predate it.
        """
        with_arr = [r for r in records if "arr" in r]
        if with_arr:
            await lock_arr_writes(session)
        before = await known_arr(session, [r["external_id"] for r in with_arr])
        on, now = day or utc_today(), utcnow()
        records = await _stamp_churn(session, records, on)
        tally, touched = await upsert_rows(
            session, TABLE, records, key=KEY, update=UPDATABLE, returning=("external_id", "id")
        )
        ids = {external_id: known.account_id for external_id, known in before.items()}
        ids.update({external_id: account_id for external_id, account_id in touched})
        unseen = [r["external_id"] for r in with_arr if r["external_id"] not in ids]
        if unseen:  # written meanwhile by a writer that does not take the lock: read their ids
            found = await known_arr(session, unseen)
            ids.update({external_id: known.account_id for external_id, known in found.items()})
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


async def _stamp_churn(session: AsyncSession, records: Sequence[Record], day: date) -> list[Record]:
    """``records`` with ``churned_on`` set where their stage says so (see the module docstring); the
    stages they replace are read in one query."""
    staged = [r["external_id"] for r in records if "lifecycle_stage" in r]
    if not staged:
        return list(records)
    churned = LifecycleStage.CHURNED.value
    stmt = select(Account.external_id, Account.lifecycle_stage).where(Account.external_id.in_(staged))
    stage_before = {external_id: stage for external_id, stage in (await session.execute(stmt)).all()}
    stamped: list[Record] = []
    for record in records:
        if "lifecycle_stage" in record:
            record = dict(record)
            if record["lifecycle_stage"] != churned:
                record["churned_on"] = None
            elif stage_before.get(record["external_id"]) != churned:
                record["churned_on"] = day
        stamped.append(record)
    return stamped
