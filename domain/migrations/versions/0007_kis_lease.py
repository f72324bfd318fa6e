"""KIS sync: who holds a job's lease and since when

Revision ID: 0007_kis_lease
Revises: 0006_order_events
Create Date: 2026-12-01 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import domain.types

revision = "0007_kis_lease"
down_revision = "0006_order_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_holder", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("lease_since", domain.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_state", schema=None) as batch_op:
        batch_op.drop_column("lease_since")
        batch_op.drop_column("lease_holder")
