"""Which health snapshots of a day are at risk: red, or down some points against some days earlier.

Kept apart from :mod:`storage.queries` (which joins these rows to their accounts and pages them) as
the one place the rule is written in SQL, with the stored ``fall`` of :class:`HealthSnapshot`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, select, union
from sqlalchemy.orm import aliased

from storage.models import Band, HealthSnapshot
from storage.models.accounts import FALL_DAYS

# Scores carry one decimal: a fall of 10 worked out in floating point may come out a hair under 10.
FALL_TOLERANCE = 1e-6


def at_risk(day: date, *, fall_points: float, fall_days: int) -> Any:  # a Subquery
    """(account_id, score) of the snapshots of ``day`` that are red, or down ``fall_points`` or more
    against ``fall_days`` earlier.

    With the stored span (:data:`FALL_DAYS`) a union of range reads of covering indexes: the red rows
    (day, band, ...), the rows whose stored ``fall`` is large enough (day, fall, ...), and the rows
    whose fall was not stored (written by plain SQL, or before the column existed), joined to their
    earlier snapshot. One OR over the day's rows made SQLite without statistics read all 20,000 of them
    (55 ms); the union reads about 3,000 index entries (2 ms). A join rather than a subquery per row
    for the unstored ones: PostgreSQL costed the subqueries high enough to compile the query (JIT,
    16 ms). Another span is worked out for every row.
    """
    h = HealthSnapshot
    past = aliased(HealthSnapshot)

    def rows(*where: ColumnElement[bool]) -> Any:
        return select(h.account_id, h.score).where(h.day == day, *where)

    def falling(*where: ColumnElement[bool]) -> Any:
        earlier = and_(past.account_id == h.account_id, past.day == day - timedelta(days=fall_days))
        return rows(*where, past.score - h.score >= fall_points - FALL_TOLERANCE).join(past, earlier)

    red = rows(h.band == Band.RED.value)
    if fall_days != FALL_DAYS:
        return union(red, falling()).subquery("at_risk")
    stored = rows(h.fall >= fall_points - FALL_TOLERANCE)
    return union(red, stored, falling(h.fall.is_(None))).subquery("at_risk")


def moved(day: date, *, direction: str, points: float, days: int) -> Any:  # a Subquery
    """(account_id) of the snapshots of ``day`` whose score moved ``points`` or more ``direction``
    ("down" or "up") against ``days`` earlier.

    Over the stored span (:data:`FALL_DAYS`) the stored ``fall`` answers from a covering index, and only
    the rows without one are joined to their earlier snapshot, as in :func:`at_risk`: joining every
    account's two snapshots read 40,000 wide rows at 20,000 accounts (45 ms on SQLite).
    """
    h = HealthSnapshot
    past = aliased(HealthSnapshot)
    needed = points - FALL_TOLERANCE

    def worked_out(*where: ColumnElement[bool]) -> Any:
        change = past.score - h.score if direction == "down" else h.score - past.score
        earlier = and_(past.account_id == h.account_id, past.day == day - timedelta(days=days))
        return select(h.account_id).where(h.day == day, *where, change >= needed).join(past, earlier)

    if days != FALL_DAYS:
        return worked_out().subquery("moved")
    stored = h.fall >= needed if direction == "down" else h.fall <= -needed
    return union(select(h.account_id).where(h.day == day, stored), worked_out(h.fall.is_(None))).subquery(
        "moved"
    )
