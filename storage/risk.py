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
