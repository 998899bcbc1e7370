"""Insert-or-update by natural key, in bulk, on SQLite and PostgreSQL.

Both dialects speak ``INSERT ... ON CONFLICT (key) DO UPDATE``; this builds the statement for whichever
one the session is on, so importers, the ingest API and the health recompute share one code path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

# SQLite allows 32,766 bound parameters per statement; stay well below for wide rows.
MAX_PARAMETERS = 30_000


def _table_of(model: type[DeclarativeBase] | Table) -> Table:
    if isinstance(model, Table):
        return model
    table = model.__table__
    assert isinstance(table, Table)
    return table


def batches(rows: Sequence[Mapping[str, Any]], width: int) -> Iterable[Sequence[Mapping[str, Any]]]:
    """Slices of ``rows`` small enough to stay under the parameter limit."""
    size = max(1, MAX_PARAMETERS // max(1, width))
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def upsert(
    session: AsyncSession,
    model: type[DeclarativeBase] | Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    update: Sequence[str] | None = None,
) -> None:
    """Insert ``rows`` into ``model``'s table; where ``key`` already exists, overwrite ``update`` columns.

    ``update`` defaults to every column given in the rows except the key. An empty ``update`` means
    "insert if missing, otherwise leave alone".
    """
    if not rows:
        return
    table = _table_of(model)
    columns = list(rows[0].keys())
    if update is None:
        update = [c for c in columns if c not in key]
    dialect = session.get_bind().dialect.name
    insert_fn: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # One compiled statement executed for many parameter sets (executemany) is an order of magnitude
    # faster than a multi-row VALUES statement rebuilt for every batch.
    statement = insert_fn(table)
    if update:
        statement = statement.on_conflict_do_update(
            index_elements=list(key),
            set_={name: statement.excluded[name] for name in update},
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(key))
    for chunk in batches(rows, len(columns)):
        await session.execute(statement, list(chunk))
