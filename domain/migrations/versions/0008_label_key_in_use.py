"""The label key the bot verifies scans with, by fingerprint, so the labels CLI prints only labels it accepts

Revision ID: 0008_label_key_in_use
Revises: 0007_kis_lease
Create Date: 2026-12-02 08:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import domain.types

revision = "0008_label_key_in_use"
down_revision = "0007_kis_lease"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "label_key_in_use",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=16), nullable=True),
        sa.Column("recorded_at", domain.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_key_in_use")),
    )


def downgrade() -> None:
    op.drop_table("label_key_in_use")
