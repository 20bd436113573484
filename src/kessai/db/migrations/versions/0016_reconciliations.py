"""reconciliations: the merchant's 消し込み kept

A merchant's reconciliation of its own order list against its payments (issue #13): who ran it,
when, on which file (name, SHA-256, encoding), over which period and columns, the count and the
amounts of each class, and every result row, so it can be reopened and downloaded again.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reconciliations",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("encoding", sa.String(length=16), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=True),
        sa.Column("period_to", sa.Date(), nullable=True),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("order_lines", sa.Integer(), nullable=False),
        sa.Column("payments", sa.Integer(), nullable=False),
        sa.Column("totals", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_reconciliations_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliations")),
    )
    op.create_index("ix_reconciliations_merchant", "reconciliations", ["merchant_id", "created_at"])
    op.create_table(
        "reconciliation_rows",
        sa.Column("reconciliation_id", _BIG_ID, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("trading_id", sa.String(length=25), nullable=False),
        sa.Column("cls", sa.String(length=24), nullable=False),
        sa.Column("order_line", sa.Integer(), nullable=True),
        sa.Column("order_amount", sa.BigInteger(), nullable=True),
        sa.Column("expected_date", sa.Date(), nullable=True),
        sa.Column("method", sa.String(length=32), nullable=True),
        sa.Column("paid_amount", sa.BigInteger(), nullable=True),
        sa.Column("difference", sa.BigInteger(), nullable=False),
        sa.Column("payments", sa.Integer(), nullable=False),
        sa.Column("payment_ids", sa.Text(), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("statement_id", _BIG_ID, nullable=True),
        sa.Column("payout_date", sa.Date(), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reconciliation_id"],
            ["reconciliations.id"],
            name=op.f("fk_reconciliation_rows_reconciliation_id_reconciliations"),
        ),
        sa.PrimaryKeyConstraint("reconciliation_id", "seq", name=op.f("pk_reconciliation_rows")),
    )
    op.create_index(
        "ix_reconciliation_rows_class", "reconciliation_rows", ["reconciliation_id", "cls", "seq"]
    )


def downgrade() -> None:
    op.drop_index("ix_reconciliation_rows_class", table_name="reconciliation_rows")
    op.drop_table("reconciliation_rows")
    op.drop_index("ix_reconciliations_merchant", table_name="reconciliations")
    op.drop_table("reconciliations")
