"""sources: help-desk tickets, product events and users; account domains; longer sync cursors

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05

What the Zendesk and Segment connectors keep (see ``storage.models.sources``). ``account.domain`` lets
a help desk's organizations find their accounts by web domain. A Zendesk export cursor is longer than
the 64 characters a CRM's modification stamp needed, so ``sync_cursor.position`` grows to 512.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("account", sa.Column("domain", sa.String(length=253), nullable=True))
    op.create_index(op.f("ix_account_domain"), "account", ["domain"], unique=False)
    with op.batch_alter_table("sync_cursor") as batch:
        batch.alter_column("position", type_=sa.String(length=512), existing_nullable=False)
    op.create_table(
        "support_ticket",
        sa.Column("ticket_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("solved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", "source", name=op.f("pk_support_ticket")),
    )
    op.create_index(
        "ix_support_ticket_organization_id_source", "support_ticket", ["organization_id", "source"], unique=False
    )
    op.create_table(
        "product_event",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user", sa.String(length=255), nullable=False),
        sa.Column("account_key", sa.String(length=255), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("activity", sa.Boolean(), nullable=False),
        sa.Column("feature", sa.String(length=100), nullable=True),
        sa.Column("seats", sa.Float(), nullable=True),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_product_event")),
        sa.UniqueConstraint("message_id", name=op.f("uq_product_event_message_id")),
    )
    op.create_index(
        "ix_product_event_account_key_day_activity_user",
        "product_event",
        ["account_key", "day", "activity", "user"],
        unique=False,
    )
    op.create_index(
        "ix_product_event_features",
        "product_event",
        ["account_key", "day", "feature"],
        unique=False,
        sqlite_where=sa.text("feature IS NOT NULL"),
        postgresql_where=sa.text("feature IS NOT NULL"),
    )
    op.create_index(
        "ix_product_event_uncounted",
        "product_event",
        ["seq"],
        unique=False,
        sqlite_where=sa.text("counted = 0"),
        postgresql_where=sa.text("NOT counted"),
    )
    op.create_index(
        "ix_product_event_seats",
        "product_event",
        ["account_key", "day"],
        unique=False,
        sqlite_where=sa.text("seats IS NOT NULL"),
        postgresql_where=sa.text("seats IS NOT NULL"),
    )
    op.create_table(
        "product_user",
        sa.Column("user", sa.String(length=255), nullable=False),
        sa.Column("account_key", sa.String(length=255), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user", name=op.f("pk_product_user")),
    )


def downgrade() -> None:
    op.drop_table("product_user")
    op.drop_index("ix_product_event_seats", table_name="product_event")
    op.drop_index("ix_product_event_uncounted", table_name="product_event")
    op.drop_index("ix_product_event_features", table_name="product_event")
    op.drop_index("ix_product_event_account_key_day_activity_user", table_name="product_event")
    op.drop_table("product_event")
    op.drop_index("ix_support_ticket_organization_id_source", table_name="support_ticket")
    op.drop_table("support_ticket")
    with op.batch_alter_table("sync_cursor") as batch:
        batch.alter_column("position", type_=sa.String(length=64), existing_nullable=False)
    op.drop_index(op.f("ix_account_domain"), table_name="account")
    with op.batch_alter_table("account") as batch:
        batch.drop_column("domain")
