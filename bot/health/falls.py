"""The fall stored on each health snapshot: the points lost against the snapshot ``FALL_DAYS`` (30) days
earlier, what ``risk`` reads instead of comparing two days of snapshots per request (see
:class:`storage.models.HealthSnapshot`).

A snapshot written for day D gets its fall from D - 30 (:func:`upsert_snapshots`); it also is the earlier
snapshot of D + 30, whose fall is worked out again in SQL (:func:`refresh_falls`) so that recomputing
or backfilling an older day never leaves a later fall stale. Writers of snapshots in plain SQL (the
benchmark dataset) call :func:`refresh_falls` for the days they wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Date, Float, Integer, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.health.load import Accounts
from storage.models import HealthSnapshot
from storage.models.accounts import FALL_DAYS


def _snapshot_upsert(dialect: str) -> Any:
    """INSERT ... ON CONFLICT (account_id, day) DO UPDATE of snapshot rows, whose ``fall`` is worked
    out in the statement from the row ``FALL_DAYS`` earlier (a primary-key probe per row): no read of
    the earlier scores in Python, and the same subtraction as :func:`refresh_falls` and the migration.
    The probe's parameters have names of their own: a column's name is reserved for its value."""
    table = HealthSnapshot.__table__
    past = aliased(HealthSnapshot)
    earlier = (
        select(past.score - bindparam("fall_score", type_=Float()))
        .where(
            past.account_id == bindparam("fall_account", type_=Integer()),
            past.day == bindparam("fall_day", type_=Date()),
        )
        .scalar_subquery()
    )
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(fall=earlier)
    columns = ("score", "band", "confidence", "components", "computed_at", "fall")
    return statement.on_conflict_do_update(
        index_elements=["account_id", "day"], set_={name: statement.excluded[name] for name in columns}
    )


async def upsert_snapshots(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert or update snapshot rows (dicts of every column but ``fall``), storing each one's fall."""
    if not rows:
        return
    statement = _snapshot_upsert(session.get_bind().dialect.name)
    parameters = [
        {
            **row,
            "fall_score": row["score"],
            "fall_account": row["account_id"],
            "fall_day": row["day"] - timedelta(days=FALL_DAYS),
        }
        for row in rows
    ]
    await session.execute(statement, parameters)


async def refresh_falls(session: AsyncSession, day: date, accounts: Accounts | None = None) -> None:
    """Work out again, in one UPDATE, the fall of the snapshots of ``day`` (of ``accounts``, or all)
    from the snapshots ``FALL_DAYS`` earlier. Touches no row when ``day`` has none (the usual case for
    the day 30 days after a recompute)."""
    h = HealthSnapshot
    past = aliased(HealthSnapshot)
    earlier = (
        select(past.score)
        .where(past.account_id == h.account_id, past.day == day - timedelta(days=FALL_DAYS))
        .correlate(h)
        .scalar_subquery()
    )
    worked_out = earlier - h.score
    # Rows whose fall is already right are left alone: each update marks the account's card changed.
    stmt = update(h).where(h.day == day, h.fall.is_distinct_from(worked_out)).values(fall=worked_out)
    if accounts is not None:
        stmt = stmt.where(accounts.where(h.account_id))
    await session.execute(stmt, execution_options={"synchronize_session": False})
