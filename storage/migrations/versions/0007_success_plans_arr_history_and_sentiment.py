"""success plans, ARR history and sentiment

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('arr_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('arr', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('previous_arr', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_arr_change_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arr_change'))
    )
    with op.batch_alter_table('arr_change', schema=None) as batch_op:
        batch_op.create_index('ix_arr_change_account_id_day', ['account_id', 'day'], unique=False)
        batch_op.create_index('ix_arr_change_day', ['day'], unique=False)

    op.create_table('outcome',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('metric', sa.String(length=64), nullable=True),
    sa.Column('comparison', sa.String(length=8), nullable=False),
    sa.Column('target', sa.Float(), nullable=True),
    sa.Column('baseline', sa.Float(), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('customer_owner', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('achieved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('achieved_value', sa.Float(), nullable=True),
    sa.Column('achieved_by_id', sa.Integer(), nullable=True),
    sa.Column('demonstrated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_outcome_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['achieved_by_id'], ['person.id'], name=op.f('fk_outcome_achieved_by_id_person'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['person.id'], name=op.f('fk_outcome_created_by_id_person'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outcome')),
    sa.UniqueConstraint('account_id', 'title', name=op.f('uq_outcome_account_id_title'))
    )
    with op.batch_alter_table('outcome', schema=None) as batch_op:
        batch_op.create_index('ix_outcome_status_due_date', ['status', 'due_date'], unique=False)

    with op.batch_alter_table('feedback_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sentiment', sa.Float(), nullable=True))

    with op.batch_alter_table('survey_response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sentiment', sa.Float(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('survey_response', schema=None) as batch_op:
        batch_op.drop_column('sentiment')

    with op.batch_alter_table('feedback_item', schema=None) as batch_op:
        batch_op.drop_column('sentiment')

    with op.batch_alter_table('outcome', schema=None) as batch_op:
        batch_op.drop_index('ix_outcome_status_due_date')

    op.drop_table('outcome')
    with op.batch_alter_table('arr_change', schema=None) as batch_op:
        batch_op.drop_index('ix_arr_change_day')
        batch_op.drop_index('ix_arr_change_account_id_day')

    op.drop_table('arr_change')
