"""The plant calendar: a stored calendar, each report's shift and crew, and the handovers of shift ends

Revision ID: 0012_plant_calendar
Revises: 0011_notice_outbox
Create Date: 2026-12-03 14:58:31.675920
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import domain.types

revision = '0012_plant_calendar'
down_revision = '0011_notice_outbox'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plant_calendar',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('spec', sa.Text(), nullable=False),
    sa.Column('updated_at', domain.types.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plant_calendar'))
    )
    op.create_table('handovers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('shift', sa.String(length=20), nullable=False),
    sa.Column('shift_start', domain.types.UTCDateTime(), nullable=False),
    sa.Column('shift_end', domain.types.UTCDateTime(), nullable=False),
    sa.Column('outgoing_crew', sa.String(length=40), nullable=True),
    sa.Column('incoming_crew', sa.String(length=40), nullable=True),
    sa.Column('outgoing_lead', sa.String(length=64), nullable=True),
    sa.Column('incoming_lead', sa.String(length=64), nullable=True),
    sa.Column('facts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('task_id', sa.String(length=128), nullable=True),
    sa.Column('created_at', domain.types.UTCDateTime(), nullable=False),
    sa.Column('acknowledged_at', domain.types.UTCDateTime(), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['people.id'], name=op.f('fk_handovers_acknowledged_by_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handovers')),
    sa.UniqueConstraint('day', 'shift', name=op.f('uq_handovers_day')),
    sa.UniqueConstraint('task_id', name=op.f('uq_handovers_task_id'))
    )
    with op.batch_alter_table('work_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shift', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('crew', sa.String(length=40), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('work_reports', schema=None) as batch_op:
        batch_op.drop_column('crew')
        batch_op.drop_column('shift')

    op.drop_table('handovers')
    op.drop_table('plant_calendar')
