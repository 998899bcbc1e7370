"""A CRM record as an account record: the field mapping of ``[connectors.*]`` applied to one record, checked
by the same validators as a CSV row or an ingest API record.

CRMs hand values back as strings or JSON numbers (or null): a date as ``2027-01-14`` or as a midnight
timestamp (``2027-01-14T00:00:00Z``, ``2027-01-14T00:00:00.000Z``, ``2027-01-14T00:00:00.000+0000``), a
number as ``438000`` or ``438000.50``. Those are reduced to the forms the validators read; anything else
is left for them to refuse, so a bad value is a problem named by record, field and what is wrong.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncSession

from storage.importer import ImportOptions
from storage.importer.base import Record
from storage.importer.kinds.accounts import AccountsKind

_MIDNIGHT = re.compile(r"^(\d{4}-\d{2}-\d{2})T00:00(:00(\.0+)?)?(Z|[+-]00:?00)?$")
DATE_FIELDS = frozenset({"renewal_date", "contract_start"})


class CrmAccountsKind(AccountsKind):
    """Accounts as a CRM gives them: the owner may be missing or not (yet) a Touchpoint person, so
    ``owner_email`` is optional (an account without it keeps its owner, or has none when new)."""

    required = ("external_id", "name")
    optional = ("owner_email", "segment", "tier", "arr", "lifecycle_stage", "contract_start", "renewal_date")

    @classmethod
    async def load(cls, session: AsyncSession, options: ImportOptions) -> Self:
        kind = await super().load(session, options)
        kind.fields = tuple(
            dataclasses.replace(f, required=False) if f.name == "owner_email" else f for f in kind.fields
        )
        return kind


def crm_date(value: str) -> str:
    """``2027-01-14`` from a CRM date or a midnight timestamp; anything else unchanged."""
    match = _MIDNIGHT.match(value.strip())
    return match.group(1) if match else value


def account_row(
    values: Mapping[str, Any],
    mapping: Mapping[str, str | None],
    *,
    name_field: str,
    external_id: str,
    owner_email: str | None,
) -> Record:
    """The account fields of one CRM record (not yet validated). An unset mapped field (null) is an
    empty value: the CRM is the truth for the fields it is mapped to."""
    name = values.get(name_field)
    row: dict[str, Any] = {"external_id": external_id, "name": "" if name is None else str(name)}
    if owner_email is not None:
        row["owner_email"] = owner_email
    for field_name, source in mapping.items():
        if not source:
            continue
        value = values.get(source)
        text = "" if value is None else str(value)
        if field_name in DATE_FIELDS and text:
            text = crm_date(text)
        row[field_name] = text
    return row
