"""Order lines: when each shipped in full and when it was closed, as KIS records them

Revision ID: 0009_line_shipments
Revises: 0008_label_key_in_use
Create Date: 2026-12-02 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import domain.types

revision = "0009_line_shipments"
down_revision = "0008_label_key_in_use"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sales_order_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shipped_at", domain.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("closed_at", domain.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sales_order_lines", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
        batch_op.drop_column("shipped_at")
