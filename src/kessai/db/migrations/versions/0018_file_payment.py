"""file payment (ファイル決済, telegrams 200/201)

Issue #15: the files merchants submit (`payment_files`) and their lines (`payment_file_lines`,
unique by file and line number; card numbers sealed in the vault, never here). The file payment
notice goes through the outbox: `notices.kind` ("payment" for every notice that exists) and a
nullable `notices.payment_id` (a file notice names a file, not a payment).

Revision ID: 0018
Revises: 0015 (the lead re-chains it when merging)
Create Date: 2026-12-05 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "payment_files",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("receipt_id", sa.String(length=9), nullable=False),
        sa.Column("merchant_id", sa.Integer(), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("file_type", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("total_lines", sa.Integer(), nullable=False),
        sa.Column("done_lines", sa.Integer(), nullable=False),
        sa.Column("error_lines", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("turn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("receipt_id", name="uq_payment_files_receipt_id"),
    )
    op.create_index("ix_payment_files_merchant_digest", "payment_files", ["merchant_id", "digest"])
    op.create_index("ix_payment_files_status_turn", "payment_files", ["status", "turn_at"])
    op.create_table(
        "payment_file_lines",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("file_id", _BIG_ID, sa.ForeignKey("payment_files.id"), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("vault_card_id", _BIG_ID, sa.ForeignKey("vault_cards.id"), nullable=True),
        sa.Column("result", sa.String(length=1), nullable=False),
        sa.Column("response_code", sa.String(length=8), nullable=False),
        sa.Column("response_detail", sa.String(length=256), nullable=False),
        sa.Column("payment_id", sa.String(length=18), nullable=False),
        sa.Column("customer_card_id", sa.String(length=18), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("file_id", "line_no", name="uq_payment_file_lines_line"),
    )
    op.create_index(
        "ix_payment_file_lines_status", "payment_file_lines", ["file_id", "status", "line_no"]
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=8), server_default="payment", nullable=False)
        )
        batch_op.alter_column("payment_id", existing_type=_BIG_ID, nullable=True)


def downgrade() -> None:
    op.execute(
        "DELETE FROM notice_attempts WHERE notice_id IN "
        "(SELECT id FROM notices WHERE kind = 'file')"
    )
    op.execute("DELETE FROM notices WHERE kind = 'file'")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.alter_column("payment_id", existing_type=_BIG_ID, nullable=False)
        batch_op.drop_column("kind")
    op.drop_index("ix_payment_file_lines_status", table_name="payment_file_lines")
    op.drop_table("payment_file_lines")
    op.drop_index("ix_payment_files_status_turn", table_name="payment_files")
    op.drop_index("ix_payment_files_merchant_digest", table_name="payment_files")
    op.drop_table("payment_files")
