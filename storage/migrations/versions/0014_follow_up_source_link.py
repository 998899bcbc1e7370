"""follow-ups keep the chat message they were logged from

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05

"Log to account" on a Slack or Teams message stores a note or follow-up with a link back to the
message, which the account's timeline shows. Existing follow-ups have none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN, not a table rebuild: SQLite keeps the change-mark triggers of follow_up.
    op.add_column("follow_up", sa.Column("source_link", sa.String(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("follow_up") as batch:
        batch.drop_column("source_link")
