"""``usage``: one number per account, day and metric (long format).

This is the kind that comes in millions of rows, so it stays on the lean path: four plain parsers,
no per-row objects beyond the record dict that is also the database row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession

from storage.importer import fields as f
from storage.importer.base import ImportOptions, Kind, Record
from storage.importer.lookups import account_field
from storage.importer.write import Tally, table_of, upsert_rows
from storage.models import UsageMetric

TABLE = table_of(UsageMetric)
KEY = ("account_id", "day", "metric")
KEY_COLUMNS = "account_external_id, date, metric"


class UsageKind(Kind):
    name = "usage"
    required = ("account_external_id", "date", "metric", "value")

    @classmethod
    async def load(cls, session: AsyncSession, options: ImportOptions) -> Self:
        account = await account_field(session)
        return cls(
            (
                account,
                f.Field("date", f.iso_date(), column="day"),
                f.Field("metric", f.identifier(64)),
                f.Field("value", f.non_negative_number),
            )
        )

    def keys(self, record: Record) -> list[tuple[str, str]]:
        return [(KEY_COLUMNS, f"{record['account_id']}|{record['day']}|{record['metric']}")]

    async def write(self, session: AsyncSession, records: Sequence[Record], present: frozenset[str]) -> Tally:
        tally, _ = await upsert_rows(session, TABLE, records, key=KEY, update=("value",))
        return tally
