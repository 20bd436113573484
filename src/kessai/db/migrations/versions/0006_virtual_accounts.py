"""virtual accounts

Bank-transfer virtual accounts (issue #3, telegram 070): each merchant's pool of account numbers,
the claim (payment) holding an account and when it closes (16), every transfer the bank reported
(matched or not), and per-merchant terms (short tolerance, grace days).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 05:40:13
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "virtual_account_terms",
        sa.Column("merchant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("short_tolerance", sa.Integer(), nullable=False),
        sa.Column("grace_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_virtual_account_terms_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_virtual_account_terms")),
    )
    op.create_table(
        "virtual_accounts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("bank_code", sa.String(length=4), nullable=False),
        sa.Column("bank_name", sa.String(length=64), nullable=False),
        sa.Column("branch_code", sa.String(length=3), nullable=False),
        sa.Column("branch_name", sa.String(length=64), nullable=False),
        sa.Column("deposit_kind", sa.String(length=1), nullable=False),
        sa.Column("number", sa.String(length=7), nullable=False),
        sa.Column("fixed", sa.Boolean(), nullable=False),
        sa.Column("fix_numbering_registered", sa.String(length=200), nullable=False),
        sa.Column(
            "payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_virtual_accounts_merchant_id_merchants"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_virtual_accounts_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_virtual_accounts")),
        sa.UniqueConstraint(
            "bank_code", "branch_code", "number", name=op.f("uq_virtual_accounts_bank_code")
        ),
    )
    op.create_index(
        "ix_virtual_accounts_merchant_free",
        "virtual_accounts",
        ["merchant_id", "fixed", "payment_id"],
        unique=False,
    )
    op.create_table(
        "virtual_account_claims",
        sa.Column(
            "payment_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["virtual_accounts.id"],
            name=op.f("fk_virtual_account_claims_account_id_virtual_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_virtual_account_claims_payment_id_payments"),
        ),
        sa.PrimaryKeyConstraint("payment_id", name=op.f("pk_virtual_account_claims")),
    )
    op.create_index(
        op.f("ix_virtual_account_claims_account_id"),
        "virtual_account_claims",
        ["account_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_virtual_account_claims_closes_at"),
        "virtual_account_claims",
        ["closes_at"],
        unique=False,
    )
    op.create_table(
        "virtual_account_transfers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=True),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("bank_code", sa.String(length=4), nullable=False),
        sa.Column("branch_code", sa.String(length=3), nullable=False),
        sa.Column("account_number", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("payer_name", sa.String(length=48), nullable=False),
        sa.Column("payer_bank_name", sa.String(length=64), nullable=False),
        sa.Column("payer_branch_name", sa.String(length=64), nullable=False),
        sa.Column("transferred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column(
            "payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("clear_detail", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["virtual_accounts.id"],
            name=op.f("fk_virtual_account_transfers_account_id_virtual_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_virtual_account_transfers_merchant_id_merchants"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_virtual_account_transfers_payment_id_payments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_virtual_account_transfers")),
        sa.UniqueConstraint("reference", name=op.f("uq_virtual_account_transfers_reference")),
    )
    op.create_index(
        op.f("ix_virtual_account_transfers_merchant_id"),
        "virtual_account_transfers",
        ["merchant_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_virtual_account_transfers_payment_id"),
        "virtual_account_transfers",
        ["payment_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_virtual_account_transfers_payment_id"), table_name="virtual_account_transfers"
    )
    op.drop_index(
        op.f("ix_virtual_account_transfers_merchant_id"), table_name="virtual_account_transfers"
    )
    op.drop_table("virtual_account_transfers")
    op.drop_index(op.f("ix_virtual_account_claims_closes_at"), table_name="virtual_account_claims")
    op.drop_index(op.f("ix_virtual_account_claims_account_id"), table_name="virtual_account_claims")
    op.drop_table("virtual_account_claims")
    op.drop_index("ix_virtual_accounts_merchant_free", table_name="virtual_accounts")
    op.drop_table("virtual_accounts")
    op.drop_table("virtual_account_terms")
