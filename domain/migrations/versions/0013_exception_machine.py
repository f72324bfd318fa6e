"""The press an exception names: a fault typed without a work order still reaches a technician

Revision ID: 0013_exception_machine
Revises: 0012_plant_calendar
Create Date: 2026-12-04 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013_exception_machine'
down_revision = '0012_plant_calendar'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('exceptions', sa.Column('machine', sa.String(length=40), nullable=True))


def downgrade() -> None:
    op.drop_column('exceptions', 'machine')
