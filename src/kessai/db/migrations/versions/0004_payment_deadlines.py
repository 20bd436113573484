"""payment deadlines

Methods paid later (ATM first, CVS next) have a deadline; the expiry job finds unpaid payments past
it by (status, due_at).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 04:47:35.121759
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_payments_status_due", ["status", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_status_due")
        batch_op.drop_column("due_at")
