"""the day an account churned

Revision ID: 0009b
Revises: 0008
Create Date: 2026-11-25

Accounts churned before this revision keep ``churned_on`` NULL: the day is not known (nothing recorded
when a stage changed), and the card says "churned" without a date rather than guess one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009b"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("churned_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_column("churned_on")
