"""Questions waiting for a person's answer, alert severity and reminder counts, repair requester, escalation,
cause and parts

Revision ID: 0014_conversations_repairs
Revises: 0013_exception_machine
Create Date: 2026-12-05 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import domain.types

revision = '0014_conversations_repairs'
down_revision = '0013_exception_machine'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('userid', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=120), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('started_at', domain.types.UTCDateTime(), nullable=False),
    sa.Column('expires_at', domain.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations')),
    sa.UniqueConstraint('userid', name=op.f('uq_conversations_userid'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('severity', sa.String(length=10), nullable=False, server_default='normal'))
        batch_op.add_column(sa.Column('reminders', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('repair_tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requested_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', domain.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('cause', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('parts', sa.String(length=200), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_repair_tickets_requested_by_id_people'), 'people',
                                    ['requested_by_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('repair_tickets', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_repair_tickets_requested_by_id_people'), type_='foreignkey')
        batch_op.drop_column('parts')
        batch_op.drop_column('cause')
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('requested_by_id')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('reminders')
        batch_op.drop_column('severity')
    op.drop_table('conversations')
