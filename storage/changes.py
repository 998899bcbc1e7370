"""Change marks: how a cache in any process knows that what it holds may be out of date.

Database triggers (migration 0009c) mark every insert, update and delete of a row an account card reads,
whoever wrote it: chat, imports, the ingest API, the recompute, a connector, plain SQL. Three topics:

- :data:`ACCOUNT`, per account: its row, health snapshots, usage, surveys, milestones, follow-ups,
  success-plan outcomes, ARR history and feedback;
- :data:`EVERY_ACCOUNT` (account id 0): what cards of every account show: people's names, and what
  the time-to-value medians are made of (first-value milestones; accounts' segment, contract start,
  stage);
- :data:`NAMES` (account id 0): accounts' names and ids, what the name index holds.

A cache takes a :class:`Stamp` *before* it reads what it keeps, and may serve it while
:func:`unchanged` says so (one indexed query):

- SQLite has one writer at a time, so a mark is a counter per topic and account, and the stamp is the
  counters' values: unchanged means equal.
- PostgreSQL writers run concurrently, and a shared counter row would make them wait for each other
  (and deadlock, two large transactions taking rows in different orders). So each writing transaction
  adds a row of its own instead, its transaction id as the mark. The stamp is the oldest transaction
  still running when the reader started (its snapshot's ``xmin``): whatever the reader could not see
  was written by a transaction at or above it (every transaction below ``xmin`` had ended), so
  unchanged means no mark at or above the stamp. ``xmin`` counts every transaction on the server, so
  while a long one runs anywhere (a backup, a large import, in any database), what changed since it
  began is built again on every read: slower, never stale. Rows older than :data:`KEEP_MARKS` are
  forgotten daily, so a cached value must not be kept longer than :data:`MAX_STAMP_AGE`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, ColumnElement, DateTime, and_, delete, exists, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import ChangeMark

ACCOUNT = "account"
EVERY_ACCOUNT = "all"
NAMES = "names"

KEEP_MARKS = timedelta(days=2)
MAX_STAMP_AGE = timedelta(days=1)

Topic = tuple[str, int]  # (topic, account id; 0 for the topics of every account)


def account_topics(account_id: int) -> tuple[Topic, ...]:
    """What an account's card depends on: its own rows and what every card shows."""
    return ((ACCOUNT, account_id), (EVERY_ACCOUNT, 0))


def _is_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


@dataclass(frozen=True, slots=True)
class Stamp:
    """What the marks of some topics were when a reader started reading (see the module docstring)."""

    values: tuple[int, ...]


def _of(topics: Sequence[Topic]) -> ColumnElement[bool]:
    return or_(
        *(and_(ChangeMark.topic == topic, ChangeMark.account_id == account) for topic, account in topics)
    )


async def check(session: AsyncSession, topics: Sequence[Topic], since: Stamp | None) -> tuple[bool, Stamp]:
    """Whether nothing of ``topics`` changed since ``since`` was taken (False when there is none), and
    a stamp taken now, to keep with a value read after this call (in this session or any other). One
    query."""
    if _is_postgresql(session):
        xmin: ColumnElement[int] = literal_column(
            "pg_snapshot_xmin(pg_current_snapshot())::text::bigint", BigInteger()
        )
        if since is None:
            now = (await session.execute(select(xmin))).scalar_one()
            return False, Stamp((int(now),))
        newer = exists().where(_of(topics), ChangeMark.mark >= since.values[0])
        now, changed = (await session.execute(select(xmin, newer))).one()
        return not changed, Stamp((int(now),))
    counters = await _counters(session, topics)
    return since is not None and counters == since.values, Stamp(counters)


async def _counters(session: AsyncSession, topics: Sequence[Topic]) -> tuple[int, ...]:
    rows = await session.execute(
        select(ChangeMark.topic, ChangeMark.account_id, ChangeMark.mark).where(_of(topics))
    )
    found = {(topic, account): int(mark) for topic, account, mark in rows}
    return tuple(found.get(wanted, 0) for wanted in topics)


async def forget_old(db: Database) -> int:
    """Daily upkeep on PostgreSQL: forget marks older than :data:`KEEP_MARKS` (by the database's clock,
    which wrote them). SQLite keeps one row per topic and account and needs none."""
    async with db.transaction() as session:
        if not _is_postgresql(session):
            return 0
        cutoff: ColumnElement[datetime] = literal_column(
            f"clock_timestamp() - interval '{KEEP_MARKS.days} days'", DateTime(timezone=True)
        )
        result = await session.execute(delete(ChangeMark).where(ChangeMark.at < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
