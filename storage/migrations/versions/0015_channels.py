"""channels follow accounts; admins allow account data into channels shared with other organisations

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05

``follow ACCOUNT`` in a channel stores a channel_follow row; the channel then gets the account's
events. A channel shared with another organisation gets account data only when an admin allowed it
(channel_allowance, with the fields chosen). Teams conversations remember the channel's membership
type, which says whether it is a shared channel.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_follow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("conversation", sa.String(length=512), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("followed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_channel_follow_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["followed_by_id"],
            ["person.id"],
            name=op.f("fk_channel_follow_followed_by_id_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_follow")),
        sa.UniqueConstraint(
            "platform",
            "conversation",
            "account_id",
            name=op.f("uq_channel_follow_platform_conversation_account_id"),
        ),
    )
    op.create_index("ix_channel_follow_account_id", "channel_follow", ["account_id"])
    op.create_table(
        "channel_allowance",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("conversation", sa.String(length=512), nullable=False),
        sa.Column("fields", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("allowed_by_id", sa.Integer(), nullable=True),
        sa.Column("allowed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["allowed_by_id"],
            ["person.id"],
            name=op.f("fk_channel_allowance_allowed_by_id_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("platform", "conversation", name=op.f("pk_channel_allowance")),
    )
    op.add_column("teams_conversation", sa.Column("membership", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("teams_conversation") as batch:
        batch.drop_column("membership")
    op.drop_table("channel_allowance")
    op.drop_index("ix_channel_follow_account_id", table_name="channel_follow")
    op.drop_table("channel_follow")
