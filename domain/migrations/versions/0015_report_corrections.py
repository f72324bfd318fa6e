"""Report corrections (撤销 and a lead's 更正), kept with old and new values; when a report was undone

Revision ID: 0015_report_corrections
Revises: 0014_conversations_repairs
Create Date: 2026-12-04 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import domain.types

revision = '0015_report_corrections'
down_revision = '0014_conversations_repairs'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_corrections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_key', sa.String(length=200), nullable=False),
    sa.Column('work_report_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=False),
    sa.Column('at', domain.types.UTCDateTime(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('old_good', sa.Integer(), nullable=False),
    sa.Column('old_defect', sa.Integer(), nullable=False),
    sa.Column('new_good', sa.Integer(), nullable=False),
    sa.Column('new_defect', sa.Integer(), nullable=False),
    sa.Column('old_points', sa.Integer(), nullable=False),
    sa.Column('new_points', sa.Integer(), nullable=False),
    sa.Column('kis_seen_at', domain.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['by_id'], ['people.id'], name=op.f('fk_report_corrections_by_id_people')),
    sa.ForeignKeyConstraint(['work_report_id'], ['work_reports.id'],
                            name=op.f('fk_report_corrections_work_report_id_work_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_corrections')),
    sa.UniqueConstraint('source_key', name=op.f('uq_report_corrections_source_key'))
    )
    with op.batch_alter_table('report_corrections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_corrections_work_report_id'), ['work_report_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_corrections_kis_seen_at'), ['kis_seen_at'], unique=False)
    with op.batch_alter_table('work_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('undone_at', domain.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('work_reports', schema=None) as batch_op:
        batch_op.drop_column('undone_at')
    with op.batch_alter_table('report_corrections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_corrections_kis_seen_at'))
        batch_op.drop_index(batch_op.f('ix_report_corrections_work_report_id'))
    op.drop_table('report_corrections')
