"""Help-desk tickets (:class:`storage.models.SupportTicket`) and the daily series worked out from them.

A ticket's account is its organization's link (``crm_link`` rows of the help desk's connector), read
when the series are worked out, so matching an organization later needs no re-read of its tickets.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, CrmLink, LinkState, SupportTicket, UsageMetric
from storage.upsert import batches, upsert

IDS_PER_QUERY = 1_000


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def organizations_of(
    session: AsyncSession, source: str, ticket_ids: Collection[str]
) -> dict[str, str | None]:
    """ticket id -> its stored organization, for the tickets of ``ticket_ids`` that are stored."""
    found: dict[str, str | None] = {}
    for chunk in _chunks(sorted(ticket_ids), IDS_PER_QUERY):
        rows = await session.execute(
            select(SupportTicket.ticket_id, SupportTicket.organization_id).where(
                SupportTicket.source == source, SupportTicket.ticket_id.in_(chunk)
            )
        )
        found.update({ticket: organization for ticket, organization in rows.all()})
    return found


async def save_tickets(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert or overwrite tickets (every column of :class:`SupportTicket` in each row)."""
    await upsert(session, SupportTicket, rows, key=("ticket_id", "source"))


async def drop_tickets(session: AsyncSession, source: str, ticket_ids: Collection[str]) -> None:
    for chunk in _chunks(sorted(ticket_ids), IDS_PER_QUERY):
        await session.execute(
            delete(SupportTicket).where(SupportTicket.source == source, SupportTicket.ticket_id.in_(chunk))
        )


async def linked_organizations(session: AsyncSession, source: str) -> dict[str, int]:
    """organization id -> account id, for every active link of the help desk ``source``."""
    rows = await session.execute(
        select(CrmLink.crm_id, CrmLink.account_id).where(
            CrmLink.connector == source, CrmLink.state == LinkState.ACTIVE.value
        )
    )
    return {organization: account for organization, account in rows.all()}


async def open_in_window(
    session: AsyncSession, source: str, organizations: Collection[str], since: datetime
) -> list[tuple[str, datetime, datetime | None, bool]]:
    """(organization, created, solved, escalated) of the tickets of ``organizations`` not solved
    before ``since``: every ticket that shows in a day of the window starting then."""
    found: list[tuple[str, datetime, datetime | None, bool]] = []
    for chunk in _chunks(sorted(organizations), IDS_PER_QUERY):
        rows = await session.execute(
            select(
                SupportTicket.organization_id,
                SupportTicket.created_at,
                SupportTicket.solved_at,
                SupportTicket.escalated,
            ).where(
                SupportTicket.source == source,
                SupportTicket.organization_id.in_(chunk),
                or_(SupportTicket.solved_at.is_(None), SupportTicket.solved_at >= since),
            )
        )
        found.extend(
            (org, created, solved, escalated) for org, created, solved, escalated in rows.all() if org
        )
    return found


async def replace_daily_metrics(
    session: AsyncSession,
    account_ids: Collection[int],
    metrics: Collection[str],
    first: date,
    last: date,
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """Make ``rows`` the only values of ``metrics`` for ``account_ids`` from ``first`` to ``last``: what a
    source that owns those series writes (a day it no longer counts anything on loses its old value)."""
    for chunk in _chunks(sorted(account_ids), IDS_PER_QUERY):
        await session.execute(
            delete(UsageMetric).where(
                and_(
                    UsageMetric.account_id.in_(chunk),
                    UsageMetric.metric.in_(list(metrics)),
                    UsageMetric.day >= first,
                    UsageMetric.day <= last,
                )
            )
        )
    for batch in batches(rows, 4):
        await session.execute(insert(UsageMetric), list(batch))


async def accounts_of_tickets(
    session: AsyncSession, source: str, ticket_ids: Collection[str]
) -> dict[str, str]:
    """ticket id -> the external id of its organization's account, for stored tickets of linked ones."""
    found: dict[str, str] = {}
    for chunk in _chunks(sorted(ticket_ids), IDS_PER_QUERY):
        rows = await session.execute(
            select(SupportTicket.ticket_id, Account.external_id)
            .join(
                CrmLink,
                and_(
                    CrmLink.connector == source,
                    CrmLink.crm_id == SupportTicket.organization_id,
                    CrmLink.state == LinkState.ACTIVE.value,
                ),
            )
            .join(Account, Account.id == CrmLink.account_id)
            .where(SupportTicket.source == source, SupportTicket.ticket_id.in_(chunk))
        )
        found.update({ticket: external_id for ticket, external_id in rows.all()})
    return found


async def refresh_statistics(session: AsyncSession) -> None:
    """Let PostgreSQL's planner see how many tickets there are now. A first sync fills the table within
    minutes, long before autovacuum looks at it; planned for the empty table it was, a look-up of a
    page's tickets filters every row of the help desk (250 ms a page at 13,000 rows, growing)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("ANALYZE support_ticket"))


async def all_organizations(session: AsyncSession, source: str) -> dict[str, str | None]:
    """ticket id -> organization of every stored ticket of ``source``: read once by a full sync, which
    then needs no look-up per page."""
    rows = await session.execute(
        select(SupportTicket.ticket_id, SupportTicket.organization_id).where(SupportTicket.source == source)
    )
    return {ticket: organization for ticket, organization in rows.all()}
