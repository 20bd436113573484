"""payout_transfers: what each bank file wrote

One row per statement whose payout a bank file (`kessai payouts zengin`) wrote: the transfer date,
the amount and the account as written. A held payout (no usable account) has no row, so a later
file picks it up once its account is fixed; `kessai payouts mark-paid` books these rows, so an
account changed after the file was written cannot change what is booked.

Revision ID: 0020
Revises: 0015 (the lead re-chains on merge)
Create Date: 2026-12-05 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0015"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "payout_transfers",
        sa.Column("statement_id", _BIG_ID, autoincrement=False, nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("transfer_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("bank_code", sa.String(length=4), nullable=False),
        sa.Column("bank_name", sa.String(length=64), nullable=False),
        sa.Column("branch_code", sa.String(length=3), nullable=False),
        sa.Column("branch_name", sa.String(length=64), nullable=False),
        sa.Column("account_type", sa.String(length=1), nullable=False),
        sa.Column("account_number", sa.String(length=7), nullable=False),
        sa.Column("account_holder", sa.String(length=30), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_payout_transfers_merchant_id_merchants"),
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
            name=op.f("fk_payout_transfers_statement_id_statements"),
        ),
        sa.PrimaryKeyConstraint("statement_id", name=op.f("pk_payout_transfers")),
    )
    with op.batch_alter_table("payout_transfers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payout_transfers_transfer_date"), ["transfer_date"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("payout_transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payout_transfers_transfer_date"))
    op.drop_table("payout_transfers")
