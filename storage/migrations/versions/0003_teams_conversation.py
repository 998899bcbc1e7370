"""teams conversations: stored conversation references for proactive messages

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "teams_conversation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.Column("service_url", sa.String(length=500), nullable=False),
        sa.Column("bot_id", sa.String(length=200), nullable=False),
        sa.Column("user_aad_id", sa.String(length=64), nullable=True),
        sa.Column(
            "reference",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("welcomed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams_conversation")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_teams_conversation_conversation_id")),
    )
    op.create_index("ix_teams_conversation_user_aad_id", "teams_conversation", ["user_aad_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_teams_conversation_user_aad_id", table_name="teams_conversation")
    op.drop_table("teams_conversation")
