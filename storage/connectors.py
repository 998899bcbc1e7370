"""What connectors keep between runs: links to outside records, cursors, the sync lease and run reports
(:mod:`storage.models.connectors`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import Account, CrmLink, LinkState, SyncCursor, SyncLease, SyncRun, SyncStatus

IDS_PER_QUERY = 1_000


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


# --- links -------------------------------------------------------------------------------------------


async def linked_accounts(session: AsyncSession, connector: str, crm_ids: Collection[str]) -> dict[str, int]:
    """crm id -> account id, for the ids of ``crm_ids`` already linked."""
    if not crm_ids:
        return {}
    stmt = select(CrmLink.crm_id, CrmLink.account_id).where(
        CrmLink.connector == connector, CrmLink.crm_id.in_(list(crm_ids))
    )
    return {crm_id: account_id for crm_id, account_id in (await session.execute(stmt)).all()}


async def accounts_by_external_id(session: AsyncSession, external_ids: Collection[str]) -> dict[str, int]:
    """external id -> account id, for the ids of ``external_ids`` that are an account's; asked
    :data:`IDS_PER_QUERY` at a time (SQLite takes at most 32,766 parameters in a statement)."""
    wanted = sorted(external_ids)
    found: dict[str, int] = {}
    for start in range(0, len(wanted), IDS_PER_QUERY):
        chunk = wanted[start : start + IDS_PER_QUERY]
        stmt = select(Account.external_id, Account.id).where(Account.external_id.in_(chunk))
        found.update(
            {external_id: account_id for external_id, account_id in (await session.execute(stmt)).all()}
        )
    return found


async def accounts_linked_elsewhere(
    session: AsyncSession, connector: str, account_ids: Collection[int]
) -> dict[int, str]:
    """account id -> the crm id it is already linked to, for the accounts of ``account_ids``."""
    if not account_ids:
        return {}
    stmt = select(CrmLink.account_id, CrmLink.crm_id).where(
        CrmLink.connector == connector, CrmLink.account_id.in_(list(account_ids))
    )
    return {account_id: crm_id for account_id, crm_id in (await session.execute(stmt)).all()}


async def save_links(
    session: AsyncSession, connector: str, links: Mapping[str, int], *, now: datetime
) -> None:
    """Link each crm id to its account (active), or note that a linked one was seen again."""
    if not links:
        return
    insert = _insert(session)
    rows = [
        {
            "connector": connector,
            "crm_id": crm_id,
            "account_id": account_id,
            "state": LinkState.ACTIVE.value,
            "merged_into": None,
            "linked_at": now,
            "seen_at": now,
        }
        for crm_id, account_id in sorted(links.items())
    ]
    statement = insert(CrmLink)
    statement = statement.on_conflict_do_update(
        index_elements=["connector", "crm_id"],
        set_={"state": LinkState.ACTIVE.value, "merged_into": None, "seen_at": statement.excluded.seen_at},
    )
    await session.execute(statement, rows)


async def mark_links(
    session: AsyncSession,
    connector: str,
    crm_ids: Collection[str],
    state: LinkState,
    *,
    now: datetime,
    merged_into: Mapping[str, str] | None = None,
) -> int:
    """Set the state of linked records (archived, merged); answers how many links changed."""
    changed = 0
    for crm_id in sorted(crm_ids):
        survivor = (merged_into or {}).get(crm_id)
        result = await session.execute(
            update(CrmLink)
            .where(
                CrmLink.connector == connector,
                CrmLink.crm_id == crm_id,
                (CrmLink.state != state.value) | CrmLink.merged_into.is_distinct_from(survivor),
            )
            .values(state=state.value, merged_into=survivor, seen_at=now)
        )
        changed += int(getattr(result, "rowcount", 0) or 0)
    return changed


@dataclass(frozen=True, slots=True)
class ActiveLink:
    crm_id: str
    account_id: int
    written: str | None


async def active_links(session: AsyncSession, connector: str) -> list[ActiveLink]:
    """Every record still linked (not archived or merged away), with what was last written to it."""
    stmt = (
        select(CrmLink.crm_id, CrmLink.account_id, CrmLink.written)
        .where(CrmLink.connector == connector, CrmLink.state == LinkState.ACTIVE.value)
        .order_by(CrmLink.account_id)
    )
    return [ActiveLink(*row) for row in (await session.execute(stmt)).all()]


async def save_written(session: AsyncSession, connector: str, written: Mapping[str, str]) -> None:
    """Remember the digest of what was written to each record (``crm id -> digest``)."""
    for crm_id, digest in sorted(written.items()):
        await session.execute(
            update(CrmLink)
            .where(CrmLink.connector == connector, CrmLink.crm_id == crm_id)
            .values(written=digest)
        )


async def link_counts(session: AsyncSession, connector: str) -> dict[str, int]:
    stmt = select(CrmLink.state, func.count()).where(CrmLink.connector == connector).group_by(CrmLink.state)
    return {state: int(count) for state, count in (await session.execute(stmt)).all()}


# --- cursors -----------------------------------------------------------------------------------------


async def cursor(session: AsyncSession, connector: str, stream: str) -> str | None:
    stmt = select(SyncCursor.position).where(SyncCursor.connector == connector, SyncCursor.stream == stream)
    return (await session.execute(stmt)).scalar_one_or_none()


async def save_cursor(
    session: AsyncSession, connector: str, stream: str, position: str, *, now: datetime
) -> None:
    """Save how far ``stream`` got, in the caller's transaction (the one that wrote the page)."""
    insert = _insert(session)
    statement = insert(SyncCursor).values(
        connector=connector, stream=stream, position=position, updated_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=["connector", "stream"], set_={"position": position, "updated_at": now}
    )
    await session.execute(statement)


# --- the lease: one sync of a connector at a time ---------------------------------------------------


async def take_lease(db: Database, connector: str, *, holder: str, now: datetime, lease: timedelta) -> bool:
    """Whether ``holder`` now runs ``connector``'s sync: the lease is free, ran out, or already its own."""
    async with db.transaction() as session:
        insert = _insert(session)
        statement = insert(SyncLease).values(connector=connector, holder=holder, lease_until=now + lease)
        statement = statement.on_conflict_do_update(
            index_elements=["connector"],
            set_={"holder": holder, "lease_until": now + lease},
            where=(SyncLease.lease_until <= now) | (SyncLease.holder == holder),
        ).returning(SyncLease.holder)
        got = (await session.execute(statement)).scalar_one_or_none()
    return got == holder


async def renew_lease(db: Database, connector: str, *, holder: str, now: datetime, lease: timedelta) -> bool:
    """Extend ``holder``'s lease; False when it lost it (ran out and taken by another)."""
    async with db.transaction() as session:
        result = await session.execute(
            update(SyncLease)
            .where(SyncLease.connector == connector, SyncLease.holder == holder)
            .values(lease_until=now + lease)
        )
    return bool(getattr(result, "rowcount", 0))


async def release_lease(db: Database, connector: str, *, holder: str, now: datetime) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(SyncLease)
            .where(SyncLease.connector == connector, SyncLease.holder == holder)
            .values(lease_until=now)
        )


async def lease_holder(db: Database, connector: str, *, now: datetime) -> str | None:
    """Who holds an unexpired lease on ``connector``'s sync, if anyone."""
    async with db.sessions() as session:
        stmt = select(SyncLease.holder).where(
            and_(SyncLease.connector == connector, SyncLease.lease_until > now)
        )
        return (await session.execute(stmt)).scalar_one_or_none()


# --- run reports -------------------------------------------------------------------------------------


async def start_run(db: Database, connector: str, *, full: bool, dry_run: bool, now: datetime) -> int:
    async with db.transaction() as session:
        run = SyncRun(
            connector=connector,
            full=full,
            dry_run=dry_run,
            status=SyncStatus.RUNNING.value,
            started_at=now,
            counts={},
            problems=[],
        )
        session.add(run)
        await session.flush()
        return int(run.id)


async def finish_run(
    db: Database,
    run_id: int,
    *,
    status: SyncStatus,
    now: datetime,
    counts: Mapping[str, int],
    problems: list[dict[str, str]],
    error: str | None = None,
) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id)
            .values(status=status.value, finished_at=now, counts=dict(counts), problems=problems, error=error)
        )


@dataclass(frozen=True, slots=True)
class RunReport:
    connector: str
    full: bool
    dry_run: bool
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, int]
    problems: list[dict[str, str]]
    error: str | None


async def last_runs(db: Database, connectors: Collection[str] | None = None) -> list[RunReport]:
    """The latest run of each connector (or of those named), by connector name."""
    async with db.sessions() as session:
        latest = select(SyncRun.connector, func.max(SyncRun.id).label("id")).group_by(SyncRun.connector)
        if connectors is not None:
            latest = latest.where(SyncRun.connector.in_(list(connectors)))
        ids = latest.subquery()
        stmt = select(SyncRun).join(ids, ids.c.id == SyncRun.id).order_by(SyncRun.connector)
        runs = (await session.execute(stmt)).scalars().all()
    return [
        RunReport(
            connector=run.connector,
            full=run.full,
            dry_run=run.dry_run,
            status=run.status,
            started_at=run.started_at,
            finished_at=run.finished_at,
            counts={key: int(value) for key, value in (run.counts or {}).items()},
            problems=list(run.problems or []),
            error=run.error,
        )
        for run in runs
    ]
