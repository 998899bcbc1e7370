"""outbox claim tokens, in-doubt sends and retention; shared pacing; one scheduled run per cluster

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Partial indexes: each holds only the rows one question is about, so neither claiming nor the
# /metrics gauges read the sent rows that make up most of the table.
PARTIAL_INDEXES = (
    ("ix_outbox_message_pending", ["next_attempt_at"], "status = 'pending'"),
    ("ix_outbox_message_dead", ["id"], "status = 'dead'"),
    ("ix_outbox_message_sent", ["sent_at"], "status = 'sent'"),
    ("ix_outbox_message_unpurged", ["sent_at"], "status = 'sent' AND purged_at IS NULL"),
)


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("send_started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index("ix_outbox_message_status_next_attempt_at")
    for name, columns, where in PARTIAL_INDEXES:
        op.create_index(
            name,
            "outbox_message",
            columns,
            unique=False,
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )

    op.create_table(
        "delivery_pace",
        sa.Column("key", sa.String(length=600), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_delivery_pace")),
    )
    op.create_table(
        "scheduled_run",
        sa.Column("job", sa.String(length=128), nullable=False),
        sa.Column("period", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("job", "period", name=op.f("pk_scheduled_run")),
    )
    op.create_index("ix_scheduled_run_started_at", "scheduled_run", ["started_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_scheduled_run_started_at", table_name="scheduled_run")
    op.drop_table("scheduled_run")
    op.drop_table("delivery_pace")
    for name, _columns, _where in PARTIAL_INDEXES:
        op.drop_index(name, table_name="outbox_message")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_message_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )
        batch_op.drop_column("purged_at")
        batch_op.drop_column("send_started_at")
        batch_op.drop_column("claim_token")
