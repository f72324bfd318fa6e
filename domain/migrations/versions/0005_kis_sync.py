"""KIS sync: backoff and lease on sync_state, the push batch on kis_outbox

Revision ID: 0005_kis_sync
Revises: 0004_usage
Create Date: 2026-11-25 10:13:52.311252
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import domain.types

revision = "0005_kis_sync"
down_revision = "0004_usage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kis_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("batch_id", sa.String(length=40), nullable=True))
        batch_op.create_index("ix_kis_outbox_work_order_day", ["work_order_id", "work_day"], unique=False)

    with op.batch_alter_table("sync_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_ok_at", domain.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("failures", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("retry_at", domain.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("lease_until", domain.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_state", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("retry_at")
        batch_op.drop_column("failures")
        batch_op.drop_column("last_ok_at")

    with op.batch_alter_table("kis_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_kis_outbox_work_order_day")
        batch_op.drop_column("batch_id")

