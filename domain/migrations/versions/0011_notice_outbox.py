"""Notices become the outbox of every outgoing message: state, lease, backoff, a unique key

Revision ID: 0011_notice_outbox
Revises: 0010_undelivered_messages
Create Date: 2026-12-02 13:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import domain.types

revision = "0011_notice_outbox"
down_revision = "0010_undelivered_messages"
branch_labels = None
depends_on = None

STATES = ("pending", "sending", "sent", "failed")


def upgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("response_code", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("state", sa.Enum(*STATES, name="noticestate", native_enum=False, length=20),
                                      nullable=False, server_default="pending"))
        batch_op.add_column(sa.Column("next_attempt_at", domain.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", domain.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("first_attempt_at", domain.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("msgid", sa.String(length=128), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_notices_key"), ["key"])
        batch_op.create_index("ix_notices_state_next", ["state", "next_attempt_at"], unique=False)
    # Before this revision a row was claimed by setting sent_at: whatever has it was sent, or was given up.
    op.execute("UPDATE notices SET state = 'sent' WHERE sent_at IS NOT NULL")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.alter_column("state", server_default=None)


def downgrade() -> None:
    # Not yet sent stays not sent: the old sender goes by sent_at alone.
    op.execute("UPDATE notices SET sent_at = NULL WHERE state <> 'sent'")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index("ix_notices_state_next")
        batch_op.drop_constraint(batch_op.f("uq_notices_key"), type_="unique")
        for column in ("msgid", "first_attempt_at", "claimed_at", "next_attempt_at", "state", "response_code",
                       "key"):
            batch_op.drop_column(column)
