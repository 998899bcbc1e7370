"""Look-ups a kind needs while validating, read once per import.

Accounts and people are few next to usage rows (thousands, not millions), so a dict of each is the
cheap and simple choice; usage rows never are loaded.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.importer.fields import Field, lookup
from storage.models import Account, Person


async def account_ids(session: AsyncSession) -> dict[str, int]:
    """Account external id -> account id."""
    rows = await session.execute(select(Account.external_id, Account.id))
    return {external_id: account_id for external_id, account_id in rows}


async def person_ids(session: AsyncSession) -> dict[str, int]:
    """Email (lower case, as stored by imports) -> person id."""
    rows = await session.execute(select(Person.email, Person.id))
    return {email.lower(): person_id for email, person_id in rows}


async def account_field(session: AsyncSession) -> Field:
    """The ``account_external_id`` field of usage, surveys and milestones: it becomes ``account_id``."""
    accounts = await account_ids(session)
    return Field("account_external_id", lookup(accounts, "unknown account {value}"), column="account_id")
