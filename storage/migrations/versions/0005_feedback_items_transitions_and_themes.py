"""feedback items, transitions and themes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('feedback_theme',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['person.id'], name=op.f('fk_feedback_theme_acknowledged_by_id_person'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_theme')),
    sa.UniqueConstraint('key', name=op.f('uq_feedback_theme_key'))
    )
    op.create_table('feedback_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('originator_id', sa.Integer(), nullable=True),
    sa.Column('originator_team', sa.String(length=8), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('recipient_id', sa.Integer(), nullable=True),
    sa.Column('recipient_channel', sa.String(length=512), nullable=True),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('source_link', sa.String(length=1000), nullable=True),
    sa.Column('survey_response_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_feedback_item_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['originator_id'], ['person.id'], name=op.f('fk_feedback_item_originator_id_person'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recipient_id'], ['person.id'], name=op.f('fk_feedback_item_recipient_id_person'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['survey_response_id'], ['survey_response.id'], name=op.f('fk_feedback_item_survey_response_id_survey_response'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['theme_id'], ['feedback_theme.id'], name=op.f('fk_feedback_item_theme_id_feedback_theme'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_item')),
    sa.UniqueConstraint('survey_response_id', name=op.f('uq_feedback_item_survey_response_id'))
    )
    with op.batch_alter_table('feedback_item', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_item_account_id', ['account_id'], unique=False)
        batch_op.create_index('ix_feedback_item_recipient_id', ['recipient_id'], unique=False)
        batch_op.create_index('ix_feedback_item_state_created_at', ['state', 'created_at'], unique=False)

    op.create_table('feedback_transition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('from_state', sa.String(length=16), nullable=True),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['person.id'], name=op.f('fk_feedback_transition_actor_id_person'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['item_id'], ['feedback_item.id'], name=op.f('fk_feedback_transition_item_id_feedback_item'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_transition'))
    )
    with op.batch_alter_table('feedback_transition', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_transition_item_id', ['item_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('feedback_transition', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_transition_item_id')

    op.drop_table('feedback_transition')
    with op.batch_alter_table('feedback_item', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_item_state_created_at')
        batch_op.drop_index('ix_feedback_item_recipient_id')
        batch_op.drop_index('ix_feedback_item_account_id')

    op.drop_table('feedback_item')
    op.drop_table('feedback_theme')
