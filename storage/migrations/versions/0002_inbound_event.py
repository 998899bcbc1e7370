"""inbound events, for de-duplicating retried platform deliveries

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_event",
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "event_id", name=op.f("pk_inbound_event")),
    )
    op.create_index("ix_inbound_event_received_at", "inbound_event", ["received_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_inbound_event_received_at", table_name="inbound_event")
    op.drop_table("inbound_event")
