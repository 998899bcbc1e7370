"""the fall of a health snapshot against 30 days earlier

Revision ID: 0010
Revises: 0009c
Create Date: 2026-12-05

``health_snapshot.fall`` is the points lost against the snapshot 30 days earlier (that score minus this
one), NULL when either is missing; ``risk`` reads it through ``ix_health_snapshot_day_fall`` instead of
grouping two days of snapshots per request. That index and ``ix_health_snapshot_day_band_score`` (which
replaces ``ix_health_snapshot_day_band``, its first two columns) carry the score and account id, so
that ``risk`` reads no table row of the snapshots: the rows are wide with their components.

The column is added with a plain ``ALTER TABLE ... ADD COLUMN``: ``batch_alter_table`` would rebuild
the table on SQLite and drop the change-mark triggers of 0009c. Existing rows are filled by one
set-based UPDATE. The fall is on no card, so the UPDATE is made with the change-mark triggers of the
table set aside (every row would otherwise bump a mark: on SQLite that made the fill five times
slower): on SQLite they are dropped and created again from their own stored text, on PostgreSQL
disabled and enabled again, in the migration's transaction. Rows of the first 30 days held have no
earlier snapshot and stay NULL without being visited.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009c"
branch_labels = None
depends_on = None

FALL_DAYS = 30  # as storage.models.accounts.FALL_DAYS when this was written


def _fill(postgresql: bool) -> None:
    earlier = f"h.day - {FALL_DAYS}" if postgresql else f"date(h.day, '-{FALL_DAYS} days')"
    first = (
        f"(SELECT min(day) + {FALL_DAYS} FROM health_snapshot)"
        if postgresql
        else f"(SELECT date(min(day), '+{FALL_DAYS} days') FROM health_snapshot)"
    )
    op.execute(
        "UPDATE health_snapshot AS h SET fall = ("
        "SELECT p.score - h.score FROM health_snapshot AS p "
        f"WHERE p.account_id = h.account_id AND p.day = {earlier}) "
        f"WHERE h.day >= {first}"
    )


def _fill_without_marks() -> None:
    """:func:`_fill` with the table's change-mark triggers set aside (see the module's docstring)."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("ALTER TABLE health_snapshot DISABLE TRIGGER USER")
        _fill(postgresql)
        op.execute("ALTER TABLE health_snapshot ENABLE TRIGGER USER")
        return
    triggers = op.get_bind().execute(
        sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'health_snapshot'")
    )
    saved = [(str(name), str(sql)) for name, sql in triggers]
    for name, _sql in saved:
        op.execute(f'DROP TRIGGER "{name}"')
    _fill(postgresql)
    for _name, sql in saved:
        op.execute(sql)


def upgrade() -> None:
    op.add_column("health_snapshot", sa.Column("fall", sa.Float(), nullable=True))
    _fill_without_marks()  # before the indexes on the fall: they are built once, not kept up row by row
    op.create_index(
        "ix_health_snapshot_day_fall", "health_snapshot", ["day", "fall", "score", "account_id"], unique=False
    )
    op.create_index(
        "ix_health_snapshot_day_band_score",
        "health_snapshot",
        ["day", "band", "score", "account_id"],
        unique=False,
    )
    op.drop_index("ix_health_snapshot_day_band", table_name="health_snapshot")


def downgrade() -> None:
    op.create_index("ix_health_snapshot_day_band", "health_snapshot", ["day", "band"], unique=False)
    op.drop_index("ix_health_snapshot_day_band_score", table_name="health_snapshot")
    op.drop_index("ix_health_snapshot_day_fall", table_name="health_snapshot")
    # SQLite 3.35+ drops a column in place (no table rebuild, so the triggers stay).
    op.drop_column("health_snapshot", "fall")
