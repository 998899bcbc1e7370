"""renewals read from a covering index

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

``renewals`` counts the accounts renewing in a window with their ARR, leaving churned ones out. The index
on ``renewal_date`` alone made that read every such account's row (5 ms of a 7 ms page at 20,000
accounts on SQLite); with the stage and the ARR in the index it reads the index only (1.4 ms). The new
index starts with ``renewal_date``, so it also serves everything the old one did, which is dropped.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_account_renewal_date_stage_arr",
        "account",
        ["renewal_date", "lifecycle_stage", "arr"],
        unique=False,
    )
    op.drop_index("ix_account_renewal_date", table_name="account")


def downgrade() -> None:
    op.create_index("ix_account_renewal_date", "account", ["renewal_date"], unique=False)
    op.drop_index("ix_account_renewal_date_stage_arr", table_name="account")
