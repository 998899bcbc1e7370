"""feedback items and health alerts are posts edited in place; replies in their threads are kept

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05

living_message names each post of a feedback item or a health alert by its outbox key, with the
platform's id once sent; outbox_message.edit_of makes a row an edit of such a post; thread_reply keeps
what people wrote in the post's thread; health_alert.recovered_on says when a red account left red.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "living_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("outbox_key", sa.String(length=255), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("conversation", sa.String(length=512), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("content", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_living_message")),
        sa.UniqueConstraint("outbox_key", name=op.f("uq_living_message_outbox_key")),
    )
    op.create_index("ix_living_message_subject", "living_message", ["subject_kind", "subject_id"])
    op.create_index(
        "ix_living_message_platform_message_id", "living_message", ["platform", "message_id"]
    )
    op.create_table(
        "thread_reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=1000), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_thread_reply_account_id_account"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["person.id"], name=op.f("fk_thread_reply_author_id_person"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_thread_reply")),
        sa.UniqueConstraint("platform", "message_id", name=op.f("uq_thread_reply_platform_message_id")),
    )
    op.create_index("ix_thread_reply_account_id_at", "thread_reply", ["account_id", "at"])
    op.create_index("ix_thread_reply_subject", "thread_reply", ["subject_kind", "subject_id"])
    op.add_column("outbox_message", sa.Column("edit_of", sa.String(length=255), nullable=True))
    op.create_index("ix_outbox_message_edit_of", "outbox_message", ["edit_of"])
    op.add_column("health_alert", sa.Column("recovered_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("health_alert") as batch:
        batch.drop_column("recovered_on")
    op.drop_index("ix_outbox_message_edit_of", table_name="outbox_message")
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("edit_of")
    op.drop_index("ix_thread_reply_subject", table_name="thread_reply")
    op.drop_index("ix_thread_reply_account_id_at", table_name="thread_reply")
    op.drop_table("thread_reply")
    op.drop_index("ix_living_message_platform_message_id", table_name="living_message")
    op.drop_index("ix_living_message_subject", table_name="living_message")
    op.drop_table("living_message")
