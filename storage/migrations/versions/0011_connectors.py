"""connectors: links to CRM records, sync cursors, one sync at a time, run reports; renewal outcomes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

What a connector to an outside system keeps between runs (see ``storage.models.connectors``). New
tables only: nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "crm_link",
        sa.Column("connector", sa.String(length=32), nullable=False),
        sa.Column("crm_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("merged_into", sa.String(length=64), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("written", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_crm_link_account_id_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("connector", "crm_id", name=op.f("pk_crm_link")),
        sa.UniqueConstraint("connector", "account_id", name=op.f("uq_crm_link_connector_account_id")),
    )
    op.create_table(
        "sync_cursor",
        sa.Column("connector", sa.String(length=32), nullable=False),
        sa.Column("stream", sa.String(length=32), nullable=False),
        sa.Column("position", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("connector", "stream", name=op.f("pk_sync_cursor")),
    )
    op.create_table(
        "sync_lease",
        sa.Column("connector", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("connector", name=op.f("pk_sync_lease")),
    )
    op.create_table(
        "sync_run",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connector", sa.String(length=32), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("problems", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_run")),
    )
    op.create_index(
        "ix_sync_run_connector_started_at", "sync_run", ["connector", "started_at"], unique=False
    )
    op.create_table(
        "renewal_outcome",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("arr_before", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("arr_after", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_renewal_outcome_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source", "source_id", name=op.f("pk_renewal_outcome")),
    )
    op.create_index("ix_renewal_outcome_closed_on", "renewal_outcome", ["closed_on"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_renewal_outcome_closed_on", table_name="renewal_outcome")
    op.drop_table("renewal_outcome")
    op.drop_index("ix_sync_run_connector_started_at", table_name="sync_run")
    op.drop_table("sync_run")
    op.drop_table("sync_lease")
    op.drop_table("sync_cursor")
    op.drop_table("crm_link")
