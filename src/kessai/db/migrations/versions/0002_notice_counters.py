"""notice counters in their own table; per-payment notice count

The per-merchant payment_notice_id counter moves off the merchants row (which every payment insert
references) into a narrow table bumped last in each transaction; payments count their own notices
so the next per-payment sequence number needs no COUNT query.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 04:07:18
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_counters",
        sa.Column("merchant_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("last_notice_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_notice_counters")),
    )
    op.execute(
        "INSERT INTO notice_counters (merchant_id, last_notice_id) SELECT id, notice_seq FROM merchants"
    )
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_column("notice_seq")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("notice_count", sa.Integer(), server_default="0", nullable=False)
        )
    op.execute(
        "UPDATE payments SET notice_count = "
        "(SELECT count(*) FROM notices WHERE notices.payment_id = payments.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("notice_count")
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("notice_seq", sa.BigInteger(), server_default="0", nullable=False)
        )
    op.execute(
        "UPDATE merchants SET notice_seq = "
        "(SELECT last_notice_id FROM notice_counters WHERE notice_counters.merchant_id = merchants.id)"
    )
    op.drop_table("notice_counters")
