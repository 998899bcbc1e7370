"""Writing a batch of records: insert new rows, update changed ones, leave identical ones alone.

One ``INSERT ... ON CONFLICT (natural key) DO UPDATE ... WHERE <some column differs>`` statement is
executed with the whole batch as parameters (executemany). Compared with one multi-``VALUES``
statement per batch this skips compiling a statement with tens of thousands of parameters each time,
which is what makes a million rows fit in a minute on both backends. The ``WHERE`` means re-importing
the same file rewrites nothing (``updated_at`` keeps its value) and lets us count what changed.

Which returned rows were inserted (rather than updated) is read per dialect: PostgreSQL's ``xmax`` is 0
for a row inserted by this statement; on SQLite a new row gets a rowid above the table's largest
before the batch (SQLite allows a single writer, so nobody else can add rows in between).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, Integer, Select, Table, func, literal_column, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.elements import ColumnElement


@dataclass(slots=True)
class Tally:
    """How many rows a write inserted, and how many existing rows it changed."""

    inserted: int = 0
    changed: int = 0


def table_of(model: type[DeclarativeBase]) -> Table:
    """The Core table of a mapped class, typed as such."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _groups(rows: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """``rows`` split by their set of keys: one executemany needs the same columns in every row."""
    groups: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    return list(groups.values())


async def upsert_rows(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    update: Sequence[str],
    returning: Sequence[str] = (),
) -> tuple[Tally, list[tuple[Any, ...]]]:
    """Upsert ``rows`` into ``table`` by ``key``, overwriting ``update`` columns where they differ.

    Returns the tally and, when ``returning`` names columns, their values for every row inserted or
    changed (rows left as they were are not returned).
    """
    tally = Tally()
    touched: list[tuple[Any, ...]] = []
    if not rows:
        return tally, touched
    dialect = session.get_bind().dialect.name
    extra = [table.c[name] for name in returning]
    for group in _groups(rows):
        if dialect == "postgresql":
            statement: Any = postgresql.insert(table)
            flag: ColumnElement[Any] = literal_column("(xmax = 0)", Boolean)
            floor = None
        else:
            statement = sqlite.insert(table)
            flag = literal_column("rowid", Integer)
            highest: Select[tuple[Any]] = select(func.max(literal_column("rowid"))).select_from(table)
            floor = (await session.execute(highest)).scalar() or 0
        columns = [name for name in update if name in group[0]]
        if columns:
            set_: dict[str, Any] = {name: statement.excluded[name] for name in columns}
            if "updated_at" in table.c and "updated_at" not in set_:
                set_["updated_at"] = statement.excluded["updated_at"]
            statement = statement.on_conflict_do_update(
                index_elements=list(key),
                set_=set_,
                where=or_(*(table.c[name].is_distinct_from(statement.excluded[name]) for name in columns)),
            )
        else:
            statement = statement.on_conflict_do_nothing(index_elements=list(key))
        result = await session.execute(statement.returning(flag, *extra), list(group))
        for row in result.all():
            inserted = bool(row[0]) if floor is None else row[0] > floor
            if inserted:
                tally.inserted += 1
            else:
                tally.changed += 1
            if extra:
                touched.append(tuple(row[1:]))
    return tally, touched
