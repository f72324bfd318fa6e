"""WeCom delivery: recipients an accepted message did not reach

Revision ID: 0010_undelivered_messages
Revises: 0009_line_shipments
Create Date: 2026-12-02 08:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import domain.types

revision = "0010_undelivered_messages"
down_revision = "0009_line_shipments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "undelivered_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("msgid", sa.String(length=128), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Enum("unlicensed", "invalid_user", "invalid_party", "invalid_tag",
                                    name="undelivered", native_enum=False, length=20), nullable=False),
        sa.Column("msgtype", sa.String(length=30), nullable=False),
        sa.Column("at", domain.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_undelivered_messages")),
        sa.UniqueConstraint("msgid", "recipient", name=op.f("uq_undelivered_messages_msgid")),
    )
    with op.batch_alter_table("undelivered_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_undelivered_messages_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("undelivered_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_undelivered_messages_at"))
    op.drop_table("undelivered_messages")
