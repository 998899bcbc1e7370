"""``accounts``: customer companies, keyed by external id (the CRM's id), each owned by a known person."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession

from storage.importer import fields as f
from storage.importer.base import ImportOptions, Kind, Record
from storage.importer.errors import FieldProblem
from storage.importer.lookups import person_ids
from storage.importer.write import Tally, table_of, upsert_rows
from storage.models import Account, LifecycleStage
from storage.names import name_key

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
        tally, _ = await upsert_rows(session, TABLE, records, key=KEY, update=UPDATABLE)
        return tally
