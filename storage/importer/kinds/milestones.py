"""``milestones``: dated steps of an account's plan, keyed by account and milestone name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession

from storage.importer import fields as f
from storage.importer.base import ImportOptions, Kind, Record
from storage.importer.lookups import account_field
from storage.importer.write import Tally, table_of, upsert_rows
from storage.models import Milestone, MilestoneKind

TABLE = table_of(Milestone)
KEY = ("account_id", "name")
UPDATABLE = ("kind", "due_date", "completed_at")
OTHER = MilestoneKind.OTHER.value


class MilestonesKind(Kind):
    name = "milestones"
    required = ("account_external_id", "name", "due_date")
    optional = ("kind", "completed_at")

    @classmethod
    async def load(cls, session: AsyncSession, options: ImportOptions) -> Self:
        account = await account_field(session)
        kinds = [k.value for k in MilestoneKind]
        return cls(
            (
                account,
                f.Field("name", f.text(200)),
                f.Field("kind", f.choice(kinds, "milestone kind"), required=False, default=OTHER),
                f.Field("due_date", f.iso_date()),
                f.Field("completed_at", f.iso_datetime, required=False),
            )
        )

    def keys(self, record: Record) -> list[tuple[str, str]]:
        return [("account_external_id, name", f"{record['account_id']}|{record['name']}")]

    async def write(self, session: AsyncSession, records: Sequence[Record], present: frozenset[str]) -> Tally:
        tally, _ = await upsert_rows(session, TABLE, records, key=KEY, update=UPDATABLE)
        return tally
